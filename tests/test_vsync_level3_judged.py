"""Level 3 judge trials: a run SIGKILLed mid-judging and rerun asks each judge question once
(only the one call in flight at the kill may be asked again); `rescore` asks none."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

from omnieval import api
from omnieval.benchmarks.vsync.synth_when import VsyncWhenConfig, generate_vsync_when
from omnieval.report.results import RunResults, read_results
from tests.journal_probe import kill_once_journaled

N = 15  # 5 YES items x 3 conditions = 15 how-trials, one judge call each


def _calls(path: Path) -> Counter[str]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return Counter(line for line in text.splitlines() if line)


def test_killed_level3_run_judges_each_answer_once_and_rescore_judges_none(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    edition = tmp_path / "edition"
    generate_vsync_when(edition, N, seed=3, config=VsyncWhenConfig(speech="formant"))
    calls = tmp_path / "judge-calls.txt"
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "howrun",
                "output": str(tmp_path / "runs"),
                "progress": False,
                "benchmarks": [
                    {
                        "name": "vsync-level2",
                        "args": {
                            "data_dir": str(edition),
                            "levels": ["how"],
                            "cache_dir": str(tmp_path / "cache"),
                        },
                        "variants": ["avt", "vt", "at"],
                    }
                ],
                "models": ["vsync-solver"],
                "judges": {
                    "judge": {
                        "provider": "vsync-judge",
                        "init_args": {"calls_file": str(calls), "delay_s": 0.2},
                        "concurrency": 1,
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "omnieval.cli", "run", "--config", str(config)]
    command.append("--no-progress")
    journal = tmp_path / "runs" / "howrun" / "journal.sqlite"
    kill_once_journaled(command, journal, "judge_trials", 3, env=subprocess_env)
    before = sum(_calls(calls).values())
    assert 3 <= before < 3 * (N // 3), before  # killed mid-way through the judging

    rerun = subprocess.run(command, env=subprocess_env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    after = _calls(calls)
    # each of the 5 YES items is judged once per condition; one call may have been in flight
    assert len(after) == N // 3 and sum(after.values()) in (N, N + 1), after
    with sqlite3.connect(journal) as db:
        per_parent = dict(db.execute("SELECT parent_key, COUNT(*) FROM judge_trials GROUP BY 1"))
        ok = db.execute("SELECT COUNT(*) FROM judge_trials WHERE status='ok'").fetchone()[0]
    assert len(per_parent) == N == ok and set(per_parent.values()) == {1}

    ran = _level3(read_results(journal.parent / "results.json"))  # written by `omnieval run`

    outcome = api.rescore(journal.parent)
    assert _calls(calls) == after  # rescore: no judge call
    for condition in ("avt", "vt", "at"):
        result = outcome.results.find("vsync-solver", condition, "vsync/how")
        assert result.metrics["quality"].n == N // 3 and result.scoring_errors == 0
        # the Level 3 aggregates are native results; without the when level only those that
        # need no join exist (QEns, Cov+ and QEns_joint need the when-trials)
        assert set(ran[condition]) == {"QGold", "zeros"}
        assert ran[condition]["QGold"] == result.metrics["quality"].value  # nothing failed
    assert _level3(read_results(journal.parent / "results.json")) == ran  # rescore: the same

    # the parity number is a scoring setting: `rescore --set` adds it (it needs the when level,
    # absent here, so it is accepted and reported nowhere), still without a judge call
    parity = api.rescore(journal.parent, settings=["vsync-level2.args.parity_positive_only=true"])
    assert _calls(calls) == after
    assert parity.results.tasks["vsync/how"].scoring["parity_positive_only"] is True
    assert _level3(read_results(journal.parent / "results.json")) == ran


def _level3(results: RunResults) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for node in results.nodes:
        if node.mode == "joint":
            found.setdefault(node.condition, {})[node.node] = node.value.value
    return found
