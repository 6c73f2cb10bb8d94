"""Harness overhead and resume cost, with an instant in-process model and the journal on.

    python bench/bench_harness.py [--trials 10000] [--rotation]

(a) trials per second through the whole runner (plan, request building, model call, extraction,
    scoring, one SQLite commit per trial, aggregation and outputs) with `constant`, whose answer
    costs microseconds; (b) the time to re-plan the finished run (and the full no-op rerun:
    plan + journal lookup + outputs rebuilt). Targets: >= 2,000 trials/s; re-plan < 2 s.
With `--rotation`, every 4-option item is asked under its 4 circular rotations (replicates
pooled into AA and ACR): `--trials` counts trials, so there are trials / 4 items.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from omnieval import api
from omnieval.runner.journal import Journal
from omnieval.runner.plan import make_plan


def write_questions(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            item = {
                "id": f"q{i:06d}",
                "question": f"Question {i}: which option is right?",
                "options": [f"option {j} for {i}" for j in range(4)],
                "answer": "ABCD"[i % 4],
                "category": f"c{i % 5}",
            }
            out.write(json.dumps(item) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--rotation", action="store_true", help="4 rotations per item")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_questions(root / "q.jsonl", args.trials // 4 if args.rotation else args.trials)
        benchmark: dict[str, object] = {"name": "mcq", "args": {"path": str(root / "q.jsonl")}}
        if args.rotation:
            benchmark["replicates"] = {"scheme": "rotation", "k": "all"}
        config = {
            "name": "bench",
            "output": str(root / "runs"),
            "benchmarks": [benchmark],
            "models": [{"use": "constant", "concurrency": 64}],
            "progress": False,
        }
        started = time.perf_counter()
        first = api.evaluate(config)
        elapsed = time.perf_counter() - started
        assert first.executed == args.trials and first.results.totals.failed == 0

        resolved, _ = api.load_config(config)
        started = time.perf_counter()
        plan = make_plan(resolved)
        journal = Journal(first.run_dir / "journal.sqlite")
        done = journal.finished_keys(include_failed=False)
        pending = [p for p in plan.trials if p.trial.key not in done]
        journal.close()
        replan = time.perf_counter() - started
        assert not pending

        started = time.perf_counter()
        again = api.evaluate(config)
        rerun = time.perf_counter() - started
        assert again.executed == 0

    rate = args.trials / elapsed
    shape = "4 rotations per item" if args.rotation else "no replicates"
    print(f"python {sys.version.split()[0]}, {args.trials} text-only trials ({shape}), journal on")
    print(f"(a) first run          {elapsed:8.2f} s   {rate:10,.0f} trials/s   target >= 2,000")
    print(f"(b) re-plan finished   {replan:8.2f} s                     target < 2 s")
    print(f"    full no-op rerun   {rerun:8.2f} s   (plan + journal lookup + outputs rebuilt)")


if __name__ == "__main__":
    main()
