"""Endpoint pools with an adaptive concurrency limit per endpoint.

A pool holds one or more endpoints (replicas of one model). Each request leases a slot:

- **choice**: among the endpoints that are up and have a free slot, the one with the fewest
  requests in flight (ties: fewer recent failures, then round robin);
- **adaptive limit (AIMD)**: each endpoint starts at `max_concurrency` slots; a success adds one
  (up to `max_concurrency`), an overload signal (429, 5xx, timeout) halves the limit (at least
  one). Only a request that started after the last decrease can decrease it again, so a burst of
  429s from requests that were all in flight together counts as one signal (as TCP does per
  round trip);
- **waiting**: when no endpoint has a free slot, requests wait in arrival order;
- **health**: in a pool of two or more endpoints, one that fails `failure_threshold` times in a
  row with a connection error or a 5xx is marked down and skipped; a background probe (any HTTP
  answer below 500 from `GET {base}/models` or `{base}/health`, every `probe_interval_s`) brings
  it back. A lone endpoint is never marked down: there is nothing to route around, and the
  runner's backoff already spaces out attempts. When every endpoint is down, `acquire` raises
  `TransientModelError` so the runner backs off and retries.
- **parking**: an endpoint that asks for a long pause (a Retry-After above the caller's cap) is
  `park`ed: marked down for that long, without probes, while the other endpoints take its load;
  when every endpoint is down, `acquire`'s error carries the shortest remaining pause as its
  Retry-After (the runner then fails trials rather than wait past its own cap).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from omnieval.models.base import ModelUnreachableError

log = logging.getLogger("omnieval.models.pool")


class Outcome(str, enum.Enum):
    """How a leased request ended, as far as the pool cares."""

    SUCCESS = "success"  # a 2xx reply
    REFUSED = "refused"  # a 4xx other than 429: the server is fine, the request is not
    RATE_LIMITED = "rate_limited"  # 429: overload, not a failure of the endpoint
    SERVER_ERROR = "server_error"  # 5xx: overload and a failure of the endpoint
    TIMEOUT = "timeout"  # no reply in time: overload
    CONNECTION = "connection"  # refused / dropped connection: a failure of the endpoint
    CANCELLED = "cancelled"  # the caller gave up: no signal either way


_OVERLOAD = {Outcome.RATE_LIMITED, Outcome.SERVER_ERROR, Outcome.TIMEOUT}
_FAILURE = {Outcome.SERVER_ERROR, Outcome.CONNECTION}
_ANSWERED = {Outcome.SUCCESS, Outcome.REFUSED, Outcome.RATE_LIMITED}


@dataclass(eq=False)
class Endpoint:
    """One replica: its base URL, adaptive limit, requests in flight and health."""

    base_url: str
    max_limit: int
    limit: int = 0
    in_flight: int = 0
    up: bool = True
    failures: int = 0  # consecutive connection errors / 5xx
    last_decrease: int = -1  # lease ticket at the last decrease
    parked_until: float | None = None  # monotonic time a parked endpoint comes back
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.limit = self.limit or self.max_limit

    @property
    def free(self) -> int:
        return max(0, self.limit - self.in_flight) if self.up else 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "up": self.up,
            "limit": self.limit,
            "in_flight": self.in_flight,
            "failures": self.failures,
            "parked": self.parked_until is not None,
            **self.counts,
        }


@dataclass(frozen=True, eq=False)
class Lease:
    """A slot on one endpoint, held for one request; give it back with `EndpointPool.release`."""

    endpoint: Endpoint
    ticket: int


Probe = Callable[[str], Awaitable[bool]]


class EndpointPool:
    """Slots on a set of endpoints; see the module docstring."""

    def __init__(
        self,
        base_urls: Sequence[str],
        max_concurrency: int = 8,
        failure_threshold: int = 3,
        probe_interval_s: float = 2.0,
        probe: Probe | None = None,
    ) -> None:
        if not base_urls:
            raise ValueError("an endpoint pool needs at least one base URL")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, not {max_concurrency}")
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, not {failure_threshold}")
        self.endpoints = [Endpoint(url, max_concurrency) for url in base_urls]
        self.failure_threshold = failure_threshold
        self.probe_interval_s = probe_interval_s
        self.probe = probe
        self._tickets = itertools.count()
        self._ticket = 0
        self._rotation = itertools.count()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._probes: dict[int, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ leasing

    async def acquire(self) -> Lease:
        """A slot on the best endpoint, waiting for one if all are busy."""
        queued_behind_others = bool(self._waiters)
        while True:
            if not queued_behind_others:
                endpoint = self._pick()
                if endpoint is not None:
                    endpoint.in_flight += 1
                    self._ticket = next(self._tickets)
                    return Lease(endpoint, self._ticket)
            queued_behind_others = False
            if not any(e.up for e in self.endpoints):
                for ep in self.endpoints:
                    self._ensure_probe(ep)
                now = time.monotonic()
                probed = [e for e in self.endpoints if e.parked_until is None]
                waits = [max(0.0, e.parked_until - now) for e in self.endpoints if e.parked_until]
                retry_after = self.probe_interval_s if probed else min(waits)
                parked = f" ({len(waits)} parked on Retry-After)" if waits else ""
                raise ModelUnreachableError(
                    f"all {len(self.endpoints)} endpoints are down{parked} "
                    f"({', '.join(e.base_url for e in self.endpoints)}); probing them every "
                    f"{self.probe_interval_s:g} s",
                    retry_after_s=retry_after,
                )
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake(1)  # we were handed a slot we will not use: pass it on
                else:
                    self._forget(waiter)
                raise

    def release(self, lease: Lease, outcome: Outcome) -> None:
        """Give a slot back and learn from how its request ended."""
        ep = lease.endpoint
        ep.in_flight -= 1
        ep.counts[outcome.value] = ep.counts.get(outcome.value, 0) + 1
        if outcome is Outcome.SUCCESS and ep.limit < ep.max_limit:
            ep.limit += 1
        elif outcome in _OVERLOAD and lease.ticket > ep.last_decrease:
            ep.limit = max(1, ep.limit // 2)
            ep.last_decrease = self._ticket
        if outcome in _FAILURE:
            ep.failures += 1
            if ep.up and ep.failures >= self.failure_threshold and len(self.endpoints) > 1:
                self._mark_down(ep)
        elif outcome in _ANSWERED:
            ep.failures = 0
        self._wake(sum(e.free for e in self.endpoints))

    def _pick(self) -> Endpoint | None:
        best: Endpoint | None = None
        best_rank: tuple[int, int, int] | None = None
        turn = next(self._rotation)
        n = len(self.endpoints)
        for i, ep in enumerate(self.endpoints):
            if ep.free <= 0:
                continue
            rank = (ep.in_flight, ep.failures, (i - turn) % n)
            if best_rank is None or rank < best_rank:
                best, best_rank = ep, rank
        return best

    def _wake(self, count: int) -> None:
        while count > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    # ------------------------------------------------------------------ health

    def park(self, endpoint: Endpoint, seconds: float) -> bool:
        """Take `endpoint` out of rotation for `seconds` (it asked for that pause), if another
        endpoint can take its load; return whether it was parked (a lone endpoint never is)."""
        if len(self.endpoints) < 2:
            return False
        endpoint.parked_until = time.monotonic() + seconds
        if endpoint.up:
            endpoint.up = False
            log.warning(
                "endpoint %s asked to pause for %g s; parked, the other endpoints take its load",
                endpoint.base_url,
                seconds,
            )
            self._wake(len(self._waiters))
        loop = asyncio.get_running_loop()
        task = self._probes.get(id(endpoint))
        if task is not None and not task.done():
            task.cancel()
        self._probes[id(endpoint)] = loop.create_task(self._unpark_later(endpoint))
        return True

    async def _unpark_later(self, ep: Endpoint) -> None:
        while ep.parked_until is not None:
            remaining = ep.parked_until - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(remaining)
        ep.parked_until = None
        self._mark_up(ep)

    def _mark_down(self, ep: Endpoint) -> None:
        ep.up = False
        log.warning(
            "endpoint %s marked down after %d failures in a row; probing it every %g s",
            ep.base_url,
            ep.failures,
            self.probe_interval_s,
        )
        self._wake(len(self._waiters))  # waiters re-check: another endpoint, or "all down"
        self._ensure_probe(ep)

    def _ensure_probe(self, ep: Endpoint) -> None:
        """A live probe task for a down endpoint, in the running loop (a pool reused by a later
        `asyncio.run` starts its probes again there)."""
        if self.probe is None or ep.up or ep.parked_until is not None:
            return
        loop = asyncio.get_running_loop()
        task = self._probes.get(id(ep))
        if task is None or task.done() or task.get_loop() is not loop:
            self._probes[id(ep)] = loop.create_task(self._probe_until_up(ep))

    def _mark_up(self, ep: Endpoint) -> None:
        ep.up, ep.failures = True, 0
        ep.limit = max(1, ep.limit)
        log.warning("endpoint %s is back up", ep.base_url)
        self._wake(ep.free)

    async def _probe_until_up(self, ep: Endpoint) -> None:
        assert self.probe is not None
        while not ep.up:
            await asyncio.sleep(self.probe_interval_s)
            try:
                alive = await self.probe(ep.base_url)
            except Exception:  # a probe must never kill its loop
                alive = False
            if alive:
                self._mark_up(ep)

    def snapshot(self) -> list[dict[str, Any]]:
        return [ep.snapshot() for ep in self.endpoints]

    async def close(self) -> None:
        """Stop the health probes."""
        loop = asyncio.get_running_loop()
        tasks = [t for t in self._probes.values() if t.get_loop() is loop]
        self._probes = {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
