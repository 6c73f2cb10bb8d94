"""Latency the dynamic batcher adds: a lone request against `max_wait_ms`, and concurrent
`generate` calls for a model without `generate_batch`.

These were wall-clock bounds in tests/test_serve_batching.py; the tests now check the logic
(the batcher never waits on a timer longer than max_wait, and runs the calls of a batch at once)
and this script measures the time, with targets, on whatever machine runs it:

    python bench/bench_batcher_latency.py            # ~5 s

Targets: a lone request with max_wait 0 is answered within 40 ms; with max_wait 50 ms within
50-100 ms; four 100 ms `generate` calls in one batch take < 350 ms together (not 4 x 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from omnieval.models.base import Model
from omnieval.models.serve import DynamicBatcher
from omnieval.types import Request, Response, TextPart


class Echo(Model):
    name = "bench-echo"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    async def generate(self, request: Request) -> Response:
        await asyncio.sleep(self.delay_s)
        return Response(text=request.text())


class BatchEcho(Echo):
    async def generate_batch(self, requests: list[Request]) -> list[Response]:
        await asyncio.sleep(self.delay_s)
        return [Response(text=r.text()) for r in requests]


def _ask(i: int) -> Request:
    return Request(parts=(TextPart(text=f"echo {i}"),))


async def lone(max_wait_ms: float) -> float:
    batcher = DynamicBatcher(BatchEcho(), max_batch=8, max_wait_ms=max_wait_ms)
    started = time.perf_counter()
    await batcher.submit(_ask(0))
    elapsed = time.perf_counter() - started
    await batcher.close()
    return elapsed


async def concurrent_generate(delay_s: float) -> float:
    batcher = DynamicBatcher(Echo(delay_s), max_batch=8, max_wait_ms=20)
    started = time.perf_counter()
    await asyncio.gather(*(batcher.submit(_ask(i)) for i in range(4)))
    elapsed = time.perf_counter() - started
    await batcher.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rows = [
        ("lone request, max_wait 0 ms", lambda: lone(0), "< 40 ms"),
        ("lone request, max_wait 50 ms", lambda: lone(50), "50-100 ms"),
        ("4 x 100 ms generate in one batch", lambda: concurrent_generate(0.1), "< 350 ms"),
    ]
    for label, make, target in rows:
        times = [asyncio.run(make()) * 1000 for _ in range(args.repeats)]
        print(
            f"{label:36s} median {statistics.median(times):7.1f} ms  "
            f"max {max(times):7.1f} ms  (target {target})"
        )


if __name__ == "__main__":
    main()
