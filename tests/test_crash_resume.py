"""SIGKILL a real `omnieval run` at several points; resuming loses and duplicates nothing.

The kill points are counted in model requests, not in seconds: the `test-sleepy` model SIGKILLs
its own process when it starts its n-th request of that process (`crash_after`), so each crashed
run dies mid-way however fast or loaded the machine is (a run can never finish first)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.cli_runs import sleepy_run_config
from tests.conftest import write_mcq
from tests.journal_probe import journal_rows

N_QUESTIONS = 300


def _write_config(path: Path, mcq: Path, output: Path, crash_after: int = 0) -> Path:
    return sleepy_run_config(path, "crash", mcq, output, delay_s=0.01, crash_after=crash_after)


def _command(config: Path) -> list[str]:
    return [sys.executable, "-m", "omnieval.cli", "run", "--config", str(config), "--no-progress"]


def _run_until_it_kills_itself(config: Path, run_dir: Path, env: dict[str, str], cwd: Path) -> int:
    """Run until the model SIGKILLs the process at its crash point; return the journal rows."""
    process = subprocess.run(
        _command(config), env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert process.returncode == -signal.SIGKILL, (process.returncode, process.stderr[-2000:])
    return journal_rows(run_dir / "journal.sqlite")


def test_sigkill_at_several_points_then_resume_equals_uninterrupted_run(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", N_QUESTIONS)
    total = 2 * N_QUESTIONS
    repo = Path(__file__).resolve().parent.parent

    clean = _write_config(tmp_path / "clean.yaml", mcq, tmp_path / "clean")
    subprocess.run(
        _command(clean), env=subprocess_env, cwd=repo, check=True, timeout=300, capture_output=True
    )

    run_dir = tmp_path / "crashed" / "crash"
    seen = []
    # Crash when the sleepy model starts its 1st, 20th, 60th, 100th request of that process.
    # Each resumed run only asks for what is missing, so together at most 177 of its 300 trials
    # are answered: every run dies mid-way.
    for point in (1, 20, 60, 100):
        config = _write_config(
            tmp_path / f"crash-{point}.yaml", mcq, tmp_path / "crashed", crash_after=point
        )
        seen.append(_run_until_it_kills_itself(config, run_dir, subprocess_env, repo))
    assert seen == sorted(seen) and 0 < seen[-1] < total, seen  # killed mid-run each time
    assert seen[-1] > seen[0]  # the later crashes came after more work was journaled
    assert not (run_dir / "results.json").exists()
    crashed = _write_config(tmp_path / "crashed.yaml", mcq, tmp_path / "crashed")

    final = subprocess.run(
        _command(crashed), env=subprocess_env, cwd=repo, timeout=300, capture_output=True, text=True
    )
    assert final.returncode == 0, final.stderr
    assert f"of {total} trials done" in final.stderr

    clean_results = json.loads((tmp_path / "clean" / "crash" / "results.json").read_text())
    crashed_results = json.loads((run_dir / "results.json").read_text())
    assert crashed_results == clean_results
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        count, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM trials").fetchone()
        planned = db.execute("SELECT COUNT(*) FROM plan").fetchone()[0]
    assert count == distinct == planned == total
    clean_rows = sorted((tmp_path / "clean" / "crash" / "samples.jsonl").read_text().splitlines())
    crashed_rows = sorted((run_dir / "samples.jsonl").read_text().splitlines())
    assert _without_timing(crashed_rows) == _without_timing(clean_rows)


def _without_timing(rows: list[str]) -> list[dict[str, object]]:
    return [{k: v for k, v in json.loads(row).items() if k != "latency_s"} for row in rows]
