"""V-SYNC end to end: generator -> official-format loader -> runner -> reference models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from omnieval import api
from omnieval.benchmarks.vsync.synth import generate_vsync
from tests.conftest import N_WHO, SPEECH_ENGINES, synth_config


@pytest.fixture(params=SPEECH_ENGINES)
def who_edition(request: pytest.FixtureRequest) -> Path:
    """The 200-item who-is-speaking edition, once per speech engine (thresholds hold for both)."""
    name = "vsync_who_edition" if request.param == "espeak" else "vsync_who_edition_formant"
    edition: Path = request.getfixturevalue(name)
    return edition


def test_solver_needs_both_modalities_on_who_is_speaking(who_edition: Path, tmp_path: Path) -> None:
    outcome = api.evaluate(
        {
            "name": "who",
            "output": str(tmp_path / "runs"),
            "benchmarks": [
                {
                    "name": "vsync",
                    "args": {"data_dir": str(who_edition)},
                    "variants": ["avt", "vt", "at"],
                }
            ],
            "models": [{"use": "vsync-solver", "concurrency": 2}],
            "progress": False,
        }
    )
    items = json.loads((who_edition / "data/level_1/dataset.json").read_text())
    chance = sum(1 / len(item["options"]) for item in items) / len(items)
    results = {v: outcome.results.find("vsync-solver", v) for v in ("avt", "vt", "at")}
    for result in results.values():
        assert result.trials == N_WHO and result.failed == 0 and result.extraction_failed == 0
    accuracy = {v: r.metrics["accuracy"].value for v, r in results.items()}
    assert accuracy["avt"] >= 0.95, accuracy
    assert abs(accuracy["vt"] - chance) <= 0.1, (accuracy, chance)
    assert abs(accuracy["at"] - chance) <= 0.1, (accuracy, chance)


@pytest.fixture
def damaged_edition(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    out = tmp_path / "vsync-damaged"
    generate_vsync(out, 8, seed=3, config=synth_config("formant"), workers=1)
    items = json.loads((out / "data/level_1/dataset.json").read_text())
    videos = out / "data/level_1/videos"
    corrupt, missing = items[1], items[4]
    path = videos / corrupt["video_path"]
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (videos / missing["video_path"]).unlink()
    return out, {
        "corrupt": corrupt["id"],
        "missing": missing["id"],
        "corrupt_file": corrupt["video_path"],
        "missing_file": missing["video_path"],
    }


def test_doctor_lists_corrupt_and_missing_files(
    damaged_edition: tuple[Path, dict[str, str]], subprocess_env: dict[str, str]
) -> None:
    out, facts = damaged_edition
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "omnieval.cli",
            "doctor",
            "--benchmark",
            "vsync",
            "--data",
            str(out),
        ],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    missing = [line for line in lines if line.startswith("missing")]
    bad = [line for line in lines if line.startswith("undecodable")]
    assert (
        len(missing) == 1 and facts["missing_file"] in missing[0] and facts["missing"] in missing[0]
    )
    assert len(bad) == 1 and facts["corrupt_file"] in bad[0] and facts["corrupt"] in bad[0]
    assert "2 problem file(s) among 8 media files of 8 samples" in result.stderr


@pytest.mark.parametrize("doctor", [True, False])
def test_run_fails_only_the_damaged_trials_and_says_so(
    damaged_edition: tuple[Path, dict[str, str]], tmp_path: Path, doctor: bool
) -> None:
    out, facts = damaged_edition
    outcome = api.evaluate(
        {
            "name": "damaged",
            "output": str(tmp_path / "runs"),
            "benchmarks": [{"name": "vsync", "args": {"data_dir": str(out)}}],
            "models": ["vsync-solver", "random"],
            "progress": False,
            "doctor": doctor,
        }
    )
    failed = [r for r in outcome.records if r.response.failed]
    answered = [r for r in outcome.records if not r.response.failed]
    solver_failed = {r.trial.sample_id for r in failed if r.trial.model == "vsync-solver"}
    assert solver_failed == {facts["corrupt"], facts["missing"]}
    assert len(answered) >= 2 * 3 * 6  # every trial on the six good clips ran
    for record in failed:
        file = (
            facts["corrupt_file"]
            if record.trial.sample_id == facts["corrupt"]
            else facts["missing_file"]
        )
        assert file in (record.response.error or ""), record.response.error
    solver = outcome.results.find("vsync-solver", "avt")
    assert solver.failed == 2 and solver.metrics["accuracy"].n == 6
    board = (outcome.run_dir / "leaderboard.md").read_text()
    assert "2 (25.0%)" in board and "## Failed trials" in board and facts["missing_file"] in board
    damaged = {facts["corrupt"], facts["missing"]}
    random_failed = {r.trial.sample_id for r in failed if r.trial.model == "random"}
    if doctor:
        # Pre-flight: the doctor names the damaged files before any inference, and every trial
        # that needs them fails without a model call, for every model (random included).
        assert random_failed == damaged
        assert len(failed) == 2 * 2 * 3  # 2 samples x 2 models x 3 variants
        for record in failed:
            assert (record.response.error or "").startswith("media file "), record.response.error
            assert record.response.latency_s == 0.0
    else:
        # No pre-flight: only the model that reads the media finds out, through its own error;
        # random never opens the files and answers every trial.
        assert random_failed == set()
        assert all(r.trial.model == "vsync-solver" for r in failed)
        for record in failed:
            error = record.response.error or ""
            assert error.startswith("PermanentModelError: "), error
            assert record.response.latency_s > 0.0
