"""Group commit for SQLite stores: rows finished in one event-loop iteration go in one
transaction at the end of that iteration (at once outside an event loop), so no await ever
separates a finished row from its commit. Used by the trial journal and the judge journal.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from omnieval.runner import faults


@contextmanager
def transaction(db: sqlite3.Connection, immediate: bool = True) -> Iterator[None]:
    """BEGIN (IMMEDIATE) ... COMMIT, rolled back on any exception (autocommit connections)."""
    db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a failed COMMIT (disk full, I/O error) may have rolled back
            db.execute("ROLLBACK")
        raise


def insert_many(
    db: sqlite3.Connection,
    statements: Sequence[tuple[str, Iterable[Sequence[Any]]]],
    fault: str | None = None,
) -> None:
    """Run every (statement, rows) pair in one immediate transaction (`fault`: the names of the
    fault points just before and after the commit, `<fault>.commit` / `<fault>.committed`)."""
    with transaction(db):
        for statement, rows in statements:
            db.executemany(statement, rows)
        if fault is not None:
            faults.point(f"{fault}.commit")
    if fault is not None:
        faults.point(f"{fault}.committed")


class FlushScheduler:
    """Calls `flush` at the end of the current event-loop iteration (once however many rows
    arrive in it), or at once when no event loop runs."""

    def __init__(self, flush: Callable[[], None]) -> None:
        self._flush = flush
        self._scheduled = False

    def request(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._flush()
            return
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._run)

    def _run(self) -> None:
        self._scheduled = False
        try:
            self._flush()
        except Exception:  # the store keeps the error and raises it at its next write
            return
