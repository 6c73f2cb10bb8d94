"""Judge (and refine) calls as journaled child trials.

A task that needs another model to extract or score a trial (an LLM refine step, a VLM grader)
asks `Judges.ask(role, parent_key, request, prompt_version)`. The answer is journaled in the
run's journal (table `judge_trials`) under a *judge key*: a hash of the judge's fingerprint, the
parent trial key, the role, the judge prompt version and a digest of the request (its text
parts, system prompt, media names and contents, generation parameters). So an identical question
is never asked twice, in this run or any later rerun or rescore, while a changed prediction,
prompt or judge model asks again.

A judge that still fails after its retries gives back its failed `Response` (journaled as failed,
so the next run or rescore asks again); the caller records a scoring error. There is no fallback
answer and no silent switch to another method.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from omnieval.models.base import Model
from omnieval.runner.group_commit import FlushScheduler, insert_many
from omnieval.runner.keys import canonical_json, media_digest
from omnieval.runner.retry import RetryPolicy, generate_with_retries
from omnieval.scoring.judging import JudgeUnavailableError
from omnieval.types import AudioPart, ImagePart, Request, Response, TextPart, TrialStatus, VideoPart

JUDGE_KEY_SCHEMA = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS judge_trials (
    key TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    parent_key TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    judge TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    status TEXT NOT NULL,
    finished_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS judge_trials_parent ON judge_trials (parent_key);
"""


class JudgeJournalError(RuntimeError):
    """The judge table cannot be written."""


# --------------------------------------------------------------------------- keys


def request_digest(request: Request) -> dict[str, Any]:
    """What of a judge request enters its key (compact, JSON-ready, machine-independent).

    Text parts in order, the system prompt, media parts by file name plus content digest (an
    inline image by its bytes' digest) and time window, the generation parameters, and the
    answer space when there is one.
    """
    parts: list[Any] = []
    for part in request.parts:
        if isinstance(part, TextPart):
            parts.append(part.text)
        elif isinstance(part, ImagePart) and part.path is None:
            data = part.data or b""
            parts.append({"image": "inline", "sha256": hashlib.sha256(data).hexdigest()})
        elif isinstance(part, AudioPart | VideoPart | ImagePart):
            assert part.path is not None
            entry: dict[str, Any] = {part.kind: Path(part.path).name}
            entry["digest"] = media_digest(Path(part.path))
            window = getattr(part, "window", None)
            if window is not None:
                entry["window"] = window.model_dump(mode="json")
            if isinstance(part, VideoPart) and not part.with_audio:
                entry["with_audio"] = False
            parts.append(entry)
    digest: dict[str, Any] = {
        "parts": parts,
        "system": request.system,
        "generation": request.generation.key_dump(),
    }
    if request.answer_space is not None:
        digest["answer_space"] = request.answer_space.model_dump(mode="json")
    return digest


def judge_key(
    judge_fingerprint: dict[str, Any],
    parent_key: str,
    role: str,
    prompt_version: str,
    request: Request,
) -> str:
    """The content key of one judge call (sha256 hex of canonical JSON)."""
    payload = {
        "schema": JUDGE_KEY_SCHEMA,
        "judge": judge_fingerprint,
        "parent": parent_key,
        "role": role,
        "prompt_version": prompt_version,
        "request": request_digest(request),
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def _compact_request(request: Request) -> str:
    """The request as journaled: the prompt as sent, media by name (no bytes, no paths)."""
    parts: list[Any] = []
    for part in request.parts:
        if isinstance(part, TextPart):
            parts.append({"text": part.text})
        elif isinstance(part, ImagePart) and part.path is None:
            parts.append({"image": "inline", "bytes": len(part.data or b"")})
        else:
            assert part.path is not None
            parts.append({part.kind: Path(part.path).name})
    body = {
        "system": request.system,
        "parts": parts,
        "generation": request.generation.key_dump(),
    }
    return canonical_json(body)


# --------------------------------------------------------------------------- journal


@dataclass(frozen=True)
class JudgeRow:
    """One journaled judge trial."""

    key: str
    role: str
    parent_key: str
    prompt_version: str
    judge: dict[str, Any]
    request: dict[str, Any]
    response: Response
    finished_at: float


class JudgeJournal:
    """The `judge_trials` table on the run journal's connection (autocommit mode, WAL).

    Inside an event loop, rows put in the same loop iteration are committed together at the end
    of that iteration (as the trial journal does); outside a loop each `put` commits at once.
    A later `put` of the same key replaces the row (a failed answer replaced by its retry).
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        if db.isolation_level is not None:
            raise JudgeJournalError(
                "the judge journal needs a connection in autocommit mode (isolation_level=None)"
            )
        self._db = db
        self._db.executescript(_SCHEMA)
        self._pending: list[tuple[object, ...]] = []
        self._flusher = FlushScheduler(self.flush)
        self._flush_error: BaseException | None = None

    @classmethod
    def open(cls, path: Path) -> JudgeJournal:
        """A judge journal on its own WAL connection to `path` (tools and tests)."""
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=10000")
        return cls(db)

    @property
    def connection(self) -> sqlite3.Connection:
        return self._db

    def get(self, key: str) -> Response | None:
        """The journaled OK answer for `key`, or None (failed answers are to be retried)."""
        for pending in reversed(self._pending):
            if pending[0] == key:
                status, response = pending[7], pending[6]
                return Response.model_validate_json(str(response)) if status == "ok" else None
        row = self._db.execute(
            "SELECT response FROM judge_trials WHERE key = ? AND status = ?",
            (key, TrialStatus.OK.value),
        ).fetchone()
        return None if row is None else Response.model_validate_json(row[0])

    def put(
        self,
        key: str,
        role: str,
        parent_key: str,
        prompt_version: str,
        judge: Mapping[str, Any],
        request: Request | str,
        response: Response,
    ) -> None:
        """Journal one judge answer (committed at the end of this loop iteration)."""
        if self._flush_error is not None:
            raise JudgeJournalError(f"cannot write judge trials: {self._flush_error}")
        compact = request if isinstance(request, str) else _compact_request(request)
        self._pending.append(
            (
                key,
                role,
                parent_key,
                prompt_version,
                canonical_json(dict(judge)),
                compact,
                response.model_dump_json(),
                response.status.value,
                time.time(),
            )
        )
        self._flusher.request()

    def flush(self) -> None:
        """Commit every put row not yet committed, in one transaction."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            insert_many(
                self._db, [("INSERT OR REPLACE INTO judge_trials VALUES (?,?,?,?,?,?,?,?,?)", rows)]
            )
        except sqlite3.Error as err:
            self._pending = rows + self._pending
            self._flush_error = err
            raise JudgeJournalError(f"cannot write judge trials: {err}") from err

    def count(self, status: TrialStatus | None = None) -> int:
        self.flush()
        if status is None:
            row = self._db.execute("SELECT COUNT(*) FROM judge_trials").fetchone()
        else:
            row = self._db.execute(
                "SELECT COUNT(*) FROM judge_trials WHERE status = ?", (status.value,)
            ).fetchone()
        return int(row[0])

    def rows(self, parent_key: str | None = None) -> list[JudgeRow]:
        """Journaled judge trials (of one parent, or all), ordered by parent, role and key."""
        self.flush()
        query = (
            "SELECT key, role, parent_key, prompt_version, judge, request, response, finished_at "
            "FROM judge_trials"
        )
        args: tuple[str, ...] = ()
        if parent_key is not None:
            query += " WHERE parent_key = ?"
            args = (parent_key,)
        query += " ORDER BY parent_key, role, key"
        return [
            JudgeRow(
                key=key,
                role=role,
                parent_key=parent,
                prompt_version=version,
                judge=json.loads(judge),
                request=json.loads(request),
                response=Response.model_validate_json(response),
                finished_at=finished,
            )
            for key, role, parent, version, judge, request, response, finished in self._db.execute(
                query, args
            )
        ]

    def fingerprints(self, role: str) -> list[dict[str, Any]]:
        """The distinct fingerprints of judges with OK answers journaled for a role."""
        self.flush()
        rows = self._db.execute(
            "SELECT DISTINCT judge FROM judge_trials WHERE role = ? AND status = ? ORDER BY judge",
            (role, TrialStatus.OK.value),
        )
        return [json.loads(judge) for (judge,) in rows]


# --------------------------------------------------------------------------- judges


class JudgeSettings(Protocol):
    """The scheduling settings of a judge (a `ModelSpec` has them all)."""

    concurrency: int
    max_retries: int
    retry_base_s: float
    retry_max_s: float
    timeout_s: float | None


@dataclass
class JudgeRole:
    """One configured judge: its model, fingerprint, concurrency limit and retry policy."""

    name: str
    model: Model
    fingerprint: dict[str, Any]
    limit: int
    semaphore: asyncio.Semaphore
    policy: RetryPolicy


class Judges:
    """The judge handle a task receives during extraction and scoring.

    `models` maps each role name to its built model and its settings (a `ModelSpec`, or any
    object with `concurrency`, `max_retries`, `retry_base_s`, `retry_max_s`, `timeout_s`). The
    role's concurrency limit is `min(settings.concurrency, model.capabilities.max_concurrency)`.
    """

    def __init__(
        self,
        journal: JudgeJournal,
        models: Mapping[str, tuple[Model, JudgeSettings]],
        seed: int = 0,
    ) -> None:
        self.journal = journal
        self._roles: dict[str, JudgeRole] = {}
        for role, (model, settings) in models.items():
            limit = max(1, min(settings.concurrency, model.capabilities.max_concurrency))
            self._roles[role] = JudgeRole(
                name=role,
                model=model,
                fingerprint=model.fingerprint(),
                limit=limit,
                semaphore=asyncio.Semaphore(limit),
                policy=RetryPolicy(
                    settings.max_retries,
                    settings.retry_base_s,
                    settings.retry_max_s,
                    settings.timeout_s,
                ),
            )
        self._offline = False
        self._offline_fingerprints: dict[str, dict[str, Any]] = {}
        self._rng = random.Random(seed)
        self._inflight: dict[str, asyncio.Task[Response]] = {}
        #: judge trials sent to the model, per role (one per judge key asked)
        self.calls: Counter[str] = Counter()
        #: model attempts those calls took, retries included, per role
        self.attempts: Counter[str] = Counter()
        #: answers served from the journal without a call, per role
        self.reused: Counter[str] = Counter()

    @classmethod
    def offline(
        cls, journal: JudgeJournal, fingerprints: Mapping[str, dict[str, Any]] | None = None
    ) -> Judges:
        """Judges that only serve journaled answers (rescore without judge credentials).

        A role's judge fingerprint is taken from `fingerprints` (e.g. the run manifest) or, when
        not given, from the journal if exactly one judge answered that role there.
        """
        judges = cls(journal, {})
        judges._offline = True
        judges._offline_fingerprints = {k: dict(v) for k, v in (fingerprints or {}).items()}
        return judges

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self._roles)

    def role_objects(self) -> tuple[JudgeRole, ...]:
        """The configured roles with their models (to close them when the run ends)."""
        return tuple(self._roles.values())

    def judge_fingerprint(self, role: str) -> dict[str, Any]:
        """The fingerprint of the judge serving `role` (part of every judge key)."""
        if role in self._roles:
            return self._roles[role].fingerprint
        if self._offline:
            return self._offline_fingerprint(role)
        raise self._unknown(role)

    def limit(self, role: str) -> int:
        """The most concurrent calls the judge of `role` gets."""
        if role not in self._roles:
            raise self._unknown(role)
        return self._roles[role].limit

    def _unknown(self, role: str) -> JudgeUnavailableError:
        configured = ", ".join(sorted(self._roles)) or "none"
        return JudgeUnavailableError(
            f"no judge is configured for role {role!r} (configured judge roles: {configured}); "
            f"add `judges: {{{role}: <model entry>}}` to the run config"
        )

    def _offline_fingerprint(self, role: str) -> dict[str, Any]:
        if role in self._offline_fingerprints:
            return self._offline_fingerprints[role]
        found = self.journal.fingerprints(role)
        if len(found) != 1:
            why = "no answers" if not found else f"answers from {len(found)} different judges"
            raise JudgeUnavailableError(
                f"judge role {role!r} is not configured and the journal holds {why} for it; "
                "configure the judge (judges: in the run config) or name its fingerprint"
            )
        self._offline_fingerprints[role] = found[0]
        return found[0]

    async def key(self, role: str, parent_key: str, request: Request, prompt_version: str) -> str:
        """The judge key of a call (media digests are computed off the event loop)."""
        fingerprint = self.judge_fingerprint(role)
        if any(getattr(p, "path", None) is not None for p in request.parts):
            return await asyncio.to_thread(
                judge_key, fingerprint, parent_key, role, prompt_version, request
            )
        return judge_key(fingerprint, parent_key, role, prompt_version, request)

    async def ask(
        self, role: str, parent_key: str, request: Request, prompt_version: str
    ) -> Response:
        """The judge's answer: journaled if present (no call), else asked, journaled, returned.

        A judge that fails after its retries returns its failed Response (journaled as failed,
        asked again next time). Offline, a missing answer raises `JudgeUnavailableError`.
        """
        if role not in self._roles and not self._offline:
            raise self._unknown(role)
        key = await self.key(role, parent_key, request, prompt_version)
        known = self.journal.get(key)
        if known is not None:
            self.reused[role] += 1
            return known
        if role not in self._roles:
            raise JudgeUnavailableError(
                f"judge role {role!r} has no journaled answer for trial {parent_key} "
                f"(prompt version {prompt_version!r}) and no judge is configured to ask; "
                "configure the judge (judges: in the run config) to rescore this trial"
            )
        task = self._inflight.get(key)
        if task is None:  # one call per key, however many askers wait for it
            task = asyncio.ensure_future(
                self._call(self._roles[role], key, parent_key, request, prompt_version)
            )
            self._inflight[key] = task
            task.add_done_callback(self._forget)
        else:
            self.reused[role] += 1
        return await asyncio.shield(task)

    def _forget(self, task: asyncio.Task[Response]) -> None:
        for key, running in list(self._inflight.items()):
            if running is task:
                del self._inflight[key]

    async def _call(
        self,
        judge: JudgeRole,
        key: str,
        parent_key: str,
        request: Request,
        prompt_version: str,
    ) -> Response:
        async with judge.semaphore:
            self.calls[judge.name] += 1
            response = await generate_with_retries(judge.model, request, judge.policy, self._rng)
        self.attempts[judge.name] += response.attempts
        self.journal.put(
            key, judge.name, parent_key, prompt_version, judge.fingerprint, request, response
        )
        return response
