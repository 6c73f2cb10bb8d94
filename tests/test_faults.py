"""Fault injection on real `omnieval run` subprocesses: SIGKILL at 20 seeded random moments (fault
points inside the runner, omnieval.runner.faults), a transaction torn by a kill with its WAL cut
mid-frame, and a disk that fills up. Each time the resumed run must equal an uninterrupted one,
with one journal row per trial."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from omnieval.runner.faults import ENV
from tests.cli_runs import sleepy_run_config
from tests.conftest import write_mcq

N_QUESTIONS = 200
SEED = 20261130
#: point -> the range its occurrence count is drawn from (each run reaches these early)
KILL_RANGES = {
    "trial.request": (1, 12),
    "journal.commit": (1, 6),
    "journal.committed": (1, 6),
    "outputs.write": (1, 1),
    "outputs.written": (1, 1),
}
#: points reached only once every trial is journaled: their kills are made last
AFTER_TRIALS = ("outputs.write", "outputs.written")
REPO = Path(__file__).resolve().parent.parent


def write_config(path: Path, mcq: Path, output: Path) -> Path:
    return sleepy_run_config(path, "faults", mcq, output, delay_s=0.004)


def run(
    config: Path, env: dict[str, str], kill_at: str | None = None, **popen: Any
) -> subprocess.CompletedProcess[str]:
    env = dict(env)
    if kill_at:
        env[ENV] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "omnieval.cli", "run", "--config", str(config), "--no-progress"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        **popen,
    )


def journal_keys(run_dir: Path) -> list[str]:
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        return [row[0] for row in db.execute("SELECT key FROM trials")]


def comparable(results_path: Path) -> dict[str, Any]:
    data = json.loads(results_path.read_text())
    data.pop("run", None)
    return data


@pytest.fixture
def clean_results(tmp_path: Path, subprocess_env: dict[str, str]) -> tuple[Path, dict[str, Any]]:
    mcq = write_mcq(tmp_path / "mcq.jsonl", N_QUESTIONS)
    done = run(write_config(tmp_path / "clean.yaml", mcq, tmp_path / "clean"), subprocess_env)
    assert done.returncode == 0, done.stderr[-2000:]
    return mcq, comparable(tmp_path / "clean" / "faults" / "results.json")


def test_sigkill_at_20_random_moments_then_resume_equals_an_uninterrupted_run(
    tmp_path: Path,
    subprocess_env: dict[str, str],
    clean_results: tuple[Path, dict[str, Any]],
    record_property: Any,
) -> None:
    mcq, expected = clean_results
    config = write_config(tmp_path / "crashy.yaml", mcq, tmp_path / "crashy")
    run_dir = tmp_path / "crashy" / "faults"
    rng = random.Random(SEED)
    moments = []
    for _ in range(20):
        point = rng.choice(sorted(KILL_RANGES))
        moments.append(f"{point}:{rng.randint(*KILL_RANGES[point])}")
    moments.sort(key=lambda moment: moment.partition(":")[0] in AFTER_TRIALS)  # stable
    used: list[str] = []
    for kill_at in moments:
        done = run(config, subprocess_env, kill_at)
        rows = len(journal_keys(run_dir)) if (run_dir / "journal.sqlite").exists() else 0
        outcome = "killed" if done.returncode == -signal.SIGKILL else f"exit {done.returncode}"
        used.append(f"{kill_at} -> {outcome}, {rows} rows")
        assert done.returncode in (0, -signal.SIGKILL), done.stderr[-2000:]
    report = "; ".join(used)
    print(f"kill points (seed {SEED}): {report}")
    record_property("kill_points", report)
    assert sum("killed" in u for u in used) >= 18, report
    final = run(config, subprocess_env)
    assert final.returncode == 0, final.stderr[-2000:]
    keys = journal_keys(run_dir)
    assert len(keys) == len(set(keys)) == 2 * N_QUESTIONS, report
    assert comparable(run_dir / "results.json") == expected, report


def test_a_torn_wal_left_by_a_kill_mid_transaction_opens_and_resumes(
    tmp_path: Path, subprocess_env: dict[str, str], clean_results: tuple[Path, dict[str, Any]]
) -> None:
    mcq, expected = clean_results
    config = write_config(tmp_path / "torn.yaml", mcq, tmp_path / "torn")
    run_dir = tmp_path / "torn" / "faults"
    done = run(config, subprocess_env, "journal.commit:4")
    assert done.returncode == -signal.SIGKILL
    wal = run_dir / "journal.sqlite-wal"
    assert wal.stat().st_size > 0, "the kill left no write-ahead log"
    with wal.open("r+b") as handle:  # cut the log inside its last frame, as a torn write does
        handle.truncate(wal.stat().st_size - 1000)
    final = run(config, subprocess_env)
    assert final.returncode == 0, final.stderr[-2000:]
    keys = journal_keys(run_dir)
    assert len(keys) == len(set(keys)) == 2 * N_QUESTIONS
    assert comparable(run_dir / "results.json") == expected


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_full_disk_stops_the_run_clearly_and_a_rerun_completes(
    tmp_path: Path, subprocess_env: dict[str, str], clean_results: tuple[Path, dict[str, Any]]
) -> None:
    mcq, expected = clean_results
    config = write_config(tmp_path / "full.yaml", mcq, tmp_path / "full")
    run_dir = tmp_path / "full" / "faults"
    done = run(config, subprocess_env, preexec_fn=lambda: _limit_file_size(400 * 1024))
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert "disk" in done.stderr.lower() and str(run_dir) in done.stderr, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    before = len(journal_keys(run_dir))
    assert before > 0, "the disk filled before any trial was journaled"
    final = run(config, subprocess_env)  # space freed: the limit is gone
    assert final.returncode == 0, final.stderr[-2000:]
    keys = journal_keys(run_dir)
    assert len(keys) == len(set(keys)) == 2 * N_QUESTIONS > before
    assert comparable(run_dir / "results.json") == expected


def test_an_unknown_fault_point_is_refused(subprocess_env: dict[str, str]) -> None:
    env = dict(subprocess_env, **{ENV: "nowhere:1"})
    done = subprocess.run(
        [sys.executable, "-c", "import omnieval.runner.faults"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "expected <point>:<n>" in done.stderr
    assert os.environ.get(ENV) is None
