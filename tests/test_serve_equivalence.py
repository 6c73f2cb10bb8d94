"""The whole wire path loses nothing: V-SYNC through `omnieval serve` (a real subprocess)
hosting `vsync-solver`, reached by the `openai` provider with native video and audio, answers
every trial exactly as the in-process solver does."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omnieval import api
from omnieval.benchmarks.vsync.synth import generate_vsync

VARIANTS = ["avt", "vt", "at"]


@pytest.fixture
def served_solver(tmp_path: Path, subprocess_env: dict[str, str]):  # type: ignore[no-untyped-def]
    process = subprocess.Popen(
        [sys.executable, "-m", "omnieval.cli", "serve", "--model", "vsync-solver", "--port", "0"],
        env=subprocess_env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline and process.poll() is None:
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", process.stderr.readline())
        url = found.group(1) if found else None
    assert url, "omnieval serve did not start"
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def test_served_solver_answers_every_trial_like_the_in_process_one(
    tmp_path: Path, served_solver: str
) -> None:
    edition = tmp_path / "edition"
    generate_vsync(edition, 16, seed=9, workers=2)  # who-is-speaking and sync items
    benchmark = {"name": "vsync", "args": {"data_dir": str(edition)}, "variants": VARIANTS}
    local = api.evaluate(
        {
            "name": "local",
            "output": str(tmp_path / "runs"),
            "progress": False,
            "benchmarks": [benchmark],
            "models": ["vsync-solver"],
        }
    )
    wire = api.evaluate(
        {
            "name": "wire",
            "output": str(tmp_path / "runs"),
            "progress": False,
            "benchmarks": [benchmark],
            "models": [
                {
                    "alias": "served",
                    "provider": "openai",
                    "max_retries": 2,
                    "init_args": {
                        "base_url": f"{served_solver}/v1",
                        "model": "vsync-solver",
                        "inputs": ["text", "image", "audio", "video"],
                        "transport": {"audio_sample_format": "f32"},
                    },
                }
            ],
        }
    )

    def answers(outcome: api.RunOutcome) -> dict[tuple[str, str], str | None]:
        return {(r.trial.sample_id, r.trial.variant): r.response.text for r in outcome.records}

    assert wire.results.totals.failed == 0, [r.response.error for r in wire.records][:3]
    assert len(answers(local)) == 16 * 3
    assert answers(wire) == answers(local)
