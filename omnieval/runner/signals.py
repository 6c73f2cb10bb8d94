"""Interrupts: Ctrl-C (SIGINT) and SIGTERM stop a run cleanly and say how far it got.

While a run executes, SIGTERM is handled like SIGINT: the asyncio scheduler cancels the trials in
flight, the journal commits what finished and closes, and the run raises `RunInterrupted` with
the line `interrupted: N of M trials journaled; rerun the same command to resume` (also written
to run.log). The CLI prints it and exits with the conventional code, 128 + the signal number:
130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from omnieval.runner import rundir
from omnieval.runner.journal import Journal

log = logging.getLogger("omnieval.runner")


class RunInterrupted(Exception):
    """A run was stopped by a signal; finished trials are journaled. `exit_code` is 128 + the
    signal number."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


@contextmanager
def terminate_as_interrupt() -> Iterator[list[int]]:
    """For the duration of the block, SIGTERM does what SIGINT does (a clean, cancelling stop).

    Yields a list that receives the number of each terminating signal handled, so the caller can
    tell SIGTERM from Ctrl-C. Outside the main thread (where handlers cannot be set) it does
    nothing."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def on_term(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        handler = signal.getsignal(signal.SIGINT)  # asyncio's, while a loop runs
        if callable(handler) and handler is not on_term:
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted(run_dir: Path, received: list[int]) -> RunInterrupted:
    """The `RunInterrupted` for a run stopped now: counts what the journal holds, logs the line."""
    signum = received[-1] if received else int(signal.SIGINT)
    done, planned = journaled_counts(run_dir)
    message = f"interrupted: {done} of {planned} trials journaled; rerun the same command to resume"
    log.warning("%s (%s)", message, signal.Signals(signum).name)
    return RunInterrupted(message, signum)


def journaled_counts(run_dir: Path) -> tuple[int, int]:
    """(trials of the current plan in the journal, trials planned)."""
    path = run_dir / rundir.JOURNAL
    if not path.is_file():
        return 0, 0
    journal = Journal(path)
    try:
        planned = set(journal.planned_keys())
        return len(planned & journal.finished_keys(include_failed=True)), len(planned)
    finally:
        journal.close()
