"""report.html and `omnieval rate` in a real browser: headless Chromium (the Debian package)
driven by Playwright. A screenshot of each page is kept under test-artifacts/."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnieval import api
from omnieval.probe.probeset import ensure_probe_set
from omnieval.runner.ratings import rated_keys

ARTIFACTS = Path(
    os.environ.get("OMNIEVAL_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts")
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    return found


@pytest.fixture(scope="module")
def browser(audio_run: api.RunOutcome) -> Iterator[Any]:
    """Chromium under Playwright's sync API (it runs an event loop in this thread, so the run
    it shows is made first)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory: pytest.TempPathFactory) -> api.RunOutcome:
    root = tmp_path_factory.mktemp("browser-run")
    probe = ensure_probe_set(root / "probe", seed=0)
    return api.evaluate(
        {
            "name": "audio",
            "output": str(root / "runs"),
            "progress": False,
            "benchmarks": [{"name": "mcq", "args": {"path": str(probe / "audio-tones.jsonl")}}],
            "models": ["random", "probe-solver"],
        }
    )


def test_report_renders_filters_and_plays_audio(browser: Any, audio_run: api.RunOutcome) -> None:
    page = browser.new_page()
    page.goto((audio_run.run_dir / "report.html").resolve().as_uri())
    assert page.locator("#leaderboard-table tbody tr").count() >= 2
    assert page.text_content("#sample-count") == "12 of 12 trials"
    assert page.locator("#samples tbody tr").count() == 12
    page.select_option("#filter-model", "probe-solver")
    assert page.text_content("#sample-count") == "6 of 12 trials"
    assert set(page.locator("#samples tbody tr td:first-child").all_text_contents()) == {
        "probe-solver"
    }
    page.select_option("#filter-outcome", "scored")
    page.fill("#filter-search", "audio-tones-3")
    assert page.text_content("#sample-count") == "1 of 12 trials"
    page.locator("#samples tbody tr").first.click()
    audio = page.locator("#detail audio")
    assert audio.count() == 1
    page.evaluate("() => { const a = document.querySelector('#detail audio'); a.muted = true; "
                  "return a.play(); }")  # fmt: skip
    page.wait_for_function(
        "document.querySelector('#detail audio').currentTime > 0.2", timeout=10_000
    )
    assert "How many beeps" in page.text_content("#detail pre.prompt")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    page.close()


@pytest.fixture
def rate_server(audio_run: api.RunOutcome) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "omnieval.cli", "rate", str(audio_run.run_dir), "--rater", "ann"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline and process.poll() is None:
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", process.stderr.readline())
        url = found.group(1) if found else None
    assert url, "omnieval rate did not print its address"
    try:
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_a_rating_submitted_in_the_page_lands_in_the_journal(
    browser: Any, audio_run: api.RunOutcome, rate_server: tuple[str, subprocess.Popen[str]]
) -> None:
    url, process = rate_server
    run_dir = audio_run.run_dir
    page = browser.new_page()
    page.goto(url)
    assert page.text_content("#sample-count") == "12 of 12 trials"
    first = page.locator("#samples tbody tr").first.get_attribute("data-key")
    page.locator("#rating-form input[value='4']").check()
    page.fill("#rating-form textarea", "counted right")
    page.click("#rating-form button[type=submit]")
    page.wait_for_function("document.querySelector('#sample-count').textContent.startsWith('11')")
    assert rated_keys(run_dir, "ann") == {first}
    page.locator("#detail audio").count()  # the next sample is shown with its player
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rate.png"), full_page=False)
    page.reload()  # resume: the rated sample is not offered again
    assert page.text_content("#sample-count") == "11 of 12 trials"
    page.close()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    ratings = json.loads((run_dir / "results.json").read_text())["human_ratings"]
    assert ratings[0]["rater"] == "ann" and ratings[0]["mean"] == 4
