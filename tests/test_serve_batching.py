"""Dynamic batching in `omnieval serve`: the batcher on its own, and behind a real server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from omnieval.models.base import Model, PermanentModelError
from omnieval.models.serve import (
    BackgroundServer,
    BatchedModel,
    BatcherClosed,
    DynamicBatcher,
    batching,
    supports_batching,
)
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.types import Request, Response, TextPart


def ask(token: str) -> Request:
    return Request(parts=(TextPart(text=f"echo {token}"),))


def token(request: Request) -> str:
    return request.text().split()[-1]


class BatchEcho(Model):
    """Echoes each prompt's last word; costs one fixed delay per batch; records batch sizes."""

    name = "batch-echo"

    def __init__(self, delay_s: float = 0.02) -> None:
        self.delay_s = delay_s
        self.sizes: list[int] = []
        self.active = 0
        self.most_active = 0

    async def generate(self, request: Request) -> Response:
        raise AssertionError("a model with generate_batch is called through generate_batch")

    async def generate_batch(self, requests: list[Request]) -> list[Response]:
        self.sizes.append(len(requests))
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.active -= 1
        return [Response(text=token(r)) for r in requests]


class SlowEcho(Model):
    """No generate_batch: the batcher runs its `generate` calls concurrently."""

    name = "slow-echo"

    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self.active = 0
        self.most_active = 0

    async def generate(self, request: Request) -> Response:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.active -= 1
        if token(request) == "bad":
            raise PermanentModelError("bad request")
        return Response(text=token(request))


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


# --------------------------------------------------------------------------- the protocol


def test_supports_batching_needs_an_async_generate_batch() -> None:
    class SyncBatch(SlowEcho):
        def generate_batch(self, requests: list[Request]) -> list[Response]:  # not async
            return []

    assert supports_batching(BatchEcho())
    assert isinstance(BatchEcho(), BatchedModel)
    assert not supports_batching(SlowEcho())
    assert not supports_batching(SyncBatch())


# --------------------------------------------------------------------------- the batcher


def test_batches_are_capped_at_max_batch_and_keep_order() -> None:
    model = BatchEcho(delay_s=0.01)

    async def main() -> list[str | None]:
        batcher = DynamicBatcher(model, max_batch=8, max_wait_ms=20)
        answers = await asyncio.gather(*(batcher.submit(ask(str(i))) for i in range(20)))
        await batcher.close()
        assert batcher.stats.requests == 20
        return [a.text for a in answers]

    assert run(main()) == [str(i) for i in range(20)]
    assert model.sizes == [8, 8, 4]
    assert model.most_active == 1  # one batch at a time by default


def test_a_lone_request_waits_at_most_max_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # The collector waits for companions on a timer; record every wait it starts. How long the
    # wait really takes on a busy machine is measured in bench/bench_batcher_latency.py.
    waits: list[float] = []
    real_wait_for = asyncio.wait_for

    async def recording_wait_for(aw: Any, timeout: float | None) -> Any:
        waits.append(float("inf") if timeout is None else timeout)
        return await real_wait_for(aw, timeout)

    async def lone(max_wait_ms: float) -> tuple[float, list[float]]:
        model = BatchEcho(delay_s=0.0)
        batcher = DynamicBatcher(model, max_batch=8, max_wait_ms=max_wait_ms)
        waits.clear()
        started = time.perf_counter()
        with monkeypatch.context() as patch:
            patch.setattr(batching.asyncio, "wait_for", recording_wait_for)
            answer = await batcher.submit(ask("x"))
        elapsed = time.perf_counter() - started
        await batcher.close()
        assert answer.text == "x" and model.sizes == [1]  # dispatched alone, no companion came
        return elapsed, list(waits)

    elapsed, timers = asyncio.run(asyncio.wait_for(lone(50), 20))
    assert elapsed >= 0.045  # it did wait for companions (a busy machine only adds to this)
    assert timers and all(0 < t <= 0.05 for t in timers)  # ... never longer than max_wait
    _, timers = asyncio.run(asyncio.wait_for(lone(0), 20))
    assert timers == []  # max_wait 0: dispatched without waiting on any timer


def test_without_generate_batch_the_batch_runs_generate_concurrently() -> None:
    model = SlowEcho(delay_s=0.1)

    async def main() -> tuple[list[Any], float]:
        batcher = DynamicBatcher(model, max_batch=8, max_wait_ms=20)
        started = time.perf_counter()
        results = await asyncio.gather(
            *(batcher.submit(ask(t)) for t in ["a", "bad", "c", "d"]), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
        await batcher.close()
        assert batcher.stats.sizes == {4: 1}
        return results, elapsed

    results, _ = run(main())
    assert model.most_active == 4  # all four generate calls were in flight at once
    assert [r.text for r in results if isinstance(r, Response)] == ["a", "c", "d"]
    assert isinstance(results[1], PermanentModelError)  # one failure stays with its request


def test_generate_batch_errors_reach_the_right_requests() -> None:
    class Picky(BatchEcho):
        async def generate_batch(self, requests: list[Request]) -> list[Any]:
            if any(token(r) == "boom" for r in requests):
                raise RuntimeError("the whole batch failed")
            if any(token(r) == "short" for r in requests):
                return []
            return [
                PermanentModelError("no") if token(r) == "no" else Response(text=token(r))
                for r in requests
            ]

    async def results(tokens: list[str]) -> list[Any]:
        batcher = DynamicBatcher(Picky(), max_batch=8, max_wait_ms=10)
        out = await asyncio.gather(
            *(batcher.submit(ask(t)) for t in tokens), return_exceptions=True
        )
        await batcher.close()
        return out

    mixed = run(results(["a", "no", "b"]))
    assert mixed[0].text == "a" and mixed[2].text == "b"
    assert isinstance(mixed[1], PermanentModelError)
    assert all(isinstance(r, RuntimeError) for r in run(results(["a", "boom"])))
    short = run(results(["a", "short"]))
    assert all(isinstance(r, RuntimeError) and "returned 0 responses" in str(r) for r in short)


def test_close_finishes_queued_requests_then_refuses_new_ones() -> None:
    async def main() -> None:
        batcher = DynamicBatcher(BatchEcho(delay_s=0.02), max_batch=2, max_wait_ms=5)
        pending = [asyncio.ensure_future(batcher.submit(ask(str(i)))) for i in range(6)]
        await asyncio.sleep(0)  # queued
        await batcher.close()
        assert [p.result().text for p in pending] == [str(i) for i in range(6)]
        with pytest.raises(BatcherClosed):
            await batcher.submit(ask("late"))

    run(main())


def test_a_cancelled_request_is_not_run() -> None:
    model = BatchEcho(delay_s=0.05)

    async def main() -> None:
        # max_batch=2: the batch is full once both are queued, so no timer is involved. Both
        # submissions run, then this coroutine (cancelling one), then the collector, in order.
        batcher = DynamicBatcher(model, max_batch=2, max_wait_ms=30_000)
        first = asyncio.ensure_future(batcher.submit(ask("keep")))
        gone = asyncio.ensure_future(batcher.submit(ask("gone")))
        await asyncio.sleep(0)
        gone.cancel()
        assert (await first).text == "keep"
        await batcher.close()

    run(main())
    assert model.sizes == [1]


def test_batches_in_flight_lets_batches_overlap() -> None:
    model = BatchEcho(delay_s=0.1)

    async def main() -> None:
        batcher = DynamicBatcher(model, max_batch=2, max_wait_ms=0, batches_in_flight=3)
        await asyncio.gather(*(batcher.submit(ask(str(i))) for i in range(6)))
        await batcher.close()

    run(main())
    assert model.most_active == 3


# --------------------------------------------------------------------------- over HTTP


def test_concurrent_http_requests_are_batched() -> None:
    model = BatchEcho(delay_s=0.02)
    # A long max_wait: a batch leaves when it is full (8 of the 16 requests), not when a clock
    # runs out, so the batch sizes do not depend on how fast the machine delivers requests.
    app = create_app(model, ServeOptions(alias="echo", max_batch=8, max_wait_ms=60_000))

    async def drive(url: str) -> list[str]:
        async with aiohttp.ClientSession() as session:

            async def one(i: int) -> str:
                body = {"model": "echo", "messages": [{"role": "user", "content": f"echo t{i}"}]}
                async with session.post(url + "/v1/chat/completions", json=body) as reply:
                    assert reply.status == 200, await reply.text()
                    data = await reply.json()
                    return str(data["choices"][0]["message"]["content"])

            return list(await asyncio.gather(*(one(i) for i in range(16))))

    with BackgroundServer(app) as server:
        answers = asyncio.run(asyncio.wait_for(drive(server.url), 30))
        stats = aiohttp_get_json(server.url + "/stats")
    assert answers == [f"t{i}" for i in range(16)]  # every answer went to its own request
    assert model.sizes == [8, 8]
    assert stats["requests"] == 16 and stats["batched_model"] is True
    assert stats["batch_sizes"] == {"8": 2}


def aiohttp_get_json(url: str) -> Any:
    async def get() -> Any:
        async with aiohttp.ClientSession() as session, session.get(url) as reply:
            return await reply.json()

    return asyncio.run(get())
