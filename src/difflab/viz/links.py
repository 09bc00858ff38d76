"""Check a written HTML page: every image on disk, every link resolving, a viewport tag.

    problems = report_problems("difflab-study/report.html")    # [] when the page is sound
"""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Refs(HTMLParser):
    """Collects the ids, link targets and image sources of an HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.srcs, self.meta = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "a" and a.get("href") is not None:
            self.hrefs.append(a["href"])
        if tag == "img":
            self.srcs.append(a.get("src") or "")
        if tag == "meta":
            self.meta.append(a)


def report_problems(html_path) -> list[str]:
    """What is broken in a written HTML page: images whose file is missing, links to an id the
    page does not have or to a missing file, ids used twice, no viewport tag. Empty when sound;
    links to other sites (a scheme such as https:) are not followed."""
    path = Path(html_path)
    refs = _Refs()
    refs.feed(path.read_text(encoding="utf-8"))
    problems = [f"id {i!r} is used more than once" for i in sorted({i for i in refs.ids if refs.ids.count(i) > 1})]
    if not any(m.get("name") == "viewport" for m in refs.meta):
        problems.append("no <meta name=\"viewport\"> tag")
    ids = set(refs.ids)
    for kind, target in [("image", s) for s in refs.srcs] + [("link", h) for h in refs.hrefs]:
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue
        if not parts.path:
            if kind == "image" or parts.fragment not in ids:
                problems.append(f"{kind} {target!r} points to no element of the page")
        elif not (path.parent / unquote(parts.path)).is_file():
            problems.append(f"{kind} {target!r}: no such file")
    return problems
