"""Screenshot a difflab report with headless Chromium (Debian's `chromium`), for the README.

    python docs/screenshot_report.py difflab-study/report.html docs/report.png [--width 1280 --height 1600]

Exits with a message and code 2 when no Chromium is installed (`apt-get install chromium`).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", help="the report.html of `difflab run`")
    ap.add_argument("out", help="the PNG to write")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1600)
    a = ap.parse_args(argv)
    browser = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        print("screenshot_report: no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    report = Path(a.report).resolve()
    if not report.is_file():
        print(f"screenshot_report: {report} not found", file=sys.stderr)
        return 2
    out = Path(a.out).resolve()
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={a.width},{a.height}", f"--screenshot={out}", report.as_uri()],
                   check=True, capture_output=True, timeout=120)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
