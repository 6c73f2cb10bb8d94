"""The whole wire path loses nothing: V-SYNC through `omnieval serve` (a real subprocess)
hosting `vsync-solver`, reached by the `openai` provider with native video and audio, answers
every trial exactly as the in-process solver does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omnieval import api
from omnieval.benchmarks.vsync.synth import generate_vsync
from tests.conftest import synth_config
from tests.served import omnieval_serve

VARIANTS = ["avt", "vt", "at"]


@pytest.fixture
def served_solver(tmp_path: Path, subprocess_env: dict[str, str]) -> Iterator[str]:
    with omnieval_serve(["--model", "vsync-solver"], subprocess_env, tmp_path) as url:
        yield url


def test_served_solver_answers_every_trial_like_the_in_process_one(
    tmp_path: Path, served_solver: str
) -> None:
    edition = tmp_path / "edition"
    # who-is-speaking and sync items
    generate_vsync(edition, 16, seed=9, config=synth_config("espeak"), workers=2)
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
    board = (wire.run_dir / "leaderboard.md").read_text()
    assert "- `served`: openai `vsync-solver`; transport: video native, audio native" in board
    assert wire.results.models["served"]["transport"]["audio_native"]["sample_format"] == "f32"
