"""Core v2: conditions x replicates, reducers, trial context, unsupported, artifacts, old runs."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from omnieval import api
from omnieval.benchmarks.base import DatasetError
from omnieval.config import ConfigError
from omnieval.report.results import read_results
from tests.cli_runs import omnieval, samples
from tests.conftest import write_mcq
from tests.loopback import LoopbackConfig, LoopbackServer
from tests.mediagen import write_test_audio

FIXTURE = Path(__file__).parent / "fixtures" / "v1_run"
LETTER_LINES = ("A. ", "B. ", "C. ", "D. ")


def _mcq_config(tmp_path: Path, path: Path, models: list[Any], **bench: Any) -> dict[str, Any]:
    return {
        "name": "core",
        "output": str(tmp_path / "runs"),
        "benchmarks": [{"name": "mcq", "args": {"path": str(path)}, **bench}],
        "models": models,
        "progress": False,
    }


# --------------------------------------------------------------------------- rotation


def test_circular_rotation_gives_aa_and_acr_for_oracle_and_constant(tmp_path: Path) -> None:
    mcq = write_mcq(tmp_path / "q.jsonl", 12, n_options=4)
    config = _mcq_config(
        tmp_path, mcq, ["oracle", "constant"], replicates={"scheme": "rotation", "k": "all"}
    )
    outcome = api.evaluate(config)
    assert outcome.results.totals.trials == 2 * 12 * 4
    oracle = outcome.results.find("oracle", "default")
    constant = outcome.results.find("constant", "default")
    assert oracle.metrics["AA"].value == 1.0 and oracle.metrics["ACR"].value == 1.0
    assert constant.metrics["AA"].value == pytest.approx(0.25)
    assert constant.metrics["ACR"].value == 0.0
    assert constant.metrics["AA"].method == "clustered"
    assert constant.items == 12 and constant.trials == 48
    board = (outcome.run_dir / "leaderboard.md").read_text()
    assert "AA %" in board and "ACR %" in board and "clustered" in board
    assert "accuracy" not in outcome.results.tasks["mcq/default"].display


def test_each_rotation_matches_a_hand_written_fixture(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    item = {"id": "x", "question": "Pick", "options": ["w", "x", "y", "z"], "answer": "B"}
    path.write_text(json.dumps(item) + "\n")
    outcome = api.evaluate(
        _mcq_config(tmp_path, path, ["constant"], replicates={"scheme": "rotation"})
    )
    expected = {  # rotation k shows option i + k at position i; the answer letter moves
        "rotation0": (["w", "x", "y", "z"], "B"),
        "rotation1": (["x", "y", "z", "w"], "A"),
        "rotation2": (["y", "z", "w", "x"], "D"),
        "rotation3": (["z", "w", "x", "y"], "C"),
    }
    rows = {row["replicate"]: row for row in samples(outcome.run_dir)}
    assert set(rows) == set(expected)
    for label, (options, answer) in expected.items():
        row = rows[label]
        assert row["target"]["options"] == options and row["target"]["answer"] == answer
        prompt = row["request"]["parts"][-1]["text"]
        shown = [
            line[3:] for line in prompt.splitlines() if line[:3] in ("A. ", "B. ", "C. ", "D. ")
        ]
        assert shown == options
        assert row["scores"]["accuracy"] == (1.0 if answer == "A" else 0.0)


def test_items_with_three_and_four_rotations_differ_between_item_and_trial_mean(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.jsonl"
    items = [
        {"id": "three", "question": "q", "options": ["a", "b", "c"], "answer": "A"},
        {"id": "four", "question": "q", "options": ["a", "b", "c", "d"], "answer": "A"},
    ]
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    reducers = {"AA": "item_mean", "AA_trials": "trial_mean", "ACR": "all"}
    outcome = api.evaluate(
        _mcq_config(
            tmp_path,
            path,
            ["constant"],
            replicates={"scheme": "rotation", "reducers": reducers},
        )
    )
    result = outcome.results.find("constant", "default")
    assert result.metrics["AA"].value == pytest.approx((1 / 3 + 1 / 4) / 2)
    assert result.metrics["AA_trials"].value == pytest.approx(2 / 7)
    assert result.metrics["ACR"].value == 0.0


def test_rotation_refused_on_a_task_whose_prompt_ignores_the_target(tmp_path: Path) -> None:
    mcq = write_mcq(tmp_path / "q.jsonl", 3)
    config = _mcq_config(tmp_path, mcq, ["constant"], replicates={"scheme": "rotation"})
    config["benchmarks"][0]["args"]["prompt"] = "{question}\n\nAnswer with a letter."
    with pytest.raises(ConfigError, match="does not show rotated options"):
        api.evaluate(config)


# --------------------------------------------------------------------------- ablation


def _png(path: Path) -> Path:
    from omnieval_testtasks import png_bytes

    path.write_bytes(png_bytes(8, 8, 200))
    return path


def test_generic_ablations_drop_exactly_the_named_parts_at_the_server(tmp_path: Path) -> None:
    _png(tmp_path / "pic.png")
    write_test_audio(tmp_path / "tone.wav", seconds=0.5)
    item = {
        "id": "mm",
        "question": "What do you see and hear?",
        "options": ["a tone", "silence"],
        "answer": "A",
        "media": [{"kind": "image", "path": "pic.png"}, {"kind": "audio", "path": "tone.wav"}],
    }
    path = tmp_path / "mm.jsonl"
    path.write_text(json.dumps(item) + "\n")
    conditions = ["default", "no-audio", "no-images", "text-only"]
    with LoopbackServer(LoopbackConfig(reply="A")) as server:
        model = {
            "alias": "served",
            "provider": "openai",
            "init_args": {
                "model": "loopback",
                "base_url": server.url,
                "api_key": "k-test",
                "inputs": ["text", "image", "audio"],
            },
        }
        outcome = api.evaluate(_mcq_config(tmp_path, path, [model], conditions=conditions))
        bodies = list(server.bodies)
    kinds = sorted(_media_kinds(body) for body in bodies)
    assert kinds == sorted([("image_url", "input_audio"), ("image_url",), ("input_audio",), ()])
    rows = {row["condition"]: row for row in samples(outcome.run_dir)}
    assert rows["no-audio"]["request"]["dropped"] == ["audio tone.wav"]
    assert rows["text-only"]["request"]["dropped"] == ["image pic.png", "audio tone.wav"]
    assert "dropped" not in rows["default"]["request"]
    board = (outcome.run_dir / "leaderboard.md").read_text()
    for condition in conditions:
        assert f"| served | {condition} |" in board


def _media_kinds(body: dict[str, Any]) -> tuple[str, ...]:
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return ()
    return tuple(sorted(p["type"] for p in content if p["type"] != "text"))


def test_unknown_ablation_is_a_clear_error(tmp_path: Path) -> None:
    mcq = write_mcq(tmp_path / "q.jsonl", 2)
    with pytest.raises(ConfigError, match="unknown ablation"):
        api.evaluate(_mcq_config(tmp_path, mcq, ["random"], conditions=["default+no-smell"]))


# --------------------------------------------------------------------------- generation


def test_run_generation_settings_reach_the_model(tmp_path: Path) -> None:
    mcq = write_mcq(tmp_path / "q.jsonl", 2)
    with LoopbackServer(LoopbackConfig(reply="A")) as server:
        model = {
            "alias": "served",
            "provider": "openai",
            "init_args": {"model": "loopback", "base_url": server.url, "api_key": "k-test"},
        }
        config = _mcq_config(tmp_path, mcq, [model])
        config["generation"] = {"max_tokens": 77, "temperature": 0.25}
        api.evaluate(config)
        bodies = list(server.bodies)
    assert len(bodies) == 2
    for body in bodies:
        assert body.get("max_tokens", body.get("max_completion_tokens")) == 77
        assert body["temperature"] == 0.25


# --------------------------------------------------------------------------- capabilities


def test_concurrency_never_exceeds_what_the_model_declares(tmp_path: Path) -> None:
    mcq = write_mcq(tmp_path / "q.jsonl", 24)
    seen = tmp_path / "seen.json"
    model = {
        "alias": "single",
        "provider": "test-one-at-a-time",
        "init_args": {"seen_file": str(seen)},
        "concurrency": 8,
    }
    config = _mcq_config(tmp_path, mcq, [model])
    config["plugins"] = ["omnieval_testtasks"]
    api.evaluate(config)
    assert json.loads(seen.read_text())["highest"] == 1


def test_mask_artifacts_are_stored_and_a_text_model_is_unsupported(tmp_path: Path) -> None:
    config = {
        "name": "masks",
        "output": str(tmp_path / "runs"),
        "plugins": ["omnieval_testtasks"],
        "benchmarks": [{"name": "test-masks", "args": {"data_dir": str(tmp_path / "truth")}}],
        "models": [{"alias": "masker", "provider": "test-masker"}, "random", "oracle"],
        "progress": False,
    }
    outcome = api.evaluate(config)
    results = outcome.results
    masker = results.find("masker", "default")
    assert masker.metrics["frames_right"].value == 1.0 and masker.unsupported == 0
    oracle = results.find("oracle", "default")
    assert oracle.metrics["frames_right"].value == 1.0
    text_only = results.find("random", "default")
    assert text_only.unsupported == 6 and text_only.failed == 0
    assert "frames_right" not in text_only.metrics
    assert results.totals.unsupported == 6
    rows = [r for r in samples(outcome.run_dir) if r["model"] == "masker"]
    assert len(rows) == 6
    for row in rows:
        assert len(row["artifacts"]) == 3
        for artifact in row["artifacts"]:
            stored = outcome.run_dir / artifact["path"]
            assert stored.is_file()
            assert artifact["path"].startswith(f"artifacts/{row['key']}/")
            import hashlib

            assert hashlib.sha256(stored.read_bytes()).hexdigest() == artifact["sha256"]
    unsupported = [r for r in samples(outcome.run_dir) if r["model"] == "random"]
    assert {r["outcome"] for r in unsupported} == {"unsupported"}
    assert "unsupported" in (outcome.run_dir / "leaderboard.md").read_text()


# --------------------------------------------------------------------------- odd scores


def test_nan_numpy_and_raising_scores_are_scoring_errors_in_the_denominator(
    tmp_path: Path,
) -> None:
    config = {
        "name": "odd",
        "output": str(tmp_path / "runs"),
        "plugins": ["omnieval_testtasks"],
        "benchmarks": ["test-scores"],
        "models": ["constant"],
        "progress": False,
    }
    outcome = api.evaluate(config)
    result = outcome.results.find("constant", "default")
    assert result.scoring_errors == 3  # nan, inf, raise
    assert result.metrics["accuracy"].n == 6  # scoring errors stay in the denominator
    assert result.metrics["accuracy"].value == pytest.approx(3 / 6)
    with sqlite3.connect(outcome.run_dir / "journal.sqlite") as db:
        scores = [json.loads(s) for (s,) in db.execute("SELECT score FROM trials")]
    assert all(isinstance(v, float) for s in scores for v in s["values"].values())
    errors = sorted(s["error"] for s in scores if s["error"])
    assert len(errors) == 3 and any("ZeroDivisionError" in e for e in errors)
    assert any("nan" in e for e in errors) and any("inf" in e for e in errors)
    read_results(outcome.run_dir / "results.json")  # valid JSON, no NaN tokens
    assert "NaN" not in (outcome.run_dir / "results.json").read_text()


def test_duplicate_sample_ids_and_task_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    item = {"id": "same", "question": "q", "options": ["a", "b"], "answer": "A"}
    path.write_text(json.dumps(item) + "\n" + json.dumps(item) + "\n")
    with pytest.raises(DatasetError, match="duplicate id"):
        api.evaluate(_mcq_config(tmp_path, path, ["random"]))
    mcq = write_mcq(tmp_path / "q.jsonl", 2)
    config = _mcq_config(tmp_path, mcq, ["random"])
    config["benchmarks"].append({"name": "mcq", "args": {"path": str(mcq)}})
    with pytest.raises(ConfigError, match="task names must be unique"):
        api.evaluate(config)


# --------------------------------------------------------------------------- scoring changes


def test_resume_with_changed_scoring_rescores_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mcq = tmp_path / "q.jsonl"
    item = {"id": "a", "question": "q", "options": ["x", "y"], "answer": "A"}
    mcq.write_text(json.dumps(item) + "\n")
    server_reply = "Based on the video, the answer is A"
    with LoopbackServer(LoopbackConfig(reply=server_reply)) as server:
        model = {
            "alias": "served",
            "provider": "openai",
            "init_args": {"model": "loopback", "base_url": server.url, "api_key": "k-test"},
        }
        base = {
            "name": "scoring",
            "output": str(tmp_path / "runs"),
            "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
            "models": [model],
            "progress": False,
        }
        first = api.evaluate(base)
        assert first.results.find("served", "default").metrics["accuracy"].value == 1.0
        calls = len(server.bodies)
        # a different prompt would change keys; a scoring-only setting must not
        from omnieval.benchmarks.mcq import task as mcq_task

        original = mcq_task.MultipleChoice.scoring_fingerprint
        try:
            mcq_task.MultipleChoice.scoring_fingerprint = lambda self: {"rules": "changed"}  # type: ignore[method-assign]
            second = api.evaluate(base)
        finally:
            mcq_task.MultipleChoice.scoring_fingerprint = original  # type: ignore[method-assign]
        assert len(server.bodies) == calls  # nothing re-run
    err = capsys.readouterr().err
    assert "re-scored 1 journaled trials" in err and "scoring settings of mcq/default" in err
    assert second.executed == 0 and second.resumed == 1


# --------------------------------------------------------------------------- old runs


def test_a_run_written_by_the_first_release_opens_resumes_and_rescores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "old"
    shutil.copytree(FIXTURE, copy)
    monkeypatch.chdir(copy)
    run_dir = Path("runs/v1run")
    old = read_results(run_dir / "results.json")
    assert old.find("random", "default").condition == "default"
    old_accuracy = {
        (g.model, g.condition, g.group): g.metrics["accuracy"].value for g in old.groups
    }

    rescored = api.rescore(run_dir)
    assert rescored.results.totals.trials == 32
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        assert db.execute("SELECT value FROM meta WHERE name='schema'").fetchone()[0] == "2"
    resumed = api.evaluate(
        {
            "name": "v1run",
            "output": "runs",
            "benchmarks": [
                {"name": "mcq", "args": {"path": "data/mcq.jsonl"}, "variants": ["default", "t"]}
            ],
            "models": ["random", "constant"],
            "progress": False,
        }
    )
    assert resumed.executed == 0 and resumed.resumed == 32
    new_accuracy = {
        (g.model, g.condition, g.group): g.metrics["accuracy"].value for g in resumed.results.groups
    }
    assert new_accuracy == old_accuracy


def test_audio_parts_key_as_the_first_release_keyed_them() -> None:
    from omnieval.runner.keys import _part_key_json
    from omnieval.types import AudioPart, TimeWindow

    # what omnieval 0.1 hashed for an audio part (its layout defaulted to mono)
    assert _part_key_json(AudioPart(path=Path("a.wav"))) == (
        '{"kind":"audio","window":null,"layout":"mono"}'
    )
    windowed = AudioPart(path=Path("a.wav"), window=TimeWindow(start=1, end=2))
    assert _part_key_json(windowed) == (
        '{"kind":"audio","window":{"start":1.0,"end":2.0},"layout":"mono"}'
    )
    assert '"channel":"left"' in _part_key_json(AudioPart(path=Path("a.wav"), channel="left"))


def test_cli_conditions_and_replicates_flags(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    mcq = write_mcq(tmp_path / "q.jsonl", 6)
    base = ["run", "--benchmark", "mcq", "--data", str(mcq), "--models", "constant"]
    flags = ["--conditions", "default,text-only", "--replicates", "rotation", "--name", "flags"]
    done = omnieval([*base, *flags, "--no-progress"], subprocess_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "AA %" in done.stdout and "ACR %" in done.stdout and "text-only" in done.stdout
    results = read_results(tmp_path / "runs" / "flags" / "results.json")
    assert results.find("constant", "text-only").metrics["AA"].value == pytest.approx(0.25)
    bad = omnieval([*base, "--replicates", "shuffle", "--name", "bad"], subprocess_env, tmp_path)
    assert bad.returncode == 2 and "replicates.scheme" in bad.stderr and "shuffle" in bad.stderr


@pytest.mark.parametrize("scoring", ["default", "vsync"])
def test_oracle_scores_full_marks_on_vsync_in_both_scoring_modes(
    tmp_path: Path, vsync_who_edition: Path, scoring: str
) -> None:
    outcome = api.evaluate(
        {
            "name": f"oracle-{scoring}",
            "output": str(tmp_path / "runs"),
            "limit": 30,
            "benchmarks": [
                {"name": "vsync", "args": {"data_dir": str(vsync_who_edition), "scoring": scoring}}
            ],
            "models": ["oracle", "constant"],
            "progress": False,
            "doctor": False,
        }
    )
    for condition in ("avt", "vt", "at"):
        assert outcome.results.find("oracle", condition).metrics["accuracy"].value == 1.0
        constant = outcome.results.find("constant", condition).metrics["accuracy"].value
        assert constant < 1.0  # the oracle's marks come from the target, not from the task


def test_vsync_parity_follows_the_answer_path_of_the_model(vsync_who_edition: Path) -> None:
    from omnieval.benchmarks.vsync.task import VsyncBenchmark
    from omnieval.types import Response
    from tests.contexts import ctx_for

    task = VsyncBenchmark(data_dir=str(vsync_who_edition), scoring="vsync").tasks()[0]
    sample = next(s for s in task.samples() if "D" in s.target.option_letters())  # type: ignore[union-attr]
    answer = Response(text="Answer:\n\nD")
    api_model = ctx_for(sample, "avt", model={"provider": "openai"})
    local_model = ctx_for(sample, "avt", model={"provider": "vsync-http"})
    assert task.extract(api_model, answer).value == "A"  # upstream's direct path: first char
    assert task.extract(local_model, answer).value == "D"  # its HTTP client's last-line trim
    forced = VsyncBenchmark(
        data_dir=str(vsync_who_edition), scoring="vsync", answer_path="http"
    ).tasks()[0]
    assert forced.extract(api_model, answer).value == "D"
    assert task.scoring_fingerprint() != forced.scoring_fingerprint()


def test_heavy_scoring_runs_off_the_event_loop(tmp_path: Path) -> None:
    import threading

    outcome = api.evaluate(
        {
            "name": "heavy",
            "output": str(tmp_path / "runs"),
            "plugins": ["omnieval_testtasks"],
            "benchmarks": ["test-heavy"],
            "models": ["constant"],
            "progress": False,
        }
    )
    threads = {r.extraction.detail for r in outcome.records if r.extraction is not None}
    assert threads and threading.main_thread().name not in threads
    assert outcome.results.find("constant", "default").metrics["accuracy"].value == 1.0
