"""What planning a large run costs, three ways, in one process (same machine load).

    python bench/bench_plan_trials.py --trials 1000000

Plans the same mcq run (items x 4 rotations, the `constant` model) with `make_plan`:
(1) as before: a validated `Trial(...)` per trial and the cyclic GC running;
(2) trials built without validation (`planned_trial` in omnieval/runner/plan.py), GC running;
(3) as it is now: (2) with the GC paused during planning (`gc_paused`).
Prints each time and the ratios. tests/test_plan_trials.py checks (1) and (2) give equal trials.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_soak import _config, write_questions

from omnieval import api
from omnieval.runner import plan as plan_module
from omnieval.types import Trial

CONSTRUCTED = plan_module.planned_trial
GC_PAUSED = plan_module.gc_paused


def validated(
    key: str, model: str, task: str, sample_id: str, condition: str, replicate: str
) -> Trial:
    return Trial(
        key=key, model=model, task=task, sample_id=sample_id, condition=condition,
        replicate=replicate,
    )  # fmt: skip


def timed_plan(config: object) -> float:
    gc.collect()
    started = time.perf_counter()
    plan = plan_module.make_plan(config)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    del plan
    return elapsed


@contextmanager
def gc_running() -> Iterator[None]:
    yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} (shared, noisy machine)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_questions(root / "huge.jsonl", args.trials // 4)
        config, _ = api.load_config(_config(root, "huge", {"use": "constant"}, rotation=True))
        for _ in range(args.rounds):
            plan_module.planned_trial = validated  # type: ignore[assignment]
            plan_module.gc_paused = gc_running  # type: ignore[assignment]
            before = timed_plan(config)
            plan_module.planned_trial = CONSTRUCTED
            unvalidated = timed_plan(config)
            plan_module.gc_paused = GC_PAUSED
            now = timed_plan(config)
            print(
                f"plan {args.trials:,} trials: (1) validated, GC on {before:6.2f} s; "
                f"(2) unvalidated, GC on {unvalidated:6.2f} s ({unvalidated / before:.2f}); "
                f"(3) unvalidated, GC paused {now:6.2f} s ({now / before:.2f})"
            )


if __name__ == "__main__":
    main()
