"""The report of a study: one Markdown and one HTML page with every metric beside its noise floor.

`runs` is a list of dicts {"name", "dataset", "method", "train_seconds", "evaluation",
"images": {caption: path relative to out_dir}} (optional: "sampler", "sample_seconds", "nfe",
"verdict", "likelihood"). The evaluation dict comes from `difflab.eval`: {"n_samples", "reference",
"metrics": {name: {"value", "floor_median", "floor_p95" (or "floor_p05" with "higher_is_better"),
"within_floor", ...}}, optionally "log_density" (with the tail figures "outlier_share",
"mean_log_prob", "outside_support") and "modes"}. "verdict" is `difflab.eval.judge(evaluation)`
({"as_good_as_data_allow", "checked", "failing"}); "likelihood" is a `run_likelihood` result
(model NLL and, where the truth is exact, the KL estimate, each with its standard error).

Both pages are self-contained apart from the images, linked by relative paths; a table of
contents and every summary row link to the run's section (`links.report_problems` checks a
written page).
"""
from __future__ import annotations

import html
import math
import numbers
import re
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

PASS = "✓ pass"         # value within the noise floor (<= its 95th percentile, >= its 5th where higher is better)
FAIL = "✗ fail"         # value outside the noise floor

METRIC_NAMES = {"mmd2": "MMD²", "energy": "energy distance", "sw2": "sliced W₂"}
FIGURE_NAMES = {"outlier_share": "outlier share", "mean_log_prob": "mean true log-density",
                "outside_support": "outside the support", "precision": "precision", "recall": "recall"}
TAIL_ORDER = ("outlier_share", "mean_log_prob", "outside_support")    # the judged figures of "log_density"
SHARES = ("outlier_share", "outside_support")                         # shown in percent
KL_TARGET = 0.05        # nats: a KL estimate passes when gap + 2 se is at most this

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

INTRO = ("Each figure compares the model's samples with the reference. A number alone says little, so each one "
         "is shown beside its noise floor: the same figure for an independent sample of the truth of the same "
         "size, over repeated draws. Where lower is better (MMD², energy distance, sliced W₂, the outlier share) "
         "a value at or below the floor's 95th percentile is marked " + PASS + "; where higher is better "
         "(precision, recall) a value at or above its 5th percentile; the mean true log-density between its 5th "
         "and 99th percentiles (below: mass in thin regions; above: samples piled into the modes); the share outside a "
         "bounded support passes up to the larger of its floor's 95th percentile and 1%. Anything else is "
         "marked " + FAIL + ". The verdict is \"as good as the data allow\" only when every figure passes. The "
         "outlier share counts samples whose true log-density lies below the truth's 0.1% quantile (a perfect "
         "sampler puts 0.1% there). Where the truth's density is exact, the model's own NLL on the test points "
         "stands beside the truth's, and their difference estimates KL(truth || model).")

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
div.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
td.pass { background: #e6f4e6; color: #185c18; } td.fail { background: #fbe6e6; color: #8b1a1a; }
p.pass { color: #185c18; } p.fail { color: #8b1a1a; }
figure { display: inline-block; margin: .5em 1em 1em 0; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
p.notes { color: #444; }
nav ul { padding-left: 1.2em; }
"""


class Link(NamedTuple):
    """A table cell that links to `href` (an anchor of this page)."""
    text: str
    href: str

    def __str__(self) -> str:
        return self.text


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


def fmt_share(v) -> str:
    """A share in percent, 2 decimals ('0.15%'); '–' when missing."""
    return "–" if v is None else f"{100 * float(v):.2f}%"


def fmt_seconds(s) -> str:
    if s is None:
        return "–"
    s = float(s)
    if s < 60:
        return f"{s:.3g} s"
    m, rest = divmod(int(round(s)), 60)
    return f"{m} min {rest:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def verdict(metric: dict):
    """True (within the floor), False (outside it) or None (cannot tell)."""
    if metric.get("within_floor") is not None:
        return bool(metric["within_floor"])
    v, p95 = metric.get("value"), metric.get("floor_p95")
    if v is None or p95 is None:
        return None
    return float(v) <= float(p95)


def mark(ok) -> str:
    return "–" if ok is None else (PASS if ok else FAIL)


def _cls(ok) -> str:
    return "" if ok is None else ("pass" if ok else "fail")


def metric_label(key: str) -> str:
    name = METRIC_NAMES.get(key)
    return f"{name} ({key})" if name else FIGURE_NAMES.get(key, key)


def anchor(name: str, taken: set | None = None) -> str:
    """An HTML id for a section named `name` (lower case, letters, digits and '-'), unique in `taken`."""
    base = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-") or "section"
    slug, k = base, 2
    while taken is not None and slug in taken:
        slug, k = f"{base}-{k}", k + 1
    if taken is not None:
        taken.add(slug)
    return slug


def _anchors(runs) -> list[str]:
    taken = {"summary", "contents", "top"}
    return [anchor(run.get("name", "run"), taken) for run in runs]


# -- the judged figures of an evaluation ---------------------------------------------------
def figures(evaluation: dict) -> list[dict]:
    """Every figure of an evaluation that has a floor, in reading order: the two-sample metrics,
    the tail figures, precision and recall. Each: {"key", "label", "value", "floor_median",
    "bound", "rule" (how the bound is read), "ok", "share" (shown in percent), "higher_is_better"}."""
    out = []
    metrics = evaluation.get("metrics") or {}
    ld = evaluation.get("log_density") or {}
    lower = [(k, m) for k, m in metrics.items() if not m.get("higher_is_better")]
    higher = [(k, m) for k, m in metrics.items() if m.get("higher_is_better")]
    tails = [(k, ld[k]) for k in TAIL_ORDER if isinstance(ld.get(k), dict)]
    for key, m in lower + tails + higher:
        hib = bool(m.get("higher_is_better")) or key == "mean_log_prob"
        if key == "outside_support":
            bound, rule = m.get("bound"), "≤ max(floor p95, 1%)"
        elif key == "mean_log_prob" and m.get("floor_p99") is not None:
            bound, rule = m.get("floor_p05"), f"floor p05 to p99 ({fmt(m['floor_p99'])})"
        elif hib:
            bound, rule = m.get("floor_p05"), "≥ floor p05"
        else:
            bound, rule = m.get("floor_p95"), "≤ floor p95"
        out.append({"key": key, "label": metric_label(key), "value": m.get("value"),
                    "floor_median": m.get("floor_median"), "bound": bound, "rule": rule, "ok": verdict(m),
                    "share": key in SHARES, "higher_is_better": hib})
    return out


def _num(f: dict, v) -> str:
    return fmt_share(v) if f["share"] else fmt(v)


def verdict_text(run: dict) -> str:
    """"as good as the data allow", "fails: <figures>", or '–' when the run carries no verdict."""
    v = run.get("verdict")
    if not v:
        return "–"
    if v.get("as_good_as_data_allow"):
        return "as good as the data allow"
    failing = [metric_label(k) for k in v.get("failing") or []]
    return "fails: " + (", ".join(failing) if failing else "no figure checked")


def _verdict_ok(run: dict):
    v = run.get("verdict")
    return None if not v else bool(v.get("as_good_as_data_allow"))


def kl_ok(lik: dict):
    """True when the KL estimate's gap + 2 se is at most KL_TARGET nats; None without one."""
    if not lik or lik.get("kl_nats") is None:
        return None
    return float(lik["kl_nats"]) + 2 * float(lik.get("kl_se") or 0.0) <= KL_TARGET


def _pm(v, se) -> str:
    return fmt(v) if se is None else f"{fmt(v)} ± {fmt(se)}"


# -- tables as (header, rows, cell classes) ------------------------------------------------
def _figure_columns(runs) -> list[tuple[str, str]]:
    """(key, header) of every judged figure in any run, in reading order."""
    cols = {}
    for run in runs:
        for f in figures(run.get("evaluation") or {}):
            if f["key"] not in cols:
                bound = {"≤ floor p95": "floor p95", "≥ floor p05": "floor p05"}.get(f["rule"], "bound")
                cols[f["key"]] = f"{f['label']}: value / {bound}"
    return list(cols.items())


def summary_table(runs):
    cols = _figure_columns(runs)
    with_lik = any((run.get("likelihood") or {}).get("kl_nats") is not None for run in runs)
    header = (["run", "dataset", "method", "sampler (NFE)", "train time"] + [h for _, h in cols]
              + ([f"KL estimate (nats) ± se: gap + 2 se ≤ {KL_TARGET}"] if with_lik else []) + ["verdict"])
    rows, classes = [], []
    for run, slug in zip(runs, _anchors(runs)):
        by_key = {f["key"]: f for f in figures(run.get("evaluation") or {})}
        sampler = run.get("sampler") or "–"
        if run.get("nfe") is not None:
            sampler += f" ({run['nfe']})"
        row = [Link(str(run.get("name", "?")), "#" + slug), run.get("dataset", ""), run.get("method", ""), sampler,
               fmt_seconds(run.get("train_seconds"))]
        cls = ["text", "text", "text", "text", ""]
        for key, _ in cols:
            f = by_key.get(key)
            if f is None:
                row.append("–")
                cls.append("")
                continue
            row.append(f"{_num(f, f['value'])} / {_num(f, f['bound'])} {mark(f['ok'])}")
            cls.append(_cls(f["ok"]))
        if with_lik:
            lik = run.get("likelihood") or {}
            kl = lik.get("kl_nats")
            row.append("–" if kl is None else f"{_pm(kl, lik.get('kl_se'))} {mark(kl_ok(lik))}")
            cls.append(_cls(kl_ok(lik)))
        row.append(verdict_text(run))
        cls.append("text " + _cls(_verdict_ok(run)))
        rows.append(row)
        classes.append(cls)
    return header, rows, classes


def metric_table(evaluation: dict):
    header = ["figure", "value", "floor median", "bound", "rule", "value / bound", "verdict"]
    rows, classes = [], []
    for f in figures(evaluation):
        v, b = f["value"], f["bound"]
        ratio = (float(v) / float(b) if v is not None and b not in (None, 0) and not f["higher_is_better"]
                 else None)
        rows.append([f["label"], _num(f, v), _num(f, f["floor_median"]), _num(f, b), f["rule"], fmt(ratio),
                     mark(f["ok"])])
        classes.append(["text", "", "", "", "text", "", _cls(f["ok"])])
    return header, rows, classes


def likelihood_table(lik: dict):
    """The model's NLL beside the truth's and the KL estimate, each with its standard error."""
    header = ["quantity", "nats per point", "note"]
    rows = [["model NLL", _pm(lik.get("nll_nats"), lik.get("nll_se")),
             f"{lik.get('n', '?')} points of the {lik.get('data', 'test split')}, probability-flow ODE"]]
    classes = [["text", "", "text"]]
    if lik.get("kl_nats") is not None:
        ok = kl_ok(lik)
        rows += [["true NLL", _pm(lik.get("nll_true_nats"), lik.get("nll_true_se")), "the exact density, same points"],
                 ["KL(truth || model) estimate", _pm(lik["kl_nats"], lik.get("kl_se")),
                  f"model - true NLL on the same points; gap + 2 se ≤ {KL_TARGET} nats: {mark(ok)}"]]
        classes += [["text", "", "text"], ["text", _cls(ok), "text"]]
    return header, rows, classes


def _key_value_table(d: dict, known):
    labels = dict(known)
    keys = [k for k, _ in known if k in d] + [k for k in d if k not in labels and not isinstance(d[k], dict)]
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


def _verdict_line(run: dict) -> str | None:
    v = run.get("verdict")
    if not v:
        return None
    checked = ", ".join(metric_label(k) for k in v.get("checked") or [])
    return f"Verdict: {verdict_text(run)} (figures checked: {checked or 'none'})."


# -- Markdown ------------------------------------------------------------------------------
def _md_cell(s) -> str:
    text = str(s).replace("|", "\\|").replace("\n", " ")
    return f"[{text}]({s.href})" if isinstance(s, Link) else text


def _md_table(table) -> str:
    header, rows, _ = table
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _link(path: str) -> str:
    return quote(str(path).replace("\\", "/"), safe="/.-_~")


def to_markdown(title, runs, notes=None) -> str:
    slugs = _anchors(runs)
    out = [f"# {title}", "", INTRO, ""]
    if notes:
        out += [notes, ""]
    out += ["**Contents**", "", "- [Summary](#summary)"]
    out += [f"- [{_md_cell(run.get('name', '?'))}](#{slug}): {verdict_text(run)}" for run, slug in zip(runs, slugs)]
    out += ["", '<a id="summary"></a>', "", "## Summary", "", _md_table(summary_table(runs)), ""]
    for run, slug in zip(runs, slugs):
        ev = run.get("evaluation") or {}
        out += [f'<a id="{slug}"></a>', "", f"## {run.get('name', '?')}", "", "; ".join(_run_facts(run)) + ".", ""]
        if figures(ev):
            out += [_md_table(metric_table(ev)), ""]
        if _verdict_line(run):
            out += [_verdict_line(run), ""]
        if run.get("likelihood"):
            out += ["**Likelihood**", "", _md_table(likelihood_table(run["likelihood"])), ""]
        if ev.get("log_density"):
            out += ["**Log-density under the truth**", "", _md_table(_key_value_table(ev["log_density"], LOG_DENSITY_ROWS)), ""]
        if ev.get("modes"):
            out += ["**Modes**", "", _md_table(_key_value_table(ev["modes"], MODE_ROWS)), ""]
        for caption, path in (run.get("images") or {}).items():
            out += [f"![{_md_cell(caption)}]({_link(path)})", f"*{caption}*", ""]
    return "\n".join(out)


# -- HTML ----------------------------------------------------------------------------------
def _html_cell(v) -> str:
    e = html.escape
    return f'<a href="{e(v.href)}">{e(v.text)}</a>' if isinstance(v, Link) else e(str(v))


def _html_table(table) -> str:
    """A table inside a div that scrolls sideways when the screen is narrower than the table."""
    header, rows, classes = table
    e = html.escape
    head_cls = ["text" if c.startswith("text") else "" for c in (classes[0] if classes else [""] * len(header))]
    out = ['<div class="scroll">', "<table>",
           "<tr>" + "".join(f'<th class="{c}">{e(str(h))}</th>' for h, c in zip(header, head_cls)) + "</tr>"]
    for row, cls in zip(rows, classes):
        out.append("<tr>" + "".join(f'<td class="{c}">{_html_cell(v)}</td>' for v, c in zip(row, cls)) + "</tr>")
    out += ["</table>", "</div>"]
    return "\n".join(out)


def to_html(title, runs, notes=None) -> str:
    e = html.escape
    slugs = _anchors(runs)
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{e(title)}</title>",
           f"<style>{CSS}</style>", "</head>", "<body>", f'<h1 id="top">{e(title)}</h1>', f"<p>{e(INTRO)}</p>"]
    if notes:
        out.append(f'<p class="notes">{e(notes)}</p>')
    out += ['<nav id="contents">', "<h2>Contents</h2>", "<ul>", '<li><a href="#summary">Summary</a></li>']
    out += [f'<li><a href="#{slug}">{e(str(run.get("name", "?")))}</a>: {e(verdict_text(run))}</li>'
            for run, slug in zip(runs, slugs)]
    out += ["</ul>", "</nav>", '<h2 id="summary">Summary</h2>', _html_table(summary_table(runs))]
    for run, slug in zip(runs, slugs):
        ev = run.get("evaluation") or {}
        name = str(run.get("name", "?"))
        out += [f'<h2 id="{slug}">{e(name)}</h2>', f"<p>{e('; '.join(_run_facts(run)))}.</p>"]
        if figures(ev):
            out.append(_html_table(metric_table(ev)))
        if _verdict_line(run):
            out.append(f'<p class="{_cls(_verdict_ok(run))}">{e(_verdict_line(run))}</p>')
        if run.get("likelihood"):
            out += ["<h3>Likelihood</h3>", _html_table(likelihood_table(run["likelihood"]))]
        if ev.get("log_density"):
            out += ["<h3>Log-density under the truth</h3>", _html_table(_key_value_table(ev["log_density"], LOG_DENSITY_ROWS))]
        if ev.get("modes"):
            out += ["<h3>Modes</h3>", _html_table(_key_value_table(ev["modes"], MODE_ROWS))]
        for caption, path in (run.get("images") or {}).items():
            out.append(f'<figure><img src="{e(_link(path))}" alt="{e(caption)}">'
                       f"<figcaption>{e(caption)}</figcaption></figure>")
        out.append('<p><a href="#top">back to the top</a></p>')
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
