"""The runner through the public API: planning, resume, retries, failures, rescore."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from omnieval import api
from omnieval.config import ConfigError
from omnieval.runner.journal import Journal


def _config(tmp_path: Path, mcq: Path, models: list[object], **extra: object) -> dict[str, object]:
    return {
        "name": "t",
        "output": str(tmp_path / "runs"),
        "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
        "models": models,
        "plugins": ["omnieval_testmodels"],
        "progress": False,
        **extra,
    }


def test_run_writes_every_output_and_scores_reference_models(
    tmp_path: Path, mcq_file: Path
) -> None:
    outcome = api.evaluate(_config(tmp_path, mcq_file, ["random", "constant"]))
    run_dir = outcome.run_dir
    for name in (
        "manifest.yaml",
        "journal.sqlite",
        "results.json",
        "samples.jsonl",
        "leaderboard.md",
    ):
        assert (run_dir / name).is_file(), name
    constant = outcome.results.find("constant", "default")
    # the answer of question i is letter (7 i mod 4); constant always says A
    expected = sum(1 for i in range(60) if (i * 7) % 4 == 0) / 60
    assert constant.metrics["accuracy"].value == pytest.approx(expected)
    assert constant.metrics["accuracy"].ci_low < expected < constant.metrics["accuracy"].ci_high
    assert {g.group for g in outcome.results.groups if g.model == "constant"} == {
        "overall",
        "cat0",
        "cat1",
        "cat2",
    }
    assert outcome.results.models["random"] == {"provider": "random", "seed": 0}
    lines = (run_dir / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 120
    row = json.loads(lines[0])
    assert row["extraction_rule"] and row["target"]["kind"] == "choice"
    assert "| constant | default | " in (run_dir / "leaderboard.md").read_text()


def test_rerun_resumes_with_nothing_recomputed(tmp_path: Path, mcq_file: Path) -> None:
    config = _config(tmp_path, mcq_file, ["random"])
    first = api.evaluate(config)
    assert first.executed == 60 and first.resumed == 0
    second = api.evaluate(config)
    assert second.executed == 0 and second.resumed == 60
    assert second.results == first.results
    with sqlite3.connect(first.run_dir / "journal.sqlite") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM trials").fetchone() == (60, 60)


def test_limit_and_new_model_only_run_the_new_trials(tmp_path: Path, mcq_file: Path) -> None:
    api.evaluate(_config(tmp_path, mcq_file, ["random"], limit=10))
    outcome = api.evaluate(_config(tmp_path, mcq_file, ["random", "constant"], limit=20))
    assert outcome.resumed == 10 and outcome.executed == 30
    assert outcome.results.totals.trials == 40


def _flaky(failures: int, max_retries: int) -> dict[str, object]:
    """`test-flaky`: every request fails its first `failures` attempts (transient errors)."""
    return {
        "alias": "flaky",
        "provider": "test-flaky",
        "init_args": {"failures": failures},
        "max_retries": max_retries,
        "retry_base_s": 0.001,
    }


def test_transient_errors_are_retried_and_counted(tmp_path: Path, mcq_file: Path) -> None:
    outcome = api.evaluate(_config(tmp_path, mcq_file, [_flaky(2, 3)]))
    result = outcome.results.find("flaky", "default")
    assert result.failed == 0 and result.trials == 60
    assert outcome.results.totals.retries == 120
    assert all(r.response.attempts == 3 for r in outcome.records)


def test_exhausted_retries_are_recorded_as_failed_not_wrong(tmp_path: Path, mcq_file: Path) -> None:
    outcome = api.evaluate(_config(tmp_path, mcq_file, [_flaky(5, 1)]))
    result = outcome.results.find("flaky", "default")
    assert result.failed == 60 and "accuracy" not in result.metrics
    assert all("gave up after 2 attempts" in (r.response.error or "") for r in outcome.records)
    board = (outcome.run_dir / "leaderboard.md").read_text()
    assert "60 failed (100.0%)" in board and "## Failed trials" in board


def test_failed_trials_are_retried_on_rerun_unless_kept(tmp_path: Path, mcq_file: Path) -> None:
    broken = {"alias": "m", "provider": "test-broken", "init_args": {"refuse": "number 1"}}
    first = api.evaluate(_config(tmp_path, mcq_file, [broken]))
    failed = first.results.find("m", "default").failed
    assert failed == 11  # "number 1", "number 10".."number 19"
    kept = api.evaluate(_config(tmp_path, mcq_file, [broken], retry_failed=False))
    assert kept.executed == 0
    again = api.evaluate(_config(tmp_path, mcq_file, [broken]))
    assert again.executed == failed
    with sqlite3.connect(first.run_dir / "journal.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 60


def test_timeouts_fail_the_trial_with_a_clear_error(tmp_path: Path, mcq_file: Path) -> None:
    sleepy = {
        "alias": "s",
        "provider": "test-sleepy",
        "init_args": {"delay_s": 0.5},
        "timeout_s": 0.01,
        "max_retries": 1,
        "retry_base_s": 0.001,
        "concurrency": 30,
    }
    outcome = api.evaluate(_config(tmp_path, mcq_file, [sleepy], limit=5))
    assert outcome.results.totals.failed == 5
    assert "timed out after 0.01 s" in (outcome.records[0].response.error or "")


def test_rescore_reextracts_without_inference(tmp_path: Path, mcq_file: Path) -> None:
    outcome = api.evaluate(_config(tmp_path, mcq_file, ["constant"]))
    db_path = outcome.run_dir / "journal.sqlite"
    with sqlite3.connect(db_path) as db:  # damage the stored scores: rescore must restore them
        db.execute("UPDATE trials SET score = NULL, extraction = NULL")
    again = api.rescore(outcome.run_dir)
    assert again.results == outcome.results
    journal = Journal(db_path)
    assert journal.count() == 60
    journal.close()


def test_unknown_model_and_variant_are_clear_errors(tmp_path: Path, mcq_file: Path) -> None:
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        api.evaluate(_config(tmp_path, mcq_file, ["nope"]))
    config = _config(tmp_path, mcq_file, ["random"])
    config["benchmarks"] = [{"name": "mcq", "args": {"path": str(mcq_file)}, "variants": ["avt"]}]
    with pytest.raises(ConfigError, match="no condition"):
        api.evaluate(config)
