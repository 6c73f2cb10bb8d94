"""The generated STAR-Bench edition: generation time and `starbench-solver` throughput.

    python bench/bench_starbench.py [--spatial 1000] [--seed 0] [--room auto|synthetic|...]

Generates an edition with at least `--spatial` spatial items (azimuth, elevation and
distance perception, each absolute and relative; localisation, relation, three-source
relation and trajectory reasoning: ten per round, so `--spatial / 10` rounded up per family;
non-spatial perception and temporal items are written too, and timed with the rest; the rooms
are pyroomacoustics' when installed: the distance families, localisation and the moving
sources of the trajectories) into a temporary directory and times it, in wall-clock and in
this process's CPU time (the machine is shared: the CPU time is the steadier figure). Then
runs `starbench-solver` through the whole harness (`api.evaluate`, robust evaluation off: one
trial per item, journal and report included) on the spatial datasets `pc_sp` and `sr` and
reports items per second; then the solver alone (the same requests answered one after the
other in one thread, no journal or report). Targets (issue #9): 1,000
spatial items in under 2 minutes on 2 cores; the solver at >= 50 items/s. The figures go to
docs/performance.md; nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnieval import api  # noqa: E402
from omnieval.benchmarks.starbench.perception import SPATIAL_PERCEPTION  # noqa: E402
from omnieval.benchmarks.starbench.synth import SPATIAL_REASONING, generate_starbench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spatial", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--room", default="auto", choices=["auto", "pyroomacoustics", "synthetic"])
    args = parser.parse_args()
    families = len(SPATIAL_PERCEPTION) + len(SPATIAL_REASONING)
    per_family = max(1, -(-args.spatial // families))  # rounded up
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "edition"
        started, cpu = time.perf_counter(), time.process_time()
        generate_starbench(out, per_family, args.seed, room=args.room)
        generated = time.perf_counter() - started
        generated_cpu = time.process_time() - cpu
        files = sum(1 for p in out.rglob("*.wav"))
        spatial = per_family * families
        print(f"cpus: {os.cpu_count()}")
        room = json.loads((out / "edition.json").read_text())["room"]
        print(f"room: {room}")
        print(
            f"generate: {spatial} spatial items ({per_family} per family, {files} wav files in "
            f"all) in {generated:.2f} s = {spatial / generated:.0f} spatial items/s "
            f"(CPU time of this process {generated_cpu:.2f} s)"
        )
        started, cpu = time.perf_counter(), time.process_time()
        outcome = api.evaluate(
            {
                "name": "bench",
                "output": str(Path(tmp) / "runs"),
                "benchmarks": [
                    {
                        "name": "starbench",
                        "args": {"data_dir": str(out), "data": "pc_sp+sr"},
                        "replicates": {"scheme": "none"},
                    }
                ],
                "models": ["starbench-solver"],
                "progress": False,
            }
        )
        solved = time.perf_counter() - started
        solved_cpu = time.process_time() - cpu
        correct = [
            g.metrics["accuracy"].value for g in outcome.results.groups if g.group == "overall"
        ]
        print(
            f"solver: {outcome.executed} items in {solved:.2f} s = {outcome.executed / solved:.0f} "
            f"items/s (whole harness; CPU time {solved_cpu:.2f} s = "
            f"{outcome.executed / solved_cpu:.0f} items per CPU second); accuracy per task min "
            f"{min(correct):.3f}"
        )
        solver_alone(out)


def solver_alone(edition: Path) -> None:
    """The solver without the harness: every pc_sp and sr request (as the tasks build them,
    r = 0) answered in one thread, one after the other."""
    from omnieval.benchmarks.starbench.solver import StarbenchSolver
    from omnieval.benchmarks.starbench.task import StarBenchmark

    tasks = StarBenchmark(edition, "pc_sp+sr").tasks()
    requests = [t.build_request(s, "default") for t in tasks for s in t.samples()]
    solver = StarbenchSolver()
    started, cpu = time.perf_counter(), time.process_time()
    for request in requests:
        solver.answer(request)
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"solver alone: {len(requests)} items in {wall:.2f} s = {len(requests) / wall:.0f} "
        f"items/s (CPU time {used:.2f} s = {len(requests) / used:.0f} items per CPU second)"
    )


if __name__ == "__main__":
    main()
