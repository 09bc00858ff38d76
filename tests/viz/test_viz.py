"""Every picture is a valid, non-empty image; the report names every run, metric and verdict."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from difflab import viz
from difflab.viz.links import report_problems
from difflab.viz.report import FAIL, PASS, anchor, fmt

N = 300     # points per picture: enough to exercise every branch, few enough to stay fast


def _points(d: int, n: int = N, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)) + np.arange(d)).astype(np.float32)


def _assert_png(path, min_size=(200, 150)):
    assert path.exists() and path.stat().st_size > 1000
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size[0] >= min_size[0] and im.size[1] >= min_size[1]
    assert plt.get_fignums() == []


def _log_prob(x):
    x = np.asarray(x, dtype=np.float64)
    return -0.5 * (x**2).sum(axis=1) - 0.5 * x.shape[1] * np.log(2 * np.pi)


def test_axis_limits_cover_the_data_with_a_margin():
    x = np.array([[0.0, 1.0], [2.0, 1.0]])
    lim = viz.axis_limits(x, margin=0.1)
    assert lim.shape == (2, 2)
    np.testing.assert_allclose(lim[0], [-0.2, 2.2])
    assert lim[1, 0] < 1.0 < lim[1, 1]          # a flat dimension still gets a window
    assert np.isfinite(viz.axis_limits(np.array([[np.nan], [1.0], [3.0]]))).all()


@pytest.mark.parametrize("d", [1, 2, 5])
def test_still_pictures_are_valid_pngs(tmp_path, d):
    train, test, samples = _points(d), _points(d, seed=1), _points(d, seed=2) * 1.2
    samples[:3] = np.nan                         # a diverged sample must not break the picture
    _assert_png(viz.plot_dataset(train, test, tmp_path / "dataset.png", title="data"))
    _assert_png(viz.plot_samples_vs_reference(samples, test, tmp_path / "vs.png", title="vs"))
    if d == 1:                                   # d = 5 draws its corner plot through plot_samples_vs_reference
        _assert_png(viz.plot_pairwise(samples, test, tmp_path / "pairs.png", title="pairs"))
    if d <= 2:
        _assert_png(viz.plot_density(samples, tmp_path / "dens_truth.png", title="d", log_prob=_log_prob))
        _assert_png(viz.plot_density(samples, tmp_path / "dens_ref.png", title="d", reference=test, bins=30))


def test_plot_losses_handles_missing_and_negative_values(tmp_path):
    hist = {"epoch": [1, 2, 3, 4], "train_loss": [1.0, 0.5, 0.3, 0.25], "test_loss": [1.1, None, 0.4, 0.35]}
    _assert_png(viz.plot_losses(hist, tmp_path / "loss.png", title="loss"))
    hist["train_loss"] = [0.5, -0.1, -0.2, -0.3]   # e.g. a likelihood-style loss: linear axis
    _assert_png(viz.plot_losses(hist, tmp_path / "loss_neg.png", title="loss"))


def test_plot_points_on_a_user_axis():
    fig = plt.figure()
    try:
        ax = fig.add_subplot()
        for d in (1, 2, 3):
            viz.plot_points(ax, _points(d))
        assert ax.collections or ax.patches
    finally:
        plt.close(fig)


def _snapshots(d: int, n_steps: int = 12):
    data = _points(d)
    eps = np.random.default_rng(3).standard_normal(data.shape) * 5.0     # far wider than the data
    return [(t, np.sqrt(1 - t**2) * data + t * eps) for t in np.linspace(1.0, 0.0, n_steps)]


@pytest.mark.parametrize("d", [1, 2, 5])
def test_reverse_strip_and_gif(tmp_path, d):
    snaps = _snapshots(d)
    path = viz.plot_reverse_strip(snaps, tmp_path / "reverse.png", title="reverse", n_panels=5)
    _assert_png(path, min_size=(500, 150))
    gif = viz.save_reverse_gif(snaps, tmp_path / "reverse.gif", title="reverse", n_frames=6, fps=10)
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames > 1
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
    assert durations[-1] > durations[0]          # the samples stay on screen longer
    assert plt.get_fignums() == []


def test_reverse_strip_always_shows_noise_and_data():
    from difflab.viz.reverse import pick

    assert list(pick(100, 8))[0] == 0 and list(pick(100, 8))[-1] == 99
    assert len(pick(100, 8)) == 8
    assert list(pick(3, 8)) == [0, 1, 2]


def _evaluation(passing: bool, extras: bool):
    def metric(v, p95):
        return {"value": v, "floor_median": p95 / 2, "floor_p95": p95, "within_floor": v <= p95,
                "floor_values": [p95 / 2] * 5}

    def higher(v, p05):
        return {"value": v, "floor_median": p05 + 0.02, "floor_p05": p05, "within_floor": v >= p05,
                "floor_values": [p05] * 5, "higher_is_better": True, "k": 3}

    ev = {"n_samples": 2000, "reference": "fresh truth",
          "metrics": {"mmd2": metric(1e-4 if passing else 3e-2, 5e-4), "energy": metric(0.002, 0.004),
                      "sw2": metric(0.05, 0.03)}}
    if extras:
        ev["log_density"] = {"samples_mean": -1.23, "truth_mean": -1.2, "truth_mean_sd": 0.02,
                             "samples_frac_outside_support": 0.0, "truth_frac_outside_support": 0.0,
                             "outlier_share": {**metric(0.0125, 0.0025), "threshold": -6.1, "quantile": 0.001},
                             "mean_log_prob": {"value": -1.23, "floor_median": -1.2, "floor_p05": -1.24,
                                               "within_floor": True, "floor_values": [-1.2] * 5},
                             "outside_support": {"value": 0.021, "floor_p95": 0.0, "bound": 0.01,
                                                 "within_floor": False}}
        ev["modes"] = {"n_modes": 8, "covered": 7, "share_covered": 0.875, "max_weight_error": 0.12,
                       "frac_off_mode": 0.031}
    else:
        ev["metrics"].update(precision=higher(0.71, 0.75), recall=higher(0.8, 0.74))
    return ev


def _verdict(ev):
    figures = dict(ev["metrics"])
    figures.update({k: v for k, v in ev.get("log_density", {}).items() if isinstance(v, dict)})
    failing = [k for k, m in figures.items() if not m["within_floor"]]
    return {"as_good_as_data_allow": not failing, "checked": list(figures), "failing": failing}


def _runs(tmp_path):
    img = viz.plot_losses({"epoch": [1, 2], "train_loss": [1.0, 0.5], "test_loss": [1.1, 0.6]},
                          tmp_path / "run a" / "losses.png", title="loss")
    ev_a, ev_b = _evaluation(True, True), _evaluation(False, False)
    lik = {"nll_nats": 1.31, "nll_se": 0.05, "nll_true_nats": 1.21, "nll_true_se": 0.05, "kl_nats": 0.1,
           "kl_se": 0.012, "n": 500, "data": "test split"}
    runs = [
        {"name": "ring-ddpm", "dataset": "ring", "method": "ddpm", "train_seconds": 12.3,
         "evaluation": ev_a, "verdict": _verdict(ev_a), "likelihood": lik,
         "images": {"loss per epoch": "run a/losses.png", "reverse <animated>": "run a/reverse.gif"}},
        {"name": "ring-dsm", "dataset": "ring", "method": "dsm", "train_seconds": 150.0, "sample_seconds": 1.5,
         "sampler": "langevin, 20 steps", "nfe": 100, "evaluation": ev_b, "verdict": _verdict(ev_b),
         "images": {"losses": "run a/losses.png"}},
    ]
    return img, runs


def test_report_lists_every_run_metric_and_verdict(tmp_path):
    img, runs = _runs(tmp_path)
    html_path = viz.write_report(tmp_path, "A <study>", runs, notes="Notes & more.")
    assert img.exists() and html_path == tmp_path / "report.html"
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    html = html_path.read_text(encoding="utf-8")
    for text in (md, html):
        for name in ("ring-ddpm", "ring-dsm", "mmd2", "energy", "sw2", "noise floor", "2 min 30 s",
                     "langevin, 20 steps (100)"):
            assert name in text
        assert PASS in text and FAIL in text
        assert "modes covered" in text and "log-density" in text
        # the tail figures beside their floors, precision/recall beside p05, the NLL/KL, the verdicts
        for name in ("outlier share", "1.25% / 0.25%", "mean true log-density", "-1.23 / -1.24",
                     "outside the support", "2.10% / 1.00%", "precision", "0.710 / 0.750", "recall: value / floor p05",
                     "KL estimate (nats) ± se", "0.100 ± 0.0120", "model NLL", "1.31 ± 0.0500",
                     "fails: sliced W₂ (sw2), outlier share, outside the support",
                     "fails: MMD² (mmd2), sliced W₂ (sw2), precision"):
            assert name in text, name
        assert "{'value'" not in text        # the tail figures' dicts never land in the key/value table
    assert html.count("<img ") == 3
    assert 'src="run%20a/losses.png"' in html
    assert "A &lt;study&gt;" in html and "reverse &lt;animated&gt;" in html and "Notes &amp; more." in html
    assert "](run%20a/losses.png)" in md
    assert "[ring-dsm](#ring-dsm)" in md and '<a id="ring-dsm"></a>' in md


def test_report_html_is_navigable_and_fits_a_phone(tmp_path):
    """Parsed with html.parser: a viewport tag, a table of contents, every summary row linked to its
    section, every table inside a sideways-scrolling div, every image on disk, every #anchor resolving."""
    from html.parser import HTMLParser
    from urllib.parse import unquote

    _, runs = _runs(tmp_path)
    runs[0]["images"].pop("reverse <animated>")           # a picture that was never drawn
    path = viz.write_report(tmp_path, "study", runs)

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids, self.hrefs, self.srcs, self.meta, self.stack, self.tables_in_scroll = set(), [], [], [], [], []
            self.summary_links = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            self.ids.add(a.get("id"))
            if tag == "a":
                self.hrefs.append(a["href"])
                if "tr" in self.stack and len(self.tables_in_scroll) == 1:
                    self.summary_links.append(a["href"])
            if tag == "img":
                self.srcs.append(a["src"])
            if tag == "meta":
                self.meta.append(a)
            if tag == "table":
                self.tables_in_scroll.append(self.stack[-1:] == ["div.scroll"])
            self.stack.append("div.scroll" if tag == "div" and a.get("class") == "scroll" else tag)

        def handle_endtag(self, tag):
            while self.stack and self.stack.pop().split(".")[0] != tag:
                pass

    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in page.meta
    assert "contents" in page.ids and "summary" in page.ids
    assert page.summary_links == ["#ring-ddpm", "#ring-dsm"]
    assert page.tables_in_scroll and all(page.tables_in_scroll)
    for src in page.srcs:
        assert (tmp_path / unquote(src)).is_file(), src
    for href in page.hrefs:
        assert href.startswith("#") and href[1:] in page.ids, href
    assert report_problems(path) == []


def test_report_problems_finds_missing_images_and_dead_links(tmp_path):
    (tmp_path / "a.png").write_bytes(b"png")
    page = tmp_path / "p.html"
    page.write_text('<html><head></head><body><h2 id="x">x</h2><img src="a.png"><img src="b%20c.png">'
                    '<a href="#x">ok</a><a href="#y">dead</a><a href="https://example.org/#z">away</a></body></html>')
    problems = report_problems(page)
    assert len(problems) == 3
    assert any("viewport" in p for p in problems)
    assert any("b%20c.png" in p for p in problems) and any("'#y'" in p for p in problems)


def test_anchors_are_unique_and_plain():
    taken = set()
    assert anchor("gmm-dsm (langevin)", taken) == "gmm-dsm-langevin"
    assert anchor("gmm dsm langevin", taken) == "gmm-dsm-langevin-2"
    assert anchor("***") == "section"


def test_numbers_are_formatted_sensibly():
    assert fmt(0.012345) == "0.0123"
    assert fmt(1.2345e-5) == "1.23e-05"
    assert fmt(12.345) == "12.3"
    assert fmt(1234.5) == "1234"
    assert fmt(None) == "–" and fmt(0.0) == "0" and fmt(7) == "7" and fmt(float("nan")) == "nan"


def test_reverse_panels_are_spaced_evenly_in_log_noise_ratio():
    from difflab.viz.reverse import pick_levels

    # 1000 levels evenly spaced in time on a VP-like ratio: most of them pure noise
    t = np.linspace(1, 0, 1001)
    with np.errstate(divide="ignore"):
        log_ratio = np.log(np.expm1(10 * t) / 10)                # -inf at t = 0 (the data)
    idx = pick_levels(log_ratio, 8)
    assert idx[0] == 0 and idx[-1] == 1000 and len(idx) == 8
    gaps = np.diff(log_ratio[idx[:-1]])
    assert np.allclose(gaps, gaps[0], rtol=0.05)                  # equal steps in log(sigma / alpha)
    assert (t[idx[1:-1]] < 0.9).all()                             # not spent on the noise
    # a VE ladder whose last snapshot is the final denoising at the last level: no panel twice
    ladder = np.append(np.linspace(3.0, -4.6, 100), -4.6)
    idx = pick_levels(ladder, 9)
    assert idx[-1] == 100 and 99 not in idx and len(set(ladder[idx])) == len(idx)
