"""The report of a study: one Markdown and one HTML page with every metric beside its noise floor.

`runs` is a list of dicts {"name", "dataset", "method", "train_seconds", "evaluation",
"images": {caption: path relative to out_dir}} (optional: "sampler", "sample_seconds", "nfe"). The
evaluation dict comes from `difflab.eval`: {"n_samples", "reference", "metrics": {name:
{"value", "floor_median", "floor_p95", "within_floor", ...}}, optionally "log_density" and
"modes"}. Both pages are self-contained apart from the images, linked by relative paths.
"""
from __future__ import annotations

import html
import math
import numbers
from pathlib import Path
from urllib.parse import quote

PASS = "✓ pass"         # value within the noise floor (<= its 95th percentile)
FAIL = "✗ fail"         # value above the noise floor

METRIC_NAMES = {"mmd2": "MMD²", "energy": "energy distance", "sw2": "sliced W₂"}

LOG_DENSITY_ROWS = [
    ("samples_mean", "mean log-density of the samples under the truth"),
    ("truth_mean", "mean log-density of true samples"),
    ("truth_mean_sd", "spread (sd) of that mean over true samples"),
    ("samples_frac_outside_support", "share of samples outside the support"),
    ("truth_frac_outside_support", "share of true samples outside the support"),
]
MODE_ROWS = [
    ("n_modes", "modes of the truth"),
    ("covered", "modes covered by the samples"),
    ("share_covered", "share of modes covered"),
    ("max_weight_error", "largest error in a mode's weight"),
    ("frac_off_mode", "share of samples far from every mode"),
]

INTRO = ("Each metric compares the model's samples with the reference. A number alone says little, so each one "
         "is shown beside its noise floor: the same metric between two independent samples of the truth of the "
         "same size (median and 95th percentile over repeated draws). A value at or below the floor's 95th "
         "percentile is marked " + PASS + " (the samples are as close to the truth as another true sample "
         "would be); a value above it is marked " + FAIL + ". Lower is better for every metric.")

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
td.pass { background: #e6f4e6; color: #185c18; } td.fail { background: #fbe6e6; color: #8b1a1a; }
figure { display: inline-block; margin: .5em 1em 1em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
p.notes { color: #444; }
"""


# -- formatting ---------------------------------------------------------------------------
def fmt(v) -> str:
    """A number with 3 significant digits, scientific when tiny or huge; '–' when missing."""
    if v is None:
        return "–"
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return "yes" if v else "no"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    if v == 0:
        return "0"
    a = abs(v)
    if a < 1e-2 or a >= 1e5:
        return f"{v:.2e}"
    if float(v).is_integer() and a >= 100:
        return f"{v:.0f}"
    return f"{v:.{max(0, 2 - math.floor(math.log10(a)))}f}"


def fmt_seconds(s) -> str:
    if s is None:
        return "–"
    s = float(s)
    if s < 60:
        return f"{s:.3g} s"
    m, rest = divmod(int(round(s)), 60)
    return f"{m} min {rest:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def verdict(metric: dict):
    """True (within the floor), False (above it) or None (cannot tell)."""
    if metric.get("within_floor") is not None:
        return bool(metric["within_floor"])
    v, p95 = metric.get("value"), metric.get("floor_p95")
    if v is None or p95 is None:
        return None
    return float(v) <= float(p95)


def mark(ok) -> str:
    return "–" if ok is None else (PASS if ok else FAIL)


def metric_label(key: str) -> str:
    name = METRIC_NAMES.get(key)
    return f"{name} ({key})" if name else key


# -- tables as (header, rows, cell classes) ------------------------------------------------
def _metric_keys(runs) -> list[str]:
    keys = []
    for run in runs:
        for k in ((run.get("evaluation") or {}).get("metrics") or {}):
            if k not in keys:
                keys.append(k)
    return keys


def summary_table(runs):
    keys = _metric_keys(runs)
    header = ["run", "dataset", "method", "sampler (NFE)", "train time"] + [f"{metric_label(k)}: value / floor p95"
                                                                             for k in keys]
    rows, classes = [], []
    for run in runs:
        metrics = (run.get("evaluation") or {}).get("metrics") or {}
        sampler = run.get("sampler") or "–"
        if run.get("nfe") is not None:
            sampler += f" ({run['nfe']})"
        row = [run.get("name", "?"), run.get("dataset", ""), run.get("method", ""), sampler,
               fmt_seconds(run.get("train_seconds"))]
        cls = ["text", "text", "text", "text", ""]
        for k in keys:
            m = metrics.get(k)
            if m is None:
                row.append("–")
                cls.append("")
                continue
            ok = verdict(m)
            row.append(f"{fmt(m.get('value'))} / {fmt(m.get('floor_p95'))} {mark(ok)}")
            cls.append("" if ok is None else ("pass" if ok else "fail"))
        rows.append(row)
        classes.append(cls)
    return header, rows, classes


def metric_table(evaluation: dict):
    header = ["metric", "value", "floor median", "floor p95", "value / floor p95", "verdict"]
    rows, classes = [], []
    for k, m in (evaluation.get("metrics") or {}).items():
        v, p95 = m.get("value"), m.get("floor_p95")
        ratio = float(v) / float(p95) if v is not None and p95 not in (None, 0) else None
        ok = verdict(m)
        rows.append([metric_label(k), fmt(v), fmt(m.get("floor_median")), fmt(p95), fmt(ratio), mark(ok)])
        classes.append(["text", "", "", "", "", "" if ok is None else ("pass" if ok else "fail")])
    return header, rows, classes


def _key_value_table(d: dict, known):
    labels = dict(known)
    keys = [k for k, _ in known if k in d] + [k for k in d if k not in labels]
    rows = [[labels.get(k, k), fmt(d[k])] for k in keys]
    return ["quantity", "value"], rows, [["text", ""] for _ in rows]


def _run_facts(run: dict) -> list[str]:
    ev = run.get("evaluation") or {}
    facts = [f"dataset: {run.get('dataset', '?')}", f"method: {run.get('method', '?')}",
             f"training: {fmt_seconds(run.get('train_seconds'))}"]
    if run.get("sampler"):
        facts.append(f"sampler: {run['sampler']}")
    if run.get("sample_seconds") is not None:
        facts.append(f"sampling: {fmt_seconds(run['sample_seconds'])}"
                     + (f" ({run['nfe']} network evaluations)" if run.get("nfe") is not None else ""))
    if ev.get("n_samples") is not None:
        facts.append(f"{ev['n_samples']} samples measured against the {ev.get('reference', 'reference')}")
    return facts


# -- Markdown ------------------------------------------------------------------------------
def _md_cell(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _md_table(table) -> str:
    header, rows, _ = table
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _link(path: str) -> str:
    return quote(str(path).replace("\\", "/"), safe="/.-_~")


def to_markdown(title, runs, notes=None) -> str:
    out = [f"# {title}", "", INTRO, ""]
    if notes:
        out += [notes, ""]
    out += ["## Summary", "", _md_table(summary_table(runs)), ""]
    for run in runs:
        ev = run.get("evaluation") or {}
        out += [f"## {run.get('name', '?')}", "", "; ".join(_run_facts(run)) + ".", ""]
        if ev.get("metrics"):
            out += [_md_table(metric_table(ev)), ""]
        if ev.get("log_density"):
            out += ["**Log-density under the truth**", "", _md_table(_key_value_table(ev["log_density"], LOG_DENSITY_ROWS)), ""]
        if ev.get("modes"):
            out += ["**Modes**", "", _md_table(_key_value_table(ev["modes"], MODE_ROWS)), ""]
        for caption, path in (run.get("images") or {}).items():
            out += [f"![{_md_cell(caption)}]({_link(path)})", f"*{caption}*", ""]
    return "\n".join(out)


# -- HTML ----------------------------------------------------------------------------------
def _html_table(table) -> str:
    header, rows, classes = table
    e = html.escape
    head_cls = ["text" if c == "text" else "" for c in (classes[0] if classes else [""] * len(header))]
    out = ["<table>", "<tr>" + "".join(f'<th class="{c}">{e(str(h))}</th>' for h, c in zip(header, head_cls)) + "</tr>"]
    for row, cls in zip(rows, classes):
        out.append("<tr>" + "".join(f'<td class="{c}">{e(str(v))}</td>' for v, c in zip(row, cls)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def to_html(title, runs, notes=None) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', f"<title>{e(title)}</title>",
           f"<style>{CSS}</style>", "</head>", "<body>", f"<h1>{e(title)}</h1>", f"<p>{e(INTRO)}</p>"]
    if notes:
        out.append(f'<p class="notes">{e(notes)}</p>')
    out += ["<h2>Summary</h2>", _html_table(summary_table(runs))]
    for run in runs:
        ev = run.get("evaluation") or {}
        name = str(run.get("name", "?"))
        out += [f'<h2 id="{e(name)}">{e(name)}</h2>', f"<p>{e('; '.join(_run_facts(run)))}.</p>"]
        if ev.get("metrics"):
            out.append(_html_table(metric_table(ev)))
        if ev.get("log_density"):
            out += ["<h3>Log-density under the truth</h3>", _html_table(_key_value_table(ev["log_density"], LOG_DENSITY_ROWS))]
        if ev.get("modes"):
            out += ["<h3>Modes</h3>", _html_table(_key_value_table(ev["modes"], MODE_ROWS))]
        for caption, path in (run.get("images") or {}).items():
            out.append(f'<figure><img src="{e(_link(path))}" alt="{e(caption)}">'
                       f"<figcaption>{e(caption)}</figcaption></figure>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def write_report(out_dir, title: str, runs: list[dict], notes: str | None = None) -> Path:
    """Write `report.md` and `report.html` into `out_dir`; returns the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text(to_markdown(title, runs, notes), encoding="utf-8")
    path = out_dir / "report.html"
    path.write_text(to_html(title, runs, notes), encoding="utf-8")
    return path
