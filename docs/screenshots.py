"""Regenerate the screenshots in docs/img/ from `omnieval demo` runs (headless Chromium).

    python docs/screenshots.py [--demo omnieval-demo]

Runs the demo if its directory is missing, compares two of its runs, and shoots the report's
leaderboard and plots, a sample with its video, and the compare page.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", type=Path, default=Path("omnieval-demo"))
    args = parser.parse_args()
    runs = args.demo / "runs"
    vsync = runs / "vsync-demo-n40-seed0"
    if not (vsync / "report.html").is_file():
        subprocess.run([sys.executable, "-m", "omnieval.cli", "demo", "--out", str(args.demo)],
                       check=True)  # fmt: skip
    compare = args.demo / "compare.html"
    subprocess.run(
        [sys.executable, "-m", "omnieval.cli", "compare", str(vsync), str(vsync),
         "--model-a", "random", "--model-b", "vsync-solver", "--html", str(compare)],
        check=True, capture_output=True,
    )  # fmt: skip
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed"
    out = HERE / "img"
    out.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((vsync / "report.html").resolve().as_uri())
        page.screenshot(path=str(out / "report-leaderboard.png"))
        page.locator("#plots").scroll_into_view_if_needed()
        page.locator("#plots").screenshot(path=str(out / "report-plots.png"))
        page.locator("#acuity").screenshot(path=str(out / "report-acuity.png"))
        page.select_option("#filter-model", "vsync-solver")
        page.select_option("#filter-condition", "avt")
        page.locator("#samples tbody tr").first.click()
        page.locator("#browser").scroll_into_view_if_needed()
        page.locator("#detail").screenshot(path=str(out / "report-sample.png"))
        page.goto(compare.resolve().as_uri())
        page.screenshot(path=str(out / "compare.png"))
        browser.close()
    for name in sorted(p.name for p in out.glob("*.png")):
        print(out / name)


if __name__ == "__main__":
    main()
