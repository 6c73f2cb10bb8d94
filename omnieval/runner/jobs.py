"""Long-running provider jobs (video generation) that survive a crash.

A model with `capabilities.jobs` is driven through `submit(request) -> job id` and
`poll(job id) -> Response | None`. `generate_with_job` commits the job id to the run journal
(table `pending_jobs`) the moment `submit` returns, before the first poll, so a killed run that
is started again polls the same job instead of submitting (and paying for) it twice. The entry
is cleared once the job has an outcome.

Outcomes:
- the job finishes (OK or failed): its Response; the entry is cleared;
- `submit` fails: a failed Response (transient submit errors are retried first);
- a poll raises `PermanentModelError` (or anything unexpected): a failed Response naming the job
  id; the entry is cleared, so a retry of the trial submits a new job;
- the job outlives `timeout_s` (counted from its submission, across restarts): a failed Response
  naming the job id; the entry is cleared (the job is abandoned);
- polls keep failing with `TransientModelError` (`max_poll_errors` in a row): a failed Response
  naming the job id; the entry is *kept*, since the job itself may be fine, and the next attempt
  polls it again.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from omnieval.media import MediaError
from omnieval.models.base import Model, PermanentModelError, TransientModelError
from omnieval.runner.keys import canonical_json
from omnieval.runner.retry import RetryPolicy
from omnieval.types import Request, Response, TrialStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_jobs (
    trial_key TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    model TEXT NOT NULL,
    submitted_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class PendingJob:
    """A submitted provider job that has no outcome yet."""

    trial_key: str
    job_id: str
    model: str  # canonical JSON of the model's fingerprint
    submitted_at: float  # wall-clock seconds (time.time())


class PendingJobs:
    """The `pending_jobs` table on the run journal's connection; every write commits at once."""

    def __init__(self, db: sqlite3.Connection) -> None:
        if db.isolation_level is not None:
            raise RuntimeError(
                "pending jobs need a connection in autocommit mode (isolation_level=None)"
            )
        self._db = db
        self._db.executescript(_SCHEMA)

    @classmethod
    def open(cls, path: Path) -> PendingJobs:
        """Pending jobs on their own WAL connection to `path` (tools and tests)."""
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=10000")
        return cls(db)

    def get(self, trial_key: str) -> PendingJob | None:
        row = self._db.execute(
            "SELECT job_id, model, submitted_at FROM pending_jobs WHERE trial_key = ?",
            (trial_key,),
        ).fetchone()
        if row is None:
            return None
        return PendingJob(trial_key, str(row[0]), str(row[1]), float(row[2]))

    def put(
        self, trial_key: str, job_id: str, model: str, submitted_at: float | None = None
    ) -> None:
        """Record a submitted job; durable when this returns (its own committed transaction).

        `synchronous=NORMAL` in WAL mode can lose the last commits on power loss (not on a
        process crash), so this write asks for a full sync of its commit.
        """
        when = time.time() if submitted_at is None else submitted_at
        previous = self._db.execute("PRAGMA synchronous").fetchone()[0]
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO pending_jobs VALUES (?,?,?,?)",
                (trial_key, job_id, model, when),
            )
        finally:
            self._db.execute(f"PRAGMA synchronous={int(previous)}")

    def clear(self, trial_key: str) -> None:
        self._db.execute("DELETE FROM pending_jobs WHERE trial_key = ?", (trial_key,))

    def all(self) -> list[PendingJob]:
        rows = self._db.execute(
            "SELECT trial_key, job_id, model, submitted_at FROM pending_jobs ORDER BY trial_key"
        )
        return [PendingJob(str(k), str(j), str(m), float(t)) for k, j, m, t in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM pending_jobs").fetchone()[0])


def _failed(error: str, started: float, attempts: int = 1) -> Response:
    return Response(
        status=TrialStatus.FAILED,
        error=error,
        attempts=attempts,
        latency_s=max(0.0, time.time() - started),
    )


async def _submit(
    model: Model, request: Request, policy: RetryPolicy, rng: random.Random
) -> tuple[str | None, str, int]:
    """(job id, "", attempts) or (None, error, attempts)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            if policy.timeout_s is None:
                job_id = await model.submit(request)
            else:
                job_id = await asyncio.wait_for(model.submit(request), policy.timeout_s)
            return str(job_id), "", attempt
        except TransientModelError as err:
            error, retry_after = f"{type(err).__name__}: {err}", err.retry_after_s
        except asyncio.TimeoutError:
            error, retry_after = f"submit timed out after {policy.timeout_s:g} s", None
        except (PermanentModelError, MediaError) as err:
            return None, f"submit refused: {type(err).__name__}: {err}", attempt
        except Exception as err:  # a bug in a model must not stop the run
            return None, f"submit failed: unexpected {type(err).__name__}: {err}", attempt
        if attempt > policy.max_retries:
            return None, f"submit gave up after {attempt} attempts; last error: {error}", attempt
        await asyncio.sleep(policy.delay(attempt, retry_after, rng))


async def generate_with_job(
    model: Model,
    request: Request,
    trial_key: str,
    jobs: PendingJobs,
    poll_interval_s: float = 2.0,
    timeout_s: float | None = 3600.0,
    max_poll_interval_s: float = 30.0,
    max_poll_errors: int = 10,
    submit_policy: RetryPolicy | None = None,
    rng: random.Random | None = None,
) -> Response:
    """The job's Response (submitting it, or polling the journaled one); never raises for model
    errors. Polls start `poll_interval_s` apart and grow by half each time up to
    `max_poll_interval_s` (a transient poll error's Retry-After is honoured)."""
    rng = rng or random.Random(0)
    policy = submit_policy or RetryPolicy()
    fingerprint = canonical_json(model.fingerprint())
    pending = jobs.get(trial_key)
    if pending is not None and pending.model != fingerprint:
        pending = None  # another model's job under this key: not ours to poll
    if pending is None:
        started = time.time()
        job_id, error, attempts = await _submit(model, request, policy, rng)
        if job_id is None:
            return _failed(error, started, attempts)
        jobs.put(trial_key, job_id, fingerprint, started)
        pending = PendingJob(trial_key, job_id, fingerprint, started)
    return await _poll_until_done(
        model,
        pending,
        jobs,
        poll_interval_s,
        timeout_s,
        max_poll_interval_s,
        max_poll_errors,
    )


async def _poll_until_done(
    model: Model,
    job: PendingJob,
    jobs: PendingJobs,
    poll_interval_s: float,
    timeout_s: float | None,
    max_poll_interval_s: float,
    max_poll_errors: int,
) -> Response:
    deadline = None if timeout_s is None else job.submitted_at + timeout_s
    interval = max(0.0, poll_interval_s)
    errors = 0
    polls = 0
    while True:
        polls += 1
        retry_after: float | None = None
        try:
            response = await model.poll(job.job_id)
        except TransientModelError as err:
            errors += 1
            retry_after = err.retry_after_s
            if errors >= max_poll_errors:
                return _failed(
                    f"job {job.job_id}: {errors} polls in a row failed; last error: "
                    f"{type(err).__name__}: {err} (the job is kept and polled again next time)",
                    job.submitted_at,
                )
        except PermanentModelError as err:
            jobs.clear(job.trial_key)
            return _failed(f"job {job.job_id}: {type(err).__name__}: {err}", job.submitted_at)
        except Exception as err:  # a bug in a model must not stop the run
            jobs.clear(job.trial_key)
            return _failed(
                f"job {job.job_id}: polling failed: unexpected {type(err).__name__}: {err}",
                job.submitted_at,
            )
        else:
            errors = 0
            if response is not None:
                jobs.clear(job.trial_key)
                update: dict[str, object] = {}
                if not response.latency_s:
                    update["latency_s"] = max(0.0, time.time() - job.submitted_at)
                if response.failed:
                    update["error"] = f"job {job.job_id}: {response.error or 'failed'}"
                return response.model_copy(update=update) if update else response
        now = time.time()
        if deadline is not None and now >= deadline:
            jobs.clear(job.trial_key)
            return _failed(
                f"job {job.job_id} did not finish within {timeout_s:g} s of its submission "
                f"({polls} polls); abandoned",
                job.submitted_at,
            )
        wait = max(interval, retry_after or 0.0)
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - now))
        await asyncio.sleep(wait)
        interval = min(max_poll_interval_s, max(interval * 1.5, 0.01))
