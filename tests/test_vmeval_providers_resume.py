"""Acceptance: a vmeval run against a paid-API fake that counts submissions is SIGKILLed after
its jobs were submitted; the rerun polls the journaled jobs and submits nothing twice.

Real components throughout: a generated VMEvalKit edition (vmeval's generator), the
`openai-video` provider and its SDK, the OpenAI videos wire fake on 127.0.0.1 (serving each
task's ground-truth video once released, so the verifier scores the resumed run), and
`omnieval run` as a subprocess killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

from omnieval import api
from omnieval.benchmarks.vmeval.layout import discover
from omnieval.benchmarks.vmeval.synth import generate_vmeval
from tests.video_fakes import VideoAPIFake

DOMAINS = ["maze", "sudoku", "chess"]


def rows(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_a_killed_vmeval_run_polls_its_paid_jobs_and_submits_nothing_twice(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    questions = generate_vmeval(tmp_path / "questions", n=1, seed=2, domains=DOMAINS)
    found = discover(questions).all()
    truth = {q.prompt: Path(q.ground_truth_video).read_bytes() for q in found}
    assert len(truth) == len(DOMAINS)
    repo = Path(__file__).resolve().parent.parent
    env = dict(subprocess_env)
    env["PYTHONPATH"] = os.pathsep.join([str(repo), env.get("PYTHONPATH", "")])
    env["SORA_TEST_KEY"] = "sk-never-in-the-run-dir"
    with VideoAPIFake(job_s=None, videos=truth) as server:  # jobs run until released
        config = tmp_path / "run.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "name": "paid",
                    "output": str(tmp_path / "runs"),
                    "progress": False,
                    "preflight": False,
                    "benchmarks": [{"name": "vmeval", "args": {"data_dir": str(questions)}}],
                    "models": [
                        {
                            "alias": "sora",
                            "provider": "openai-video",
                            "init_args": {
                                "model": "sora-2",
                                "base_url": server.url,
                                "api_key": "${SORA_TEST_KEY}",
                                "poll_interval_s": 0.1,
                                "max_poll_interval_s": 0.2,
                            },
                            "concurrency": 3,
                        }
                    ],
                }
            )
        )
        command = [sys.executable, "-m", "omnieval.cli", "run", "--config", str(config)]
        journal = tmp_path / "runs" / "paid" / "journal.sqlite"
        process = subprocess.Popen(
            [*command, "--no-progress"], env=env, cwd=repo,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if rows(journal, "pending_jobs") >= len(DOMAINS):
                break
            time.sleep(0.02)
        alive = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert alive, process.stderr.read().decode() if process.stderr else ""
        assert rows(journal, "pending_jobs") == len(DOMAINS) and rows(journal, "trials") == 0
        assert sorted(server.submits.values()) == [1] * len(DOMAINS)
        polled_before = sum(server.polls.values())

        server.release()
        resumed = subprocess.run(
            [*command, "--no-progress"], env=env, cwd=repo, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        assert sorted(server.submits.values()) == [1] * len(DOMAINS)  # nothing paid twice
        assert sum(server.polls.values()) > polled_before  # the journaled jobs were polled
        assert sum(server.downloads.values()) == len(DOMAINS)
    assert rows(journal, "pending_jobs") == 0
    outcome = api.rescore(tmp_path / "runs" / "paid")
    assert len(outcome.records) == len(DOMAINS)
    for record in outcome.records:
        assert record.response.status.value == "ok", record.response.error
        [video] = record.response.artifacts
        assert (journal.parent / str(video.path)).is_file()
        assert video.meta["provider"] == "openai-video" and video.meta["job_id"]
        assert record.score is not None and record.score.values["solved"] == 1.0, record
    for path in journal.parent.rglob("*"):
        if path.is_file():
            assert b"sk-never-in-the-run-dir" not in path.read_bytes(), path
