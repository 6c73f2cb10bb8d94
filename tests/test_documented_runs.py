"""Run-level behaviour the docs promise, through public entry points only (the `omnieval` CLI in
a subprocess, `omnieval.api`, and the files a run writes), so the tests hold across refactors:

- `omnieval demo` end to end, and its rerun resuming with nothing to run (docs/quickstart.md);
- the run-directory lock refusing a second run (docs/running.md);
- path-independent trial keys: a moved dataset resumes, an edited media file gets new trials;
- `scoring: vsync` at run level and through `omnieval rescore` (docs/vsync.md);
- extraction failures counted as `unparsed` at run level (docs/running.md);
- `api.doctor` and `read_results` (docs/python-api.md, docs/run-directory.md).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from omnieval import api
from omnieval.config import ConfigError
from omnieval.report.results import read_results
from tests.cli_runs import (
    OMNIEVAL,
    audio_question,
    omnieval,
    said,
    samples,
    totals,
    write_jsonl,
)
from tests.conftest import write_mcq
from tests.loopback import LoopbackConfig, LoopbackServer
from tests.mediagen import write_test_audio

REPO = Path(__file__).resolve().parent.parent


def journal_keys(run_dir: Path) -> set[str]:
    with sqlite3.connect(f"file:{run_dir / 'journal.sqlite'}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT key FROM trials")}


def planned_lines(run_dir: Path) -> list[str]:
    log = (run_dir / "run.log").read_text(encoding="utf-8")
    return [
        line.split("omnieval.runner: ", 1)[1] for line in log.splitlines() if "planned " in line
    ]


# --------------------------------------------------------------------------- demo


@pytest.mark.slow
def test_demo_end_to_end_then_the_rerun_runs_nothing(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    demo = ["demo", "--out", str(tmp_path / "demo")]
    first = omnieval(demo, subprocess_env, tmp_path, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    runs = sorted(p.name for p in (tmp_path / "demo" / "runs").iterdir())
    # one invocation covers every built benchmark
    assert runs == [
        "avibench-demo-n2-seed0",
        "spatial-demo-n3-seed0",
        "starbench-demo-n2-seed0",
        "vmeval-demo-n1-seed0",
        "vsync-demo-n40-seed0",
        "vsync-how-demo-n12-seed0",
        "vsync-when-demo-n12-seed0",
    ]
    vm_dir = tmp_path / "demo" / "runs" / "vmeval-demo-n1-seed0"
    # 9 generated domains x (oracle-video, still, wrong-move)
    assert totals(vm_dir)["trials"] == 27 and totals(vm_dir)["failed"] == 0
    spatial = read_results(tmp_path / "demo" / "runs" / "spatial-demo-n3-seed0" / "results.json")
    assert spatial.node("spatial-solver", "default", "spatial:overall").value.value >= 0.9
    # V-SYNC Levels 2/3: a "when" run for the reference models, a "when + how" run judged
    when_dir = tmp_path / "demo" / "runs" / "vsync-when-demo-n12-seed0"
    how_dir = tmp_path / "demo" / "runs" / "vsync-how-demo-n12-seed0"
    assert totals(when_dir)["trials"] == 12 * 3 * 3 and totals(when_dir)["failed"] == 0
    assert totals(how_dir)["trials"] == (12 + 4) * 3 and totals(how_dir)["failed"] == 0
    assert (how_dir / "vsync-level23.json").is_file() and "QEns_joint" in first.stderr
    avi_dir = tmp_path / "demo" / "runs" / "avibench-demo-n2-seed0"
    # 15 folders x 2 items + 4 sensation folders x (1 control + 3 pre-questions) = 46 samples,
    # x 3 conditions (default, no-audio, no-frames) x 3 models (random, constant, solver)
    assert totals(avi_dir)["trials"] == 3 * 3 * 46 and totals(avi_dir)["failed"] == 0
    avi_keys = journal_keys(avi_dir)
    run_dir = tmp_path / "demo" / "runs" / "vsync-demo-n40-seed0"
    star_dir = tmp_path / "demo" / "runs" / "starbench-demo-n2-seed0"
    assert "vsync-solver" in first.stdout and "starbench-solver" in first.stdout
    # 2 items x (6 absolute perception sub-categories x 3 runs (3-option rotations) + 6
    # relative ones x 2 runs, 5 temporal processes x 3 permutations, 4 sr sub-categories x 3
    # rotations) -> 114 per model
    assert totals(star_dir)["trials"] == 3 * 114 and totals(star_dir)["failed"] == 0
    star_keys = journal_keys(star_dir)
    star_results = read_results(star_dir / "results.json")
    assert star_results.find("starbench-solver", "default", "starbench/tr").metrics[
        "AA"
    ].value == 1
    assert (tmp_path / "demo" / "vsync-synth" / "data" / "level_1" / "dataset.json").is_file()
    done = totals(run_dir)
    # 40 clips x 3 reference models x 3 variants
    assert done["trials"] == 360 and done["failed"] == 0
    keys = journal_keys(run_dir)
    assert len(keys) == 360
    board = (run_dir / "leaderboard.md").read_text(encoding="utf-8")
    for model in ("random", "constant", "vsync-solver"):
        assert model in board
    results = read_results(run_dir / "results.json")
    assert results.find("vsync-solver", "avt").metrics["accuracy"].value >= 0.9

    again = omnieval(demo, subprocess_env, tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert planned_lines(run_dir)[-1] == "planned 360 trials, 360 already journaled"
    assert journal_keys(run_dir) == keys
    assert read_results(run_dir / "results.json") == results
    assert planned_lines(star_dir)[-1] == "planned 342 trials, 342 already journaled"
    assert planned_lines(how_dir)[-1] == "planned 48 trials, 48 already journaled"
    assert planned_lines(avi_dir)[-1] == "planned 414 trials, 414 already journaled"
    assert journal_keys(avi_dir) == avi_keys
    assert journal_keys(star_dir) == star_keys
    assert read_results(star_dir / "results.json") == star_results
    assert planned_lines(vm_dir)[-1] == "planned 27 trials, 27 already journaled"


# --------------------------------------------------------------------------- lock


def test_a_second_run_on_a_locked_run_directory_is_refused(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    mcq = write_mcq(tmp_path / "q.jsonl", 4)
    started, release = tmp_path / "started.txt", tmp_path / "release"
    config = {
        "name": "locked",
        "output": str(tmp_path / "runs"),
        "plugins": ["omnieval_testmodels"],
        "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
        "models": [
            {
                "alias": "held",
                "provider": "test-gated",
                "init_args": {"started_file": str(started), "release_file": str(release)},
            }
        ],
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    command = ["run", "--config", str(path), "--no-progress"]
    first = subprocess.Popen(
        [*OMNIEVAL, *command],
        env=subprocess_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not (started.exists() and started.read_text()):  # the first run is mid-way
            assert first.poll() is None, first.communicate()
            time.sleep(0.02)
        second = omnieval(command, subprocess_env, tmp_path)
        assert second.returncode != 0
        assert "locked is in use by another omnieval process" in said(second), said(second)
        assert not (tmp_path / "runs" / "locked" / "results.json").exists()
    finally:
        release.touch()
        _out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert totals(tmp_path / "runs" / "locked")["trials"] == 4


# --------------------------------------------------------------------------- trial keys


def _media_mcq(root: Path) -> Path:
    """Three audio questions; q0 and q1 share one file, q2 has its own."""
    clips = root / "clips"
    clips.mkdir(parents=True)
    write_test_audio(clips / "shared.wav", 0.3)
    write_test_audio(clips / "own.wav", 0.3, tones=660.0)
    rows = [
        audio_question("q0", "clips/shared.wav"),
        audio_question("q1", "clips/shared.wav", question="Short?", answer="B"),
        audio_question("q2", "clips/own.wav", question="High?"),
    ]
    return write_jsonl(root / "questions.jsonl", rows)


def _keys_by_sample(run_dir: Path) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for row in samples(run_dir):
        keys.setdefault(row["sample_id"], set()).add(row["key"])
    return keys


def test_trial_keys_ignore_paths_but_follow_media_content(tmp_path: Path) -> None:
    questions = _media_mcq(tmp_path / "here")

    def run(path: Path, force: bool = False) -> api.RunOutcome:
        return api.evaluate(
            {
                "name": "keys",
                "output": str(tmp_path / "runs"),
                "benchmarks": [{"name": "mcq", "args": {"path": str(path)}}],
                "models": ["random", "constant"],
                "progress": False,
            },
            force=force,
        )

    first = run(questions)
    assert first.executed == 6
    before = _keys_by_sample(first.run_dir)

    moved = tmp_path / "elsewhere" / "deeper"
    shutil.move(str(tmp_path / "here"), moved)
    again = run(moved / "questions.jsonl")
    assert (again.executed, again.resumed) == (0, 6)  # a moved dataset resumes
    assert _keys_by_sample(again.run_dir) == before

    write_test_audio(moved / "clips" / "own.wav", 0.3, tones=880.0)  # new content, same name
    with pytest.raises(ConfigError, match="holds another run"):  # no silent overwrite
        run(moved / "questions.jsonl")
    edited = run(moved / "questions.jsonl", force=True)
    assert (edited.executed, edited.resumed) == (2, 4)  # q2 on both models
    after = _keys_by_sample(edited.run_dir)
    assert after["q0"] == before["q0"] and after["q1"] == before["q1"]
    assert after["q2"].isdisjoint(before["q2"])


# --------------------------------------------------------------------------- scoring


@pytest.fixture(scope="module")
def vsync_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from omnieval.benchmarks.vsync.synth import VsyncSynthConfig, generate_vsync

    out = tmp_path_factory.mktemp("vsync-small")
    generate_vsync(out, 4, seed=2, config=VsyncSynthConfig(speech="formant", sync_share=0.0))
    return out


def _loopback_model(server: LoopbackServer) -> dict[str, Any]:
    return {
        "alias": "talker",
        "provider": "openai",
        "init_args": {
            "model": "loopback",
            "base_url": server.url,
            "api_key": "unused",
            "transport": {"video": "drop", "audio": "drop"},
        },
    }


def test_scoring_vsync_at_run_level_and_through_rescore(
    vsync_small: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    answer = "Based on the video, the answer is C"
    with LoopbackServer(LoopbackConfig(reply=answer)) as server:

        def run(name: str, scoring: str) -> Path:
            outcome = api.evaluate(
                {
                    "name": name,
                    "output": str(tmp_path / "runs"),
                    "benchmarks": [
                        {
                            "name": "vsync",
                            "args": {"data_dir": str(vsync_small), "scoring": scoring},
                            "variants": ["vt"],
                        }
                    ],
                    "models": [_loopback_model(server)],
                    "progress": False,
                }
            )
            return outcome.run_dir

        default_dir = run("default", "default")
        parity_dir = run("parity", "vsync")
        asked = server.chat_requests
        assert asked == 8
        # the robust default reads the committed letter; upstream's first-character rule reads B
        assert {(r["extraction"], r["extraction_rule"]) for r in samples(default_dir)} == {
            ("C", "statement")
        }
        assert {(r["extraction"], r["extraction_rule"]) for r in samples(parity_dir)} == {
            ("B", "vsync:first-char")
        }

        # rescore the default run in parity mode: no model call, new extractions
        manifest_path = default_dir / "manifest.yaml"
        manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
        manifest["config"]["benchmarks"][0]["args"]["scoring"] = "vsync"
        manifest_path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
        done = omnieval(["rescore", str(default_dir)], subprocess_env, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        assert server.chat_requests == asked  # no inference
    assert {(r["extraction"], r["extraction_rule"]) for r in samples(default_dir)} == {
        ("B", "vsync:first-char")
    }
    assert (
        json.loads((default_dir / "results.json").read_text())["groups"]
        == json.loads((parity_dir / "results.json").read_text())["groups"]
    )


def test_answers_without_a_letter_are_counted_as_unparsed(tmp_path: Path) -> None:
    mcq = write_mcq(tmp_path / "q.jsonl", 5)
    with LoopbackServer(LoopbackConfig(reply="I cannot tell from this.")) as server:
        outcome = api.evaluate(
            {
                "name": "unparsed",
                "output": str(tmp_path / "runs"),
                "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
                "models": [_loopback_model(server)],
                "progress": False,
            }
        )
    done = totals(outcome.run_dir)
    assert done["trials"] == 5 and done["failed"] == 0 and done["extraction_failed"] == 5
    result = outcome.results.find("talker", "default")
    assert result.extraction_failed == 5 and result.metrics["accuracy"].value == 0.0
    rows = samples(outcome.run_dir)
    assert {(r["status"], r["extraction_ok"], r["response"]) for r in rows} == {
        ("ok", False, "I cannot tell from this.")
    }
    board = (outcome.run_dir / "leaderboard.md").read_text(encoding="utf-8")
    assert "unparsed" in board.lower()


# --------------------------------------------------------------------------- api.doctor, results


def test_api_doctor_and_read_results(tmp_path: Path) -> None:
    questions = _media_mcq(tmp_path / "data")
    (tmp_path / "data" / "clips" / "own.wav").write_bytes(b"RIFF but not really a wave file")
    config = {
        "name": "checked",
        "output": str(tmp_path / "runs"),
        "benchmarks": [{"name": "mcq", "args": {"path": str(questions)}}],
        "models": ["constant"],
        "progress": False,
    }
    [problem] = api.doctor(config)
    assert problem.path.name == "own.wav" and problem.sample_ids == ("q2",)
    assert problem.problem == "undecodable"
    outcome = api.evaluate(config)
    assert read_results(outcome.run_dir / "results.json") == outcome.results
    assert outcome.results.totals.failed == 1  # the doctor's failure, recorded
