"""V-SYNC Levels 2/3: generation, the prefix cut (cold and cached), and the solver's "when" rate.

    python bench/bench_vsync_level2.py [--n 60] [--seed 0] [--speech formant|espeak|auto]

Generates an edition of `--n` items into a temporary directory (one worker), cuts every item's
prefix [0, t) into an empty media cache (cold) and again (cached: a content digest and a file
check), then runs `vsync-solver` on Level 2 under avt / vt / at through the whole harness
(`api.evaluate`, journal and report included) and prints the accuracies next to the always-yes
and majority baselines. Then two cold runs (empty prefix cache) of Level 2 under avt: one as
the runner does it (requests of a `builds_media` task built in worker threads) and one with the
cut forced onto the event loop (as before), each with a heartbeat coroutine on the run's loop
that records the loop's longest stall. Ratios measured in one run are what to compare; the
machine is shared.
The figures go to docs/performance.md; nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnieval import api  # noqa: E402
from omnieval.benchmarks.vsync.level2_task import VsyncWhen  # noqa: E402
from omnieval.benchmarks.vsync.prefix import video_prefix  # noqa: E402
from omnieval.benchmarks.vsync.synth_when import VsyncWhenConfig, generate_vsync_when  # noqa: E402
from omnieval.media import MediaCache  # noqa: E402
from omnieval.runner.run import execute_async  # noqa: E402


def run_stalls(edition: Path, work: Path, threaded: bool, name: str) -> tuple[float, list[float]]:
    """(wall seconds, event-loop stalls in seconds) of a Level 2 avt run with the prefix cache
    `work/cache-<threaded>`; `threaded=False` forces the prefix cut onto the loop (as before)."""
    config, redactor = api.load_config(
        {
            "name": name,
            "output": str(work / "runs"),
            "progress": False,
            "benchmarks": [
                {
                    "name": "vsync-level2",
                    "args": {
                        "data_dir": str(edition),
                        "levels": ["when"],
                        "cache_dir": str(work / f"cache-{threaded}"),
                    },
                    "variants": ["avt"],
                }
            ],
            "models": ["vsync-solver"],
        }
    )

    async def watched() -> list[float]:
        loop = asyncio.get_running_loop()
        stalls: list[float] = []

        async def heartbeat() -> None:
            last = loop.time()
            while True:
                await asyncio.sleep(0.005)
                now = loop.time()
                stalls.append(max(0.0, now - last - 0.005))
                last = now

        beat = asyncio.create_task(heartbeat())
        await execute_async(config, redactor)
        beat.cancel()
        return stalls

    config.run_dir.mkdir(parents=True, exist_ok=True)
    VsyncWhen.builds_media = threaded
    try:
        started = time.perf_counter()
        stall = asyncio.run(watched())
        return time.perf_counter() - started, stall
    finally:
        VsyncWhen.builds_media = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speech", default="formant", choices=["auto", "espeak", "formant"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "edition"
        started = time.perf_counter()
        generate_vsync_when(out, args.n, args.seed, VsyncWhenConfig(speech=args.speech))
        generated = time.perf_counter() - started
        print(f"generate: {args.n} items in {generated:.2f} s = {generated / args.n:.3f} s/item")

        level = out / "data" / "level_2"
        items = json.loads((level / "annotations.json").read_text(encoding="utf-8"))
        cache = MediaCache(Path(tmp) / "cache")
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            for item in items:
                video_prefix(
                    level / "videos" / item["video_file"], float(item["synth"]["t"]), cache
                )
            timings.append(time.perf_counter() - started)
        cold, warm = timings
        print(
            f"prefix cut: cold {cold / args.n * 1000:.1f} ms/item, cached "
            f"{warm / args.n * 1000:.2f} ms/item (ratio {cold / warm:.0f}x)"
        )

        started = time.perf_counter()
        outcome = api.evaluate(
            {
                "name": "bench",
                "output": str(Path(tmp) / "runs"),
                "progress": False,
                "benchmarks": [
                    {
                        "name": "vsync-level2",
                        "args": {
                            "data_dir": str(out),
                            "levels": ["when"],
                            "cache_dir": str(cache.directory),
                        },
                        "variants": ["avt", "vt", "at"],
                    }
                ],
                "models": ["vsync-solver"],
            }
        )
        solved = time.perf_counter() - started
        trials = 3 * args.n
        print(
            f"solver run: {trials} when-trials in {solved:.2f} s = {trials / solved:.1f} trials/s"
        )
        for condition in ("avt", "vt", "at"):
            m = outcome.results.find("vsync-solver", condition, "vsync/when").metrics
            print(
                f"  {condition}: accuracy {m['accuracy'].value:.3f}, macro-F1 "
                f"{m['macro_f1'].value:.3f} | always-yes {m['always_yes_accuracy'].value:.3f}, "
                f"majority {m['majority_accuracy'].value:.3f}"
            )

        for threaded, name in ((True, "cold"), (True, "warm"), (False, "cold")):
            wall, stalls = run_stalls(out, Path(tmp), threaded, f"{name}-{threaded}")
            where = "in worker threads" if threaded else "on the event loop"
            long = sum(s > 0.1 for s in stalls)
            print(
                f"{name} run, prefix cut {where}: {args.n} when-trials in {wall:.2f} s; loop "
                f"stalls > 100 ms: {long}, total {sum(stalls):.2f} s, longest "
                f"{max(stalls, default=0) * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
