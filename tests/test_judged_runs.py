"""Judge calls are journaled trials: a killed run resumes without paying twice, rescore calls
no judge, a new judge prompt version re-judges."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from omnieval import api
from tests.journal_probe import journal_rows, kill_once_journaled

N = 40  # odd-numbered answers are spelled out and need the judge: 20 parents


def _config(tmp: Path, calls: Path, prompt_version: str = "1") -> Path:
    path = tmp / f"judged-{prompt_version}.yaml"
    config = {
        "name": "judged",
        "output": str(tmp / "runs"),
        "plugins": ["omnieval_testtasks"],
        "progress": False,
        "benchmarks": [{"name": "test-refine", "args": {"n": N, "prompt_version": prompt_version}}],
        "models": [
            {
                "alias": "speller",
                "provider": "test-speller",
                "init_args": {"delay_s": 0.03},
                "concurrency": 2,
            }
        ],
        "judges": {
            "refine": {
                "provider": "test-judge",
                "init_args": {"calls_file": str(calls)},
                "concurrency": 2,
            }
        },
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _command(config: Path) -> list[str]:
    return [sys.executable, "-m", "omnieval.cli", "run", "--config", str(config), "--no-progress"]


def _calls_per_parent(calls: Path) -> Counter[str]:
    text = calls.read_text(encoding="utf-8") if calls.exists() else ""
    return Counter(re.findall(r"For (r\d+) ", text))


def test_killed_judged_run_resumes_rescore_reuses_and_new_prompt_rejudges(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    calls = tmp_path / "judge-calls.txt"
    config = _config(tmp_path, calls)
    journal = tmp_path / "runs" / "judged" / "journal.sqlite"
    kill_once_journaled(_command(config), journal, "judge_trials", 5, wait_s=60, env=subprocess_env)
    before = _calls_per_parent(calls)
    assert 5 <= sum(before.values()) < N // 2, before  # killed mid-way through the judging

    final = subprocess.run(
        _command(config), env=subprocess_env, capture_output=True, text=True, timeout=120
    )
    assert final.returncode == 0, final.stderr
    after = _calls_per_parent(calls)
    needing = {f"r{i:03d}" for i in range(N) if i % 2}
    assert set(after) == needing  # every parent that needed the judge got it, no other
    twice = [parent for parent, count in after.items() if count > 1]
    # only a call in flight at the kill (answered, never journaled) may be asked again
    assert len(twice) <= 2 and all(after[p] == 2 for p in twice), after
    with sqlite3.connect(journal) as db:
        judged = dict(db.execute("SELECT parent_key, COUNT(*) FROM judge_trials GROUP BY 1"))
        ok = db.execute("SELECT COUNT(*) FROM judge_trials WHERE status='ok'").fetchone()[0]
    assert len(judged) == len(needing) == ok and set(judged.values()) == {1}

    outcome = api.rescore(journal.parent)
    assert _calls_per_parent(calls) == after  # rescore: zero judge calls
    result = outcome.results.find("speller", "default")
    assert result.metrics["accuracy"].value == 1.0 and result.scoring_errors == 0

    rejudge = subprocess.run(
        _command(_config(tmp_path, calls, prompt_version="2")),
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rejudge.returncode == 0, rejudge.stderr
    assert "re-scored" in rejudge.stderr
    final_counts = _calls_per_parent(calls)
    assert all(final_counts[p] == after[p] + 1 for p in needing)  # each parent judged anew


def test_a_judge_without_configuration_is_a_scoring_error_not_a_guess(tmp_path: Path) -> None:
    outcome = api.evaluate(
        {
            "name": "nojudge",
            "output": str(tmp_path / "runs"),
            "plugins": ["omnieval_testtasks"],
            "progress": False,
            "benchmarks": [{"name": "test-refine", "args": {"n": 8}}],
            "models": [{"alias": "speller", "provider": "test-speller"}],
        }
    )
    result = outcome.results.find("speller", "default")
    assert result.scoring_errors == 4  # the spelled-out half
    assert result.metrics["accuracy"].n == 8 and result.metrics["accuracy"].value == 0.5
    errors = [r.score.error for r in outcome.records if r.score is not None and r.score.error]
    assert all("judges:" in e and "refine" in e for e in errors)


def _mask_config(tmp: Path, out: str) -> Path:
    path = tmp / f"{out}.yaml"
    config = {
        "name": "masks",
        "output": str(tmp / out),
        "plugins": ["omnieval_testtasks"],
        "progress": False,
        "benchmarks": [{"name": "test-masks", "args": {"data_dir": str(tmp / "truth"), "n": 30}}],
        "models": [
            {
                "alias": "masker",
                "provider": "test-masker",
                "init_args": {"delay_s": 0.03},
                "concurrency": 2,
            },
            "random",
        ],
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _artifact_files(run_dir: Path) -> dict[str, bytes]:
    root = run_dir / "artifacts"
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_artifacts_survive_sigkill_and_resume_byte_identically(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    clean = _mask_config(tmp_path, "clean")
    done = subprocess.run(
        _command(clean), env=subprocess_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr

    crashed = _mask_config(tmp_path, "crashed")
    journal = tmp_path / "crashed" / "masks" / "journal.sqlite"
    # 40 rows: 30 unsupported (instant) + some masker trials
    kill_once_journaled(_command(crashed), journal, "trials", 40, wait_s=60, env=subprocess_env)
    assert 30 < journal_rows(journal, "trials") < 60
    resumed = subprocess.run(
        _command(crashed), env=subprocess_env, capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr

    clean_dir, crashed_dir = tmp_path / "clean" / "masks", tmp_path / "crashed" / "masks"
    assert _artifact_files(crashed_dir) == _artifact_files(clean_dir)
    assert len(_artifact_files(clean_dir)) == 30 * 3
    results = api.rescore(crashed_dir).results
    assert results.find("masker", "default").metrics["frames_right"].value == 1.0
    assert results.find("random", "default").unsupported == 30


def test_rescore_takes_judge_secrets_from_the_environment_never_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omnieval.runner.services import JudgeSource

    secret = "judge-secret-0123456789"
    monkeypatch.setenv("TEST_JUDGE_KEY", secret)
    calls = tmp_path / "calls.txt"
    models = tmp_path / "models.yaml"
    models.write_text(
        yaml.safe_dump(
            {
                "models": {
                    "my-judge": {
                        "provider": "test-judge",
                        "init_args": {"calls_file": str(calls), "api_key": "${TEST_JUDGE_KEY}"},
                    }
                }
            }
        )
    )
    config = {
        "name": "secret-judge",
        "output": str(tmp_path / "runs"),
        "plugins": ["omnieval_testtasks"],
        "progress": False,
        "models_file": str(models),
        "benchmarks": [{"name": "test-refine", "args": {"n": 8}}],
        "models": [{"alias": "speller", "provider": "test-speller"}],
        "judges": {"refine": "my-judge"},
    }
    first = api.evaluate(config)
    assert first.results.find("speller", "default").metrics["accuracy"].value == 1.0
    run_dir = first.run_dir
    assert secret not in (run_dir / "manifest.yaml").read_text()
    with sqlite3.connect(run_dir / "journal.sqlite") as db:  # lose one judge answer
        db.execute("DELETE FROM judge_trials WHERE key = (SELECT MIN(key) FROM judge_trials)")
    before = sum(_calls_per_parent(calls).values())

    offline = api.rescore(run_dir)  # no credentials: journaled answers only
    assert offline.results.find("speller", "default").scoring_errors == 1
    assert sum(_calls_per_parent(calls).values()) == before

    online = api.rescore(run_dir, judges_from=JudgeSource(models_file=models))
    assert online.results.find("speller", "default").scoring_errors == 0
    assert sum(_calls_per_parent(calls).values()) == before + 1  # only the missing one
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_a_killed_run_polls_its_journaled_provider_jobs_instead_of_paying_twice(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    from tests.jobserver import JobServer

    repo = Path(__file__).resolve().parent.parent
    env = dict(subprocess_env)
    env["PYTHONPATH"] = os.pathsep.join([str(repo), env.get("PYTHONPATH", "")])
    with JobServer(job_s=None) as server:  # jobs run until the test releases them
        config = tmp_path / "jobs.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "name": "jobs",
                    "output": str(tmp_path / "runs"),
                    "plugins": ["omnieval_testjobs"],
                    "progress": False,
                    "preflight": False,
                    "benchmarks": [{"name": "test-video", "args": {"n": 3}}],
                    "models": [
                        {
                            "alias": "video",
                            "provider": "test-toy-jobs",
                            "init_args": {"base_url": server.url},
                            "concurrency": 3,
                        }
                    ],
                }
            )
        )
        journal = tmp_path / "runs" / "jobs" / "journal.sqlite"
        kill_once_journaled(
            _command(config), journal, "pending_jobs", 3, wait_s=60, poll_s=0.01, env=env, cwd=repo
        )
        assert journal_rows(journal, "pending_jobs") == 3 and journal_rows(journal, "trials") == 0
        assert sum(server.submits.values()) == 3
        server.release()
        resumed = subprocess.run(
            _command(config), env=env, cwd=repo, capture_output=True, text=True, timeout=120
        )
        assert resumed.returncode == 0, resumed.stderr
        assert sorted(server.submits.values()) == [1, 1, 1]  # polled, never submitted again
    outcome = api.rescore(tmp_path / "runs" / "jobs")
    assert outcome.results.find("video", "default").metrics["right_video"].value == 1.0
    assert journal_rows(journal, "pending_jobs") == 0
    for record in outcome.records:
        [video] = record.response.artifacts
        assert (journal.parent / str(video.path)).is_file()
