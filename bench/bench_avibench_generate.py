"""The generated AVI-Bench edition: generation time per task and `avibench-solver` throughput.

    python bench/bench_avibench_generate.py [--n 40] [--seed 0] [--no-solver]

Generates an edition with `--n` items per task (all 15 task folders; the sensation tasks add
n/4 controls and a pre-question per item) into a temporary directory, timing each task folder.
Then runs `avibench-solver` through the whole harness (`api.evaluate`, default scoring, journal
and report included) and reports trials per second and the lowest headline score over the
tasks. The figures go to docs/performance.md; nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnieval import api  # noqa: E402
from omnieval.benchmarks.avibench.synth import TASKS, generate_avibench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-solver", action="store_true")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "edition"
        total = 0.0
        for task in TASKS:
            started = time.perf_counter()
            generate_avibench(out, args.n, args.seed, tasks=[task])
            took = time.perf_counter() - started
            total += took
            print(f"generate {task:7} {args.n} items: {took:6.2f} s ({args.n / took:6.1f} items/s)")
        files = sum(1 for p in out.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
        print(f"generate all: {total:.2f} s, {files} files, {size:.1f} MB")
        if args.no_solver:
            return
        started = time.perf_counter()
        outcome = api.evaluate(
            {
                "name": "bench",
                "output": str(Path(tmp) / "runs"),
                "benchmarks": [{"name": "avibench", "args": {"data_dir": str(out)}}],
                "models": ["avibench-solver"],
                "progress": False,
            }
        )
        solved = time.perf_counter() - started
        results = outcome.results
        scores = {
            g.task: g.metrics[results.headline(g.task)].value
            for g in results.groups
            if g.group == "overall"
        }
        worst = min(scores, key=lambda t: scores[t] or 0.0)
        print(
            f"solver: {outcome.executed} trials in {solved:.2f} s = "
            f"{outcome.executed / solved:.1f} trials/s (whole harness, caption model load "
            f"included); lowest headline {worst} {scores[worst]:.3f}"
        )


if __name__ == "__main__":
    main()
