"""Watching a run's journal from outside: row counts while a run writes it, and a run SIGKILLed
once its journal holds enough rows (the crash-and-rerun tests)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any


def journal_rows(journal: Path, table: str = "trials") -> int:
    """The rows of `table` in the journal file; 0 while the file or the table does not exist."""
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(journal, timeout=5) as db:
            return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def kill_once_journaled(
    command: list[str],
    journal: Path,
    table: str,
    rows: int,
    *,
    wait_s: float = 90,
    poll_s: float = 0.005,
    **popen: Any,
) -> None:
    """Start `command` and SIGKILL it as soon as `table` holds `rows` rows (or after `wait_s`, or
    once it has ended by itself: the caller's assertions on what it did tell those apart)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and process.poll() is None:
        if journal_rows(journal, table) >= rows:
            break
        time.sleep(poll_s)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
