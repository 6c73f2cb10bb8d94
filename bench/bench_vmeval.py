"""The generated VMEvalKit edition: generation time and verifier throughput.

    python bench/bench_vmeval.py [--tasks 1000] [--workers 2] [--seed 0]

Generates `--tasks` tasks (rounded up to a whole number per domain) with their ground-truth
solution videos into a temporary directory on `--workers` processes and times it; then verifies
every solution video (decode the last frames, read the board by template matching, check the
state) on one process and on `--workers` processes, and reports videos per second. Every video
must verify as solved (a sanity check of the run). Targets (issue #11): 1,000 tasks with their
videos in under 3 minutes; verifying at >= 20 videos/s on 2 cores. The figures go to
docs/performance.md; nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnieval.benchmarks.vmeval.domains import DOMAINS  # noqa: E402
from omnieval.benchmarks.vmeval.layout import discover  # noqa: E402
from omnieval.benchmarks.vmeval.synth import generate_vmeval  # noqa: E402
from omnieval.benchmarks.vmeval.verify import verify_video  # noqa: E402


def _verify(job: tuple[str, dict, Path]) -> bool:
    domain, meta, video = job
    return verify_video(domain, meta, video).solved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    per_domain = -(-args.tasks // len(DOMAINS))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "questions"
        started = time.perf_counter()
        generate_vmeval(out, per_domain, args.seed, workers=args.workers)
        generated = time.perf_counter() - started
        questions = discover(out).all()
        size = sum(p.stat().st_size for p in out.rglob("ground_truth.mp4"))
        print(f"cpus: {os.cpu_count()}, workers: {args.workers}")
        print(
            f"generate: {len(questions)} tasks ({per_domain} per domain) with solution videos "
            f"({size / 1e6:.1f} MB of video) in {generated:.1f} s = "
            f"{len(questions) / generated:.1f} tasks/s"
        )
        jobs = [(q.domain, q.metadata, q.ground_truth_video) for q in questions]
        started = time.perf_counter()
        single = [_verify(job) for job in jobs[: len(jobs) // 4]]
        one = time.perf_counter() - started
        print(f"verify, 1 process: {len(single)} videos in {one:.2f} s = {len(single) / one:.1f}"
              " videos/s")
        started = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            solved = list(pool.map(_verify, jobs, chunksize=16))
        many = time.perf_counter() - started
        print(f"verify, {args.workers} processes: {len(solved)} videos in {many:.2f} s = "
              f"{len(solved) / many:.1f} videos/s")
        if not all(solved) or not all(single):
            raise SystemExit("error: a solution video did not verify as solved")


if __name__ == "__main__":
    main()
