"""Endpoint pools: adaptive limits, waiting, health, and failover between two real servers."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from omnieval.models.base import TransientModelError
from omnieval.models.openai_provider import OpenAIChat
from omnieval.models.pool import EndpointPool, Outcome, Probe
from omnieval.runner.retry import RetryPolicy, generate_with_retries
from omnieval.types import Request, TextPart
from tests.loopback import LoopbackConfig, LoopbackServer


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


# --------------------------------------------------------------------------- adaptive limit


def test_aimd_halves_once_per_burst_and_grows_back_by_one() -> None:
    async def scenario() -> list[int]:
        pool = EndpointPool(["http://a/v1"], max_concurrency=8)
        ep = pool.endpoints[0]
        burst = [await pool.acquire() for _ in range(8)]
        seen = [ep.limit]
        pool.release(burst[0], Outcome.RATE_LIMITED)  # 8 -> 4
        seen.append(ep.limit)
        pool.release(burst[1], Outcome.SERVER_ERROR)  # same burst: no second decrease
        pool.release(burst[2], Outcome.TIMEOUT)
        seen.append(ep.limit)
        for lease in burst[3:]:
            pool.release(lease, Outcome.CANCELLED)  # no signal
        seen.append(ep.limit)
        later = await pool.acquire()  # started after the decrease
        pool.release(later, Outcome.RATE_LIMITED)  # 4 -> 2
        seen.append(ep.limit)
        for _ in range(10):
            pool.release(await pool.acquire(), Outcome.SUCCESS)
        seen.append(ep.limit)  # +1 per success, capped at 8
        for _ in range(5):
            pool.release(await pool.acquire(), Outcome.RATE_LIMITED)
        seen.append(ep.limit)  # never below 1
        return seen

    assert _run(scenario()) == [8, 4, 4, 4, 2, 8, 1]


def test_requests_wait_for_a_slot_in_arrival_order() -> None:
    async def scenario() -> list[str]:
        pool = EndpointPool(["http://a/v1"], max_concurrency=1)
        order: list[str] = []
        first = await pool.acquire()

        async def later(name: str) -> None:
            lease = await pool.acquire()
            order.append(name)
            await asyncio.sleep(0)
            pool.release(lease, Outcome.SUCCESS)

        tasks = [asyncio.create_task(later(n)) for n in "xyz"]
        await asyncio.sleep(0.01)
        assert order == [] and pool.endpoints[0].in_flight == 1
        pool.release(first, Outcome.SUCCESS)
        await asyncio.gather(*tasks)
        assert pool.endpoints[0].in_flight == 0
        return order

    assert _run(scenario()) == ["x", "y", "z"]


def test_a_cancelled_waiter_leaks_no_slot() -> None:
    async def scenario() -> int:
        pool = EndpointPool(["http://a/v1"], max_concurrency=1)
        held = await pool.acquire()
        waiting = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        waiting.cancel()
        pool.release(held, Outcome.SUCCESS)
        with pytest.raises(asyncio.CancelledError):
            await waiting
        again = await asyncio.wait_for(pool.acquire(), 1)
        pool.release(again, Outcome.SUCCESS)
        return pool.endpoints[0].in_flight

    assert _run(scenario()) == 0


def test_fewest_outstanding_endpoint_is_chosen() -> None:
    async def scenario() -> list[int]:
        pool = EndpointPool(["http://a/v1", "http://b/v1", "http://c/v1"], max_concurrency=4)
        leases = [await pool.acquire() for _ in range(7)]
        counts = [ep.in_flight for ep in pool.endpoints]
        pool.release(leases[0], Outcome.SUCCESS)
        pool.release(leases[3], Outcome.SUCCESS)
        nxt = await pool.acquire()
        assert nxt.endpoint in (leases[0].endpoint, leases[3].endpoint)
        return sorted(counts)

    assert _run(scenario()) == [2, 2, 3]


# --------------------------------------------------------------------------- health


def _probed_pair(failure_threshold: int, probe_interval_s: float, probe: Probe) -> EndpointPool:
    """Endpoints a and b, two requests in flight each, down after `failure_threshold` failures
    and probed every `probe_interval_s` by `probe`."""
    return EndpointPool(
        ["http://a/v1", "http://b/v1"],
        max_concurrency=2,
        failure_threshold=failure_threshold,
        probe_interval_s=probe_interval_s,
        probe=probe,
    )


def test_failing_endpoint_is_marked_down_skipped_and_probed_back() -> None:
    alive = {"http://a/v1": False}
    probes: list[str] = []

    async def probe(url: str) -> bool:
        probes.append(url)
        return alive.get(url, True)

    async def scenario() -> None:
        pool = _probed_pair(failure_threshold=2, probe_interval_s=0.02, probe=probe)
        a, b = pool.endpoints
        first, second = await pool.acquire(), await pool.acquire()
        assert {first.endpoint, second.endpoint} == {a, b}  # fewest in flight: one each
        on_a, on_b = (first, second) if first.endpoint is a else (second, first)
        pool.release(on_a, Outcome.CONNECTION)
        again = await pool.acquire()  # a has none in flight, b one
        assert again.endpoint is a
        pool.release(again, Outcome.CONNECTION)
        pool.release(on_b, Outcome.SUCCESS)
        assert not a.up and b.up
        for _ in range(5):
            lease = await pool.acquire()
            assert lease.endpoint is b
            pool.release(lease, Outcome.SUCCESS)
        while len(probes) < 2:  # wait for the prober (bounded by _run's timeout), not a clock
            await asyncio.sleep(0.01)
        assert not a.up  # probed, still dead
        alive["http://a/v1"] = True
        while not a.up:
            await asyncio.sleep(0.01)
        assert a.up and a.failures == 0
        leases = [await pool.acquire() for _ in range(4)]
        assert {lease.endpoint for lease in leases} == {a, b}
        await pool.close()

    _run(scenario())


def test_rate_limits_never_mark_down_and_a_lone_endpoint_stays_up() -> None:
    async def scenario() -> None:
        pair = EndpointPool(["http://a/v1", "http://b/v1"], max_concurrency=4, failure_threshold=1)
        for _ in range(6):
            pair.release(await pair.acquire(), Outcome.RATE_LIMITED)
            pair.release(await pair.acquire(), Outcome.TIMEOUT)
        assert all(ep.up for ep in pair.endpoints)
        lone = EndpointPool(["http://a/v1"], max_concurrency=4, failure_threshold=1)
        for _ in range(5):
            lone.release(await lone.acquire(), Outcome.CONNECTION)
        assert lone.endpoints[0].up

    _run(scenario())


def test_all_endpoints_down_is_transient() -> None:
    async def never(url: str) -> bool:
        return False

    async def scenario() -> TransientModelError:
        pool = _probed_pair(failure_threshold=1, probe_interval_s=5, probe=never)
        blocked = [await pool.acquire() for _ in range(4)]
        waiting = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        for lease in blocked:
            pool.release(lease, Outcome.SERVER_ERROR)
        with pytest.raises(TransientModelError) as caught:
            await waiting
        with pytest.raises(TransientModelError):
            await pool.acquire()
        await pool.close()
        return caught.value

    err = _run(scenario())
    assert "all 2 endpoints are down" in str(err) and err.retry_after_s == 5


# --------------------------------------------------------------------------- two real servers


@pytest.mark.timeout(60)
def test_pool_survives_a_killed_replica_and_uses_it_again_when_back() -> None:
    # Replica one holds every request from its 16th on, so the kill provably cuts requests in
    # flight on it (the test waits for two held ones: enough to mark it down).
    config = LoopbackConfig(reply="A", delay_s=0.02, hold_from=15)
    with (
        LoopbackServer(config) as one,
        LoopbackServer(LoopbackConfig(reply="A", delay_s=0.02)) as two,
    ):
        model = OpenAIChat(
            model="m",
            base_urls=[one.url, two.url],
            max_concurrency=4,
            failure_threshold=2,
            probe_interval_s=0.1,
            timeout_s=5,
        )
        policy = RetryPolicy(max_retries=6, base_s=0.02, max_s=0.2, timeout_s=10)
        rng = random.Random(0)
        request = Request(parts=(TextPart(text="A. yes B. no"),))

        async def scenario() -> dict[str, Any]:
            async def ask() -> Any:
                return await generate_with_retries(model, request, policy, rng)

            async def killer() -> None:
                assert await asyncio.to_thread(one.wait_held, 2, 60), "nothing held on one"
                await asyncio.to_thread(one.kill)
                one.release()  # held handlers end on dropped connections; later ones pass

            first = await asyncio.gather(*(ask() for _ in range(80)), killer())
            responses = first[:-1]
            served_by_one = one.chat_requests
            down = [ep["up"] for ep in model.pool.snapshot()]
            await asyncio.to_thread(one.restart)
            while not model.pool.endpoints[0].up:  # the pool's probe brings it back
                await asyncio.sleep(0.05)
            back = model.pool.endpoints[0].up
            more = await asyncio.gather(*(ask() for _ in range(40)))
            await model.close()
            return {
                "responses": responses + list(more),
                "served_by_one": served_by_one,
                "down": down,
                "back": back,
            }

        result = _run(scenario())
        after = one.chat_requests
    responses = result["responses"]
    assert all(not r.failed and r.text == "A" for r in responses), [r.error for r in responses]
    assert any(r.attempts > 1 for r in responses[:80])  # requests in flight on it were retried
    assert result["down"] == [False, True]  # the killed replica was marked down
    assert result["back"]
    assert after > result["served_by_one"]  # used again once it came back
    assert two.chat_requests >= 80 - result["served_by_one"]
