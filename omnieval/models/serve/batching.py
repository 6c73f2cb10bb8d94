"""Dynamic batching: gather up to `max_batch` requests within `max_wait_ms`, run them as one batch.

The optional batched-model protocol
-----------------------------------
A model may implement, besides `generate`,

```python
async def generate_batch(self, requests: list[Request]) -> list[Response]:
    ...
```

returning one entry per request, in order. An entry may also be an exception instance (e.g. a
`PermanentModelError`) to fail that request alone; raising fails the whole batch. When the method
is present (an `async def` named `generate_batch`, see `supports_batching`), the batcher calls it
once per batch; otherwise it runs the batch's `generate` calls concurrently.

Scheduling
----------
One collector task forms batches. The wait for more requests starts when the batch's *first*
request arrived, not when the collector got round to it, so requests that queued while the
previous batch ran are dispatched at once. At most `batches_in_flight` batches run at a time
(default 1: one accelerator, one batch); the next batch is formed only when a slot is free, so it
is as full as the queue allows.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from omnieval.models.base import Model
from omnieval.types import Request, Response


@runtime_checkable
class BatchedModel(Protocol):
    """A model that answers a list of requests in one call (see the module doc)."""

    async def generate_batch(self, requests: list[Request]) -> list[Response]: ...


def supports_batching(model: object) -> bool:
    """True when `model` has an `async def generate_batch(requests)` method."""
    method = getattr(model, "generate_batch", None)
    return callable(method) and inspect.iscoroutinefunction(method)


class BatcherClosed(RuntimeError):
    """The batcher no longer takes requests (the server is shutting down)."""


@dataclass
class _Item:
    request: Request
    future: asyncio.Future[Response]
    arrived: float


@dataclass
class BatchStats:
    """Counts for `/stats` and benchmarks."""

    batches: int = 0
    requests: int = 0
    sizes: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "requests": self.requests,
            "mean_batch_size": round(self.requests / self.batches, 3) if self.batches else 0.0,
            "batch_sizes": {str(k): v for k, v in sorted(self.sizes.items())},
        }


class DynamicBatcher:
    """Runs submitted requests through `model` in dynamically formed batches."""

    def __init__(
        self,
        model: Model,
        max_batch: int = 8,
        max_wait_ms: float = 5.0,
        batches_in_flight: int = 1,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must not be negative, not {max_wait_ms}")
        if batches_in_flight < 1:
            raise ValueError(f"batches_in_flight must be at least 1, not {batches_in_flight}")
        self.model = model
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self.batches_in_flight = batches_in_flight
        self.batched = supports_batching(model)
        self.stats = BatchStats()
        self._pending: deque[_Item] = deque()
        self._arrived = asyncio.Event()
        self._slots = asyncio.Semaphore(batches_in_flight)
        self._running: set[asyncio.Task[None]] = set()
        self._collector: asyncio.Task[None] | None = None
        self._closed = False

    # ------------------------------------------------------------------ public

    def start(self) -> None:
        """Start the collector on the running event loop."""
        if self._collector is None:
            self._collector = asyncio.get_running_loop().create_task(
                self._collect(), name="omnieval-serve-batcher"
            )

    async def submit(self, request: Request) -> Response:
        """Queue `request`; return its response (or raise what the model raised for it)."""
        if self._closed:
            raise BatcherClosed("the server is shutting down")
        self.start()
        loop = asyncio.get_running_loop()
        item = _Item(request, loop.create_future(), time.monotonic())
        self._pending.append(item)
        self._arrived.set()
        return await item.future

    async def close(self) -> None:
        """Finish what is queued and running, then stop the collector."""
        self._closed = True
        while self._pending or self._running:
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            else:
                await asyncio.sleep(0.005)
        if self._collector is not None:
            self._collector.cancel()
            await asyncio.gather(self._collector, return_exceptions=True)
            self._collector = None

    # ------------------------------------------------------------------ collector

    async def _collect(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                batch = await self._next_batch()
            except BaseException:
                self._slots.release()
                raise
            if not batch:
                self._slots.release()
                continue
            task = asyncio.get_running_loop().create_task(self._execute(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)

    async def _next_batch(self) -> list[_Item]:
        while not self._pending:
            self._arrived.clear()
            await self._arrived.wait()
        deadline = self._pending[0].arrived + self.max_wait_s
        while len(self._pending) < self.max_batch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                break
        batch: list[_Item] = []
        while self._pending and len(batch) < self.max_batch:
            item = self._pending.popleft()
            if not item.future.done():  # a client that went away is not run
                batch.append(item)
        return batch

    async def _execute(self, batch: list[_Item]) -> None:
        self.stats.batches += 1
        self.stats.requests += len(batch)
        self.stats.sizes[len(batch)] += 1
        try:
            results = await self._run_model([item.request for item in batch])
        except asyncio.CancelledError:
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(BatcherClosed("the server is shutting down"))
            raise
        finally:
            self._slots.release()
        # Let the collector start the next batch before this one's answers are sent: sending
        # them costs event-loop time that would otherwise sit between two model calls.
        await asyncio.sleep(0)
        for item, result in zip(batch, results, strict=True):
            if item.future.done():
                continue
            if isinstance(result, asyncio.CancelledError):
                item.future.set_exception(BatcherClosed("the request was cancelled"))
            elif isinstance(result, BaseException):
                item.future.set_exception(result)
            elif isinstance(result, Response):
                item.future.set_result(result)
            else:
                item.future.set_exception(
                    TypeError(
                        f"{type(self.model).__name__} returned {type(result).__name__}, "
                        "not a Response"
                    )
                )

    async def _run_model(self, requests: list[Request]) -> list[Any]:
        """One entry per request: its Response, or the exception that failed it."""
        try:
            if self.batched:
                results = list(await self.model.generate_batch(requests))  # type: ignore[attr-defined]
                if len(results) != len(requests):
                    raise RuntimeError(
                        f"{type(self.model).__name__}.generate_batch returned {len(results)} "
                        f"responses for {len(requests)} requests"
                    )
                return results
            return list(
                await asyncio.gather(
                    *(self.model.generate(r) for r in requests), return_exceptions=True
                )
            )
        except asyncio.CancelledError:
            raise
        except Exception as err:
            return [err] * len(requests)
