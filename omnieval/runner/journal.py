"""The journal: every finished trial committed at once to SQLite (WAL), keyed by content key.

A killed run loses at most the trials in flight. One row per trial key (the primary key), so a
resumed or repeated run can never duplicate a trial. The `plan` table holds the keys of the most
recent invocation, which is what results are aggregated over.

Inside an event loop, trials that finish in the same loop iteration are committed together in
one transaction at the end of that iteration (group commit): no await separates a finished
trial from its commit, so nothing finished is ever left uncommitted while the run waits.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from omnieval.types import Extraction, Response, Score, Trial, TrialRecord, TrialStatus

SCHEMA_VERSION = "1"
_GROUP_SEP = "\x1f"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    task TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    status TEXT NOT NULL,
    response TEXT NOT NULL,
    extraction TEXT,
    score TEXT,
    groups TEXT NOT NULL,
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS plan (key TEXT PRIMARY KEY);
"""


class JournalError(RuntimeError):
    """The journal file cannot be used (wrong schema, corrupt, locked)."""


class Journal:
    """Append-mostly trial store; one connection, used from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
        except sqlite3.DatabaseError as err:
            raise JournalError(f"{path} is not a usable journal: {err}") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise JournalError(
                f"{path} has journal schema {row[0]}, this omnieval writes {SCHEMA_VERSION}; "
                "use a new --output or run name"
            )

        self._pending: list[tuple[object, ...]] = []
        self._flush_scheduled = False
        self._flush_error: BaseException | None = None

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
    ) -> None:
        """Commit one finished trial (replacing an earlier failed attempt of the same key)."""
        if self._flush_error is not None:
            raise JournalError(f"cannot write {self.path}: {self._flush_error}")
        self._pending.append(
            (
                trial.key,
                trial.model,
                trial.task,
                trial.sample_id,
                trial.variant,
                response.status.value,
                response.model_dump_json(),
                extraction.model_dump_json() if extraction else None,
                score.model_dump_json() if score else None,
                _GROUP_SEP.join(groups),
                time.time(),
            )
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Commit every recorded trial not yet committed, in one transaction."""
        self._flush_scheduled = False
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as err:  # keep the rows; the next record() reports the failure
            self._pending = rows + self._pending
            self._flush_error = err
            raise JournalError(f"cannot write {self.path}: {err}") from err

    def update_scores(self, rows: Iterable[tuple[str, Extraction | None, Score | None]]) -> int:
        """Replace extractions and scores (re-scoring); returns the number of rows changed."""
        self.flush()
        changed = 0
        self._db.execute("BEGIN")
        try:
            for key, extraction, score in rows:
                cursor = self._db.execute(
                    "UPDATE trials SET extraction=?, score=? WHERE key=?",
                    (
                        extraction.model_dump_json() if extraction else None,
                        score.model_dump_json() if score else None,
                        key,
                    ),
                )
                changed += cursor.rowcount
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return changed

    def set_plan(self, keys: Iterable[str]) -> None:
        self._db.execute("BEGIN")
        try:
            self._db.execute("DELETE FROM plan")
            self._db.executemany("INSERT OR IGNORE INTO plan VALUES (?)", ((k,) for k in keys))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

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

    def records(self, planned_only: bool = True) -> Iterator[TrialRecord]:
        """Journaled trials (of the current plan by default), in a stable order."""
        self.flush()
        query = (
            "SELECT t.key, t.model, t.task, t.sample_id, t.variant, t.response, t.extraction, "
            "t.score, t.groups FROM trials t"
        )
        if planned_only:
            query += " JOIN plan p ON p.key = t.key"
        query += " ORDER BY t.model, t.variant, t.task, t.sample_id, t.key"
        for row in self._db.execute(query):
            key, model, task, sample_id, variant, response, extraction, score, groups = row
            yield TrialRecord(
                trial=Trial(key=key, model=model, task=task, sample_id=sample_id, variant=variant),
                response=Response.model_validate_json(response),
                extraction=Extraction.model_validate_json(extraction) if extraction else None,
                score=Score.model_validate_json(score) if score else None,
                groups=tuple(groups.split(_GROUP_SEP)) if groups else (),
            )

    def status_counts(self) -> dict[str, int]:
        self.flush()
        rows = self._db.execute("SELECT status, COUNT(*) FROM trials GROUP BY status")
        return {TrialStatus(status).value: n for status, n in rows}
