"""The journal: every finished trial committed at once to SQLite (WAL), keyed by content key.

A killed run loses at most the trials in flight. One row per trial key (the primary key), so a
resumed or repeated run can never duplicate a trial. The `plan` table holds the keys of the most
recent invocation, which is what results are aggregated over. Each row records the scoring
fingerprint its extraction and score were made under (so a resumed run with changed scoring
settings re-scores), and the compact request as sent, deduplicated in the `requests` table.

Schema 2 (conditions and replicates) opens journals of schema 1 by migrating them in place:
`variant` becomes `condition`, the new columns start empty (their trials are re-scored once).

Inside an event loop, trials that finish in the same loop iteration are committed together in
one transaction at the end of that iteration (group commit): no await separates a finished
trial from its commit, so nothing finished is ever left uncommitted while the run waits.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from omnieval.runner import faults
from omnieval.runner.group_commit import FlushScheduler, insert_many, transaction
from omnieval.types import Extraction, Response, Score, Trial, TrialRecord, TrialStatus

SCHEMA_VERSION = "2"
_GROUP_SEP = "\x1f"

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plan (key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, body TEXT NOT NULL);
"""
_TRIALS = """
CREATE TABLE IF NOT EXISTS trials (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    task TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    condition TEXT NOT NULL,
    status TEXT NOT NULL,
    response TEXT NOT NULL,
    extraction TEXT,
    score TEXT,
    groups TEXT NOT NULL,
    finished_at REAL NOT NULL,
    replicate TEXT NOT NULL DEFAULT '',
    replicate_params TEXT,
    scoring TEXT,
    request_id TEXT
);
"""
_COLUMNS = (
    "key, model, task, sample_id, condition, status, response, extraction, score, groups, "
    "finished_at, replicate, replicate_params, scoring, request_id"
)
_MIGRATE_1_TO_2 = (
    "ALTER TABLE trials RENAME COLUMN variant TO condition",
    "ALTER TABLE trials ADD COLUMN replicate TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE trials ADD COLUMN replicate_params TEXT",
    "ALTER TABLE trials ADD COLUMN scoring TEXT",
    "ALTER TABLE trials ADD COLUMN request_id TEXT",
)


_INSERT_TRIAL = f"INSERT OR REPLACE INTO trials ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"


def request_body(compact: dict[str, Any]) -> tuple[str, str]:
    """(id, JSON body) of a compact request in the `requests` table (the id digests the body)."""
    body = json.dumps(compact, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:24], body


class JournalError(RuntimeError):
    """The journal file cannot be used (wrong schema, corrupt, locked, disk full)."""


_NO_SPACE = ("disk is full", "disk i/o error", "no space", "file too large")


def write_failure(path: Path, err: BaseException) -> JournalError:
    """The error for a journal write that failed; a full disk says what to do."""
    message = f"cannot write the journal {path}: {err}"
    if any(sign in str(err).lower() for sign in _NO_SPACE):
        message += (
            " (is the disk full? free space on it and rerun the same command: every trial "
            "committed so far is kept)"
        )
    return JournalError(message)


class Journal:
    """Append-mostly trial store; one connection, used from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_TABLES)
            row = self._db.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
            if row is None:
                self._db.executescript(_TRIALS)
                self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif row[0] == "1":
                self._migrate(_MIGRATE_1_TO_2)
            elif row[0] != SCHEMA_VERSION:
                raise JournalError(
                    f"{path} has journal schema {row[0]}, newer than this omnieval's "
                    f"{SCHEMA_VERSION}; upgrade omnieval or use a new --output or run name"
                )
        except sqlite3.DatabaseError as err:
            raise JournalError(f"{path} is not a usable journal: {err}") from None
        self.migrated_from = row[0] if row is not None and row[0] != SCHEMA_VERSION else None

        self._pending: list[tuple[object, ...]] = []
        self._pending_requests: dict[str, str] = {}
        self._flusher = FlushScheduler(self.flush)
        self._flush_error: BaseException | None = None

    def _migrate(self, statements: tuple[str, ...]) -> None:
        with transaction(self._db):
            for statement in statements:
                self._db.execute(statement)
            self._db.execute("UPDATE meta SET value=? WHERE name='schema'", (SCHEMA_VERSION,))

    @property
    def connection(self) -> sqlite3.Connection:
        """The journal's connection, for stores that keep their own tables in the same file
        (judge trials, pending provider jobs)."""
        return self._db

    def close(self) -> None:
        self.flush()
        self._db.close()

    # ------------------------------------------------------------------ writing

    def record(
        self,
        trial: Trial,
        response: Response,
        extraction: Extraction | None,
        score: Score | None,
        groups: tuple[str, ...] = (),
        replicate_params: dict[str, Any] | None = None,
        scoring: str | None = None,
        request: dict[str, Any] | None = None,
    ) -> None:
        """Commit one finished trial (replacing an earlier failed attempt of the same key).

        `scoring` is the scoring fingerprint the extraction and score were made under (None
        while they are still to be made); `request` the compact request as sent.
        """
        if self._flush_error is not None:
            raise write_failure(self.path, self._flush_error)
        rid = None
        if request is not None:
            rid, body = request_body(request)
            self._pending_requests.setdefault(rid, body)
        self._pending.append(
            (
                trial.key,
                trial.model,
                trial.task,
                trial.sample_id,
                trial.condition,
                response.status.value,
                response.model_dump_json(exclude={"rendering"}),  # kept with the request
                extraction.model_dump_json() if extraction else None,
                score.model_dump_json() if score else None,
                _GROUP_SEP.join(groups),
                time.time(),
                trial.replicate,
                json.dumps(replicate_params) if replicate_params else None,
                scoring,
                rid,
            )
        )
        self._flusher.request()

    def flush(self) -> None:
        """Commit every recorded trial not yet committed, in one transaction."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        requests, self._pending_requests = self._pending_requests, {}
        try:
            insert_many(
                self._db,
                [
                    ("INSERT OR IGNORE INTO requests VALUES (?, ?)", requests.items()),
                    (_INSERT_TRIAL, rows),
                ],
                fault="journal",
            )
        except sqlite3.Error as err:  # keep the rows; the next record() reports the failure
            self._pending = rows + self._pending
            self._pending_requests.update(requests)
            self._flush_error = err
            raise write_failure(self.path, err) from err

    def update_scores(
        self,
        rows: Iterable[tuple[str, Extraction | None, Score | None]],
        scoring: dict[str, str] | None = None,
    ) -> int:
        """Replace extractions and scores (re-scoring); returns the number of rows changed.

        `scoring` maps a trial key to the scoring fingerprint its new score was made under.
        """
        self.flush()
        scoring = scoring or {}
        params = [
            (
                extraction.model_dump_json() if extraction else None,
                score.model_dump_json() if score else None,
                scoring.get(key),
                key,
            )
            for key, extraction, score in rows
        ]
        try:
            with transaction(self._db, immediate=False):
                before = self._db.total_changes
                self._db.executemany(
                    "UPDATE trials SET extraction=?, score=?, scoring=? WHERE key=?", params
                )
                changed = self._db.total_changes - before
                faults.point("scores.commit")
        except sqlite3.OperationalError as err:
            raise write_failure(self.path, err) from None
        return changed

    def set_plan(self, keys: Iterable[str]) -> None:
        try:
            with transaction(self._db, immediate=False):
                self._db.execute("DELETE FROM plan")
                self._db.executemany(
                    "INSERT OR IGNORE INTO plan VALUES (?)", ((k,) for k in keys)
                )
        except sqlite3.OperationalError as err:
            raise write_failure(self.path, err) from None

    # ------------------------------------------------------------------ reading

    def finished_keys(self, include_failed: bool) -> set[str]:
        """Keys that need no more inference (failed ones only when they are not to be retried)."""
        self.flush()
        if include_failed:
            rows = self._db.execute("SELECT key FROM trials")
        else:
            rows = self._db.execute("SELECT key FROM trials WHERE status = ?", ("ok",))
        return {key for (key,) in rows}

    def planned_keys(self) -> list[str]:
        return [key for (key,) in self._db.execute("SELECT key FROM plan")]

    def count(self) -> int:
        self.flush()
        return int(self._db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])

    def records(
        self, planned_only: bool = True, with_requests: bool = False
    ) -> Iterator[TrialRecord]:
        """Journaled trials (of the current plan by default), in a stable order."""
        self.flush()
        body = "r.body" if with_requests else "NULL"
        query = (
            "SELECT t.key, t.model, t.task, t.sample_id, t.condition, t.replicate, "
            f"t.replicate_params, t.response, t.extraction, t.score, t.groups, {body} "
            "FROM trials t"
        )
        if with_requests:
            query += " LEFT JOIN requests r ON r.id = t.request_id"
        if planned_only:
            query += " JOIN plan p ON p.key = t.key"
        query += " ORDER BY t.model, t.condition, t.task, t.sample_id, t.replicate, t.key"
        for row in self._db.execute(query):
            key, model, task, sample_id, condition, replicate, params = row[:7]
            response, extraction, score, groups, request = row[7:]
            yield TrialRecord(
                trial=Trial(
                    key=key,
                    model=model,
                    task=task,
                    sample_id=sample_id,
                    condition=condition,
                    replicate=replicate,
                ),
                response=Response.model_validate_json(response),
                extraction=Extraction.model_validate_json(extraction) if extraction else None,
                score=Score.model_validate_json(score) if score else None,
                groups=tuple(groups.split(_GROUP_SEP)) if groups else (),
                replicate_params=json.loads(params) if params else {},
                request=json.loads(request) if request else None,
            )

    def request_bodies(self) -> dict[str, str]:
        """Trial key -> the JSON text of the compact request it sent (planned trials), as stored:
        exports splice it in without decoding it."""
        self.flush()
        rows = self._db.execute(
            "SELECT t.key, r.body FROM trials t JOIN plan p ON p.key = t.key "
            "JOIN requests r ON r.id = t.request_id"
        )
        return dict(rows.fetchall())

    def scoring_marks(self) -> dict[str, str | None]:
        """Trial key -> the scoring fingerprint its score was made under (None: not scored
        yet, or written by an omnieval that did not record it), for answered planned trials."""
        self.flush()
        rows = self._db.execute(
            "SELECT t.key, t.scoring FROM trials t JOIN plan p ON p.key = t.key WHERE t.status = ?",
            (TrialStatus.OK.value,),
        )
        return dict(rows.fetchall())

    def scoring_error_keys(self) -> set[str]:
        """Keys of answered trials whose score is a scoring error (e.g. a judge that failed)."""
        self.flush()
        rows = self._db.execute(
            "SELECT key FROM trials WHERE status = ? AND score IS NOT NULL "
            "AND json_extract(score, '$.error') IS NOT NULL",
            (TrialStatus.OK.value,),
        )
        return {str(key) for (key,) in rows}

    def status_counts(self) -> dict[str, int]:
        self.flush()
        rows = self._db.execute("SELECT status, COUNT(*) FROM trials GROUP BY status")
        return {TrialStatus(status).value: n for status, n in rows}
