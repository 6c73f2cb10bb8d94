"""Provider jobs: the job id is durable before polling; a rerun polls, never resubmits."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from omnieval.runner.jobs import PendingJobs, generate_with_job
from omnieval.runner.keys import canonical_json
from omnieval.types import Request, Response, TextPart, TrialStatus
from tests.jobserver import JobServer, ToyJobsModel, video_bytes


def prompt(text: str) -> Request:
    return Request(parts=(TextPart(text=text),))


def run_job(
    url: str,
    db: Path,
    text: str,
    key: str = "trial-1",
    timeout_s: float | None = 3600.0,
    max_poll_errors: int = 10,
) -> Response:
    async def main() -> Response:
        model = ToyJobsModel(url)
        try:
            return await generate_with_job(
                model,
                prompt(text),
                key,
                PendingJobs.open(db),
                poll_interval_s=0.02,
                timeout_s=timeout_s,
                max_poll_errors=max_poll_errors,
            )
        finally:
            await model.close()

    return asyncio.run(main())


def test_pending_jobs_need_an_autocommit_connection(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="autocommit"):
        PendingJobs(sqlite3.connect(tmp_path / "j.sqlite"))


def test_pending_jobs_put_is_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    jobs = PendingJobs.open(db)
    jobs.put("k1", "job-7", canonical_json({"provider": "x"}))
    other = PendingJobs.open(db)
    found = other.get("k1")
    assert found is not None and found.job_id == "job-7" and found.submitted_at > 0
    jobs.clear("k1")
    assert other.get("k1") is None and other.count() == 0


def test_job_runs_to_completion_and_clears_its_entry(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with JobServer(job_s=0.15) as server:
        response = run_job(server.url, db, "a red ball bouncing")
        assert server.submits == {"a red ball bouncing": 1}
        assert server.polls["job-1"] >= 2, "the job was running at first"
    assert response.status is TrialStatus.OK and response.text == "a red ball bouncing"
    assert response.artifacts[0].data == video_bytes("a red ball bouncing")
    assert response.latency_s >= 0.15
    assert PendingJobs.open(db).count() == 0


def test_a_journaled_job_is_polled_not_resubmitted(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with JobServer(job_s=0.0) as server:

        async def submit_only() -> str:
            model = ToyJobsModel(server.url)
            try:
                return await model.submit(prompt("a cat"))
            finally:
                await model.close()

        job_id = asyncio.run(submit_only())
        fingerprint = canonical_json(ToyJobsModel(server.url).fingerprint())
        PendingJobs.open(db).put("trial-1", job_id, fingerprint)
        response = run_job(server.url, db, "a cat")
        assert response.text == "a cat"
        assert server.submits == {"a cat": 1} and server.polls[job_id] == 1


def test_transient_poll_errors_are_retried(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with JobServer(job_s=0.0, poll_script=[503, 502, 503]) as server:
        response = run_job(server.url, db, "waves")
        assert response.status is TrialStatus.OK
        assert server.polls["job-1"] == 4 and server.submits["waves"] == 1


def test_persistent_transient_errors_fail_but_keep_the_job(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with JobServer(job_s=0.0, poll_script=[503] * 3) as server:
        failed = run_job(server.url, db, "waves", max_poll_errors=3)
        assert failed.failed and "job-1" in (failed.error or "") and "503" in (failed.error or "")
        kept = PendingJobs.open(db).get("trial-1")
        assert kept is not None and kept.job_id == "job-1"
        ok = run_job(server.url, db, "waves")  # the next attempt polls the same job
        assert ok.status is TrialStatus.OK and server.submits["waves"] == 1
    assert PendingJobs.open(db).count() == 0


def test_permanent_poll_error_and_failed_job_name_the_job_id(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with JobServer(job_s=0.0, poll_script=[404]) as server:
        refused = run_job(server.url, db, "a dog")
        assert refused.failed and "job job-1" in (refused.error or "")
        assert "PermanentModelError" in (refused.error or "")
        assert PendingJobs.open(db).count() == 0
        failed = run_job(server.url, db, "please fail", key="trial-2")
        assert failed.failed and failed.error == "job job-2: content policy"
        assert PendingJobs.open(db).count() == 0


def test_timeout_is_a_failed_response_naming_the_job(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with JobServer(job_s=None) as server:  # never finishes
        started = time.monotonic()
        response = run_job(server.url, db, "slow", timeout_s=0.3)
        elapsed = time.monotonic() - started
        assert response.failed and "job job-1 did not finish within 0.3 s" in (response.error or "")
        assert 0.25 <= elapsed < 3.0
        assert PendingJobs.open(db).count() == 0


def test_submit_refused_is_a_failed_response(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    response = run_job("http://127.0.0.1:9/v1", db, "x", key="k")  # nothing listens on port 9
    assert response.failed and "submit" in (response.error or "")
    assert PendingJobs.open(db).count() == 0


_JOB_RUN = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from omnieval.runner.jobs import PendingJobs, generate_with_job
    from omnieval.types import Request, TextPart
    from tests.jobserver import ToyJobsModel

    db, url = Path(sys.argv[1]), sys.argv[2]

    async def main() -> None:
        model = ToyJobsModel(url)
        jobs = PendingJobs.open(db)
        requests = {f"trial-{i}": f"scene {i}" for i in range(3)}
        responses = await asyncio.gather(
            *(
                generate_with_job(model, Request(parts=(TextPart(text=t),)), k, jobs, 0.02)
                for k, t in requests.items()
            )
        )
        await model.close()
        for response in responses:
            print("DONE", response.status.value, response.text, flush=True)

    asyncio.run(main())
    """
)


def test_sigkill_between_submit_and_completion_then_rerun_submits_once(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    script = tmp_path / "job_run.py"
    script.write_text(_JOB_RUN)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with JobServer(job_s=None) as server:  # jobs run until released
        proc = subprocess.Popen([sys.executable, str(script), str(db), server.url], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as conn:  # what the killed process made durable
                try:
                    n = conn.execute("SELECT COUNT(*) FROM pending_jobs").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0
            if n == 3 and sum(server.polls.values()) >= 3:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        assert sum(server.submits.values()) == 3
        journaled = {j.trial_key: j.job_id for j in PendingJobs.open(db).all()}
        assert sorted(journaled) == ["trial-0", "trial-1", "trial-2"]
        polls_before = dict(server.polls)

        server.release()
        rerun = subprocess.run(
            [sys.executable, str(script), str(db), server.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert rerun.returncode == 0, rerun.stderr
        assert sorted(rerun.stdout.splitlines()) == [f"DONE ok scene {i}" for i in range(3)]
        assert server.submits == {"scene 0": 1, "scene 1": 1, "scene 2": 1}
        for job_id in journaled.values():  # the rerun polled the very jobs the first run made
            assert server.polls[job_id] > polls_before.get(job_id, 0)
        assert len(server.jobs) == 3
    assert PendingJobs.open(db).count() == 0
