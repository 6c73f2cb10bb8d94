"""Garbage-collector settings for passes over many journaled trials.

A rescore or an aggregation holds hundreds of thousands of small objects (records, scores,
samples) that form no reference cycles. Python's cyclic collector would traverse all of them on
every full collection, which costs more than the work itself; so these passes move what exists
into the permanent generation (`gc.freeze`) and pause automatic collection while they build,
then collect once at the end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def bulk_objects() -> Iterator[None]:
    """Pause automatic cyclic collection while a pass builds many acyclic objects."""
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep what exists now (the plan, the samples) out of every later collection, while
    collection itself stays on (a long run creates cyclic garbage: tracebacks of retries)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
