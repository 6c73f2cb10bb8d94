"""Fault points: named moments at which a test can make this process die, as a crash would.

`OMNIEVAL_KILL_AT="<point>:<n>"` SIGKILLs the process the n-th time it reaches `<point>` (counted
from its start). Unset, a fault point costs one global lookup. The points:

| point | the moment |
|---|---|
| `trial.request` | a model request is about to be sent |
| `journal.commit` | trial rows are written inside their transaction, not yet committed |
| `journal.committed` | a transaction of trial rows has just committed |
| `scores.commit` | re-scored rows are written, not yet committed |
| `outputs.write` | aggregation is done, results.json and the other outputs not yet written |
| `outputs.written` | results.json is written, the other outputs not yet |

Used by the fault-injection tests (tests/test_faults.py), which kill a run at seeded random
moments and check that the resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "OMNIEVAL_KILL_AT"
POINTS = (
    "trial.request",
    "journal.commit",
    "journal.committed",
    "scores.commit",
    "outputs.write",
    "outputs.written",
)


def _parse(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, count = value.rpartition(":")
    if name not in POINTS or not count.isdigit() or int(count) < 1:
        raise ValueError(
            f"{ENV}={value!r}: expected <point>:<n> with a point among {', '.join(POINTS)}"
        )
    return name, int(count)


_target = _parse(os.environ.get(ENV))
_seen: Counter[str] = Counter()


def point(name: str) -> None:
    """A fault point (see the module docstring)."""
    if _target is None or _target[0] != name:
        return
    _seen[name] += 1
    if _seen[name] == _target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
