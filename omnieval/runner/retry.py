"""Calling a model with a per-attempt timeout and exponential backoff on transient errors."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from omnieval.media import MediaError
from omnieval.models.base import (
    Model,
    ModelUnreachableError,
    PermanentModelError,
    TransientModelError,
)
from omnieval.runner.breaker import CircuitBreaker
from omnieval.types import Request, Response, TrialStatus


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry one request."""

    max_retries: int = 3
    base_s: float = 0.5
    max_s: float = 30.0
    timeout_s: float | None = 300.0
    #: the longest Retry-After honoured; a server asking for more fails the trial with the reason
    max_retry_after_s: float = 60.0

    def delay(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Backoff before attempt `attempt + 1`: full jitter, never less than Retry-After."""
        ceiling = min(self.max_s, self.base_s * (2 ** (attempt - 1)))
        jittered = rng.uniform(ceiling / 2, ceiling) if ceiling > 0 else 0.0
        return max(jittered, retry_after_s or 0.0)


async def generate_with_retries(
    model: Model,
    request: Request,
    policy: RetryPolicy,
    rng: random.Random,
    breaker: CircuitBreaker | None = None,
) -> Response:
    """A response, or a failed response carrying the last error; never raises for model errors.
    With a `breaker`, connection failures and timeouts are counted on it, and no further attempt
    is made once it is open."""
    attempt = 0
    while True:
        attempt += 1
        started = time.perf_counter()
        if breaker is not None and breaker.is_open:
            return _failed(breaker.reason, attempt - 1, started)
        retry_after: float | None = None
        try:
            if policy.timeout_s is None:
                response = await model.generate(request)
            else:
                response = await asyncio.wait_for(model.generate(request), policy.timeout_s)
        except TransientModelError as err:
            error, retry_after = f"{type(err).__name__}: {err}", err.retry_after_s
            if breaker is not None and isinstance(err, ModelUnreachableError):
                breaker.failure(error)
            if retry_after is not None and retry_after > policy.max_retry_after_s:
                return _failed(
                    f"the server asked to retry after {retry_after:g} s (Retry-After), more than "
                    f"max_retry_after_s={policy.max_retry_after_s:g} s; not waiting. Last error: "
                    f"{error}",
                    attempt,
                    started,
                )
        except asyncio.TimeoutError:
            error = f"timed out after {policy.timeout_s:g} s"
            if breaker is not None:
                breaker.failure(error)
        except (PermanentModelError, MediaError) as err:
            return _failed(f"{type(err).__name__}: {err}", attempt, started)
        except Exception as err:  # a bug in a model or provider must not stop the run
            return _failed(f"unexpected {type(err).__name__}: {err}", attempt, started)
        else:
            if breaker is not None:
                breaker.success()
            latency = response.latency_s or (time.perf_counter() - started)
            return response.model_copy(update={"attempts": attempt, "latency_s": latency})
        if attempt > policy.max_retries:
            return _failed(
                f"gave up after {attempt} attempts; last error: {error}", attempt, started
            )
        await asyncio.sleep(policy.delay(attempt, retry_after, rng))


def _failed(error: str, attempts: int, started: float) -> Response:
    return Response(
        status=TrialStatus.FAILED,
        error=error,
        attempts=attempts,
        latency_s=time.perf_counter() - started,
    )
