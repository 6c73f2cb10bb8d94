"""A circuit breaker per model: after N consecutive connection failures the model's remaining
trials are not attempted.

A connection failure is an attempt that got no reply at all (`ModelUnreachableError`: refused
or dropped connection, every endpoint down) or that timed out. Any reply resets the count. Once
open, the breaker stays open for the rest of the run: the model's remaining trials are journaled
as failed with the error `circuit open: <last error>` (never scored as wrong), so rerunning the
same command retries them once the endpoint is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("omnieval.runner")


class CircuitBreaker:
    """Counts consecutive connection failures of one model; `threshold` 0 never opens."""

    def __init__(
        self, model: str, threshold: int, on_open: Callable[[CircuitBreaker], None] | None = None
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.consecutive = 0
        self.last_error = ""
        self.is_open = False
        self._on_open = on_open

    @property
    def reason(self) -> str:
        """The error journaled for a trial that was not attempted because the circuit is open."""
        return f"circuit open: {self.last_error}"

    def success(self) -> None:
        if not self.is_open:
            self.consecutive = 0

    def failure(self, error: str) -> None:
        self.last_error = error
        self.consecutive += 1
        if self.threshold and not self.is_open and self.consecutive >= self.threshold:
            self.is_open = True
            log.warning(
                "model %s: %d consecutive connection failures; circuit open, its remaining "
                "trials are recorded as failed (rerun the same command to retry them); last "
                "error: %s",
                self.model,
                self.consecutive,
                error,
            )
            if self._on_open is not None:
                self._on_open(self)
