"""report.html: build time for a large run, and first paint in headless Chromium.

    python bench/bench_report.py [--trials 100000] [--paint-trials 10000]

(a) `omnieval report RUN` (rebuild report.html from results.json, samples.jsonl and the run's
    samples) on a finished `--trials` run of `constant` on a generated mcq file; target < 10 s
    for 100,000 trials. The same step inside the run's own output writing is timed too, against
    the outputs without it (samples.jsonl, CSV, Parquet, leaderboard), to state its share.
(b) first contentful paint of a `--paint-trials` run's report in Chromium (Debian package,
    Playwright), from `page.goto` of the file: target < 2 s for 10,000 trials.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_harness import write_questions  # the same questions as the harness bench

from omnieval import api


def finished_run(root: Path, n: int) -> Path:
    write_questions(root / f"q{n}.jsonl", n)
    outcome = api.evaluate(
        {
            "name": f"run{n}",
            "output": str(root / "runs"),
            "progress": False,
            "benchmarks": [{"name": "mcq", "args": {"path": str(root / f"q{n}.jsonl")}}],
            "models": ["constant"],
        }
    )
    return outcome.run_dir


def first_paint_s(report: Path) -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed (Debian: apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        started = time.perf_counter()
        page.goto(report.resolve().as_uri(), wait_until="load")
        loaded = time.perf_counter() - started
        paint = page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0].startTime"
        )
        browser.close()
    return float(paint) / 1000.0, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--paint-trials", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = finished_run(root, args.trials)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "omnieval.cli", "report", str(big)],
            check=True,
            capture_output=True,
        )
        rebuild = time.perf_counter() - started
        size_mb = (big / "report.html").stat().st_size / 1e6
        print(
            f"omnieval report, {args.trials} trials: {rebuild:.2f} s "
            f"(report.html {size_mb:.1f} MB, including interpreter start)"
        )
        small = finished_run(root, args.paint_trials)
        paint, loaded = first_paint_s(small / "report.html")
        size_mb = (small / "report.html").stat().st_size / 1e6
        print(
            f"Chromium, {args.paint_trials}-trial report ({size_mb:.1f} MB): first contentful "
            f"paint {paint:.2f} s, load event {loaded:.2f} s"
        )


if __name__ == "__main__":
    main()
