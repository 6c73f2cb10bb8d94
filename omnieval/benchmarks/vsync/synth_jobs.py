"""How both V-SYNC generators (Level 1 `synth.py`, Level 2 `synth_when.py`) make their items: one
job per item, in this process or in spawned worker processes, results kept in job order."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

Job = TypeVar("Job")


def make_items(
    make: Callable[[Job], dict[str, Any]],
    jobs: Sequence[Job],
    workers: int,
    on_progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """`make(job)` for every job, in job order; `on_progress(done)` after each finished item.

    `make` must be a module-level function (spawned workers import it). A failing item stops
    the rest at once: queued jobs are dropped and its error is raised."""
    records: list[dict[str, Any] | None] = [None] * len(jobs)
    if workers <= 1 or len(jobs) == 1:
        for done, (index, job) in enumerate(enumerate(jobs), 1):
            records[index] = make(job)
            if on_progress:
                on_progress(done)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            futures = {pool.submit(make, job): index for index, job in enumerate(jobs)}
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    records[futures[future]] = future.result()
                    if on_progress:
                        on_progress(done)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # fail fast: drop queued items
                raise
    return [r for r in records if r is not None]


def category_counts(items: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Items per `category`, sorted by category."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item["category"]] = counts.get(item["category"], 0) + 1
    return dict(sorted(counts.items()))
