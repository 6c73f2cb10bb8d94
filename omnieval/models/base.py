"""The Model protocol: `async generate(request) -> response` plus declared capabilities."""

from __future__ import annotations

import abc
from typing import Any, Literal

from pydantic import Field

from omnieval.types import Frozen, Modality, Request, Response


class ModelError(Exception):
    """A model could not answer a request."""


class TransientModelError(ModelError):
    """Worth retrying: rate limit, timeout, server overload, dropped connection."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentModelError(ModelError):
    """Retrying cannot help: bad input, unreadable media, refused request."""


class ModelUnreachableError(TransientModelError):
    """No reply at all: connection refused or dropped, or every endpoint is down. The runner's
    circuit breaker counts these (omnieval.runner.breaker)."""


class PreflightError(Exception):
    """A model cannot work at all (endpoint down, model not served, missing extra or
    credentials); raised by `Model.preflight` before any trial runs. The message says what to do."""


OutputKind = Literal["text", "masks", "video"]


class JobPolling(Frozen):
    """How the runner polls a `jobs` model's provider jobs (omnieval.runner.jobs): the first
    wait, the cap the wait grows to (x1.5 per poll), and how long after its submission a job is
    abandoned (None: never)."""

    poll_interval_s: float = 2.0
    max_poll_interval_s: float = 30.0
    timeout_s: float | None = 3600.0


class ModelCapabilities(Frozen):
    """What a model accepts and produces, and how hard it may be driven.

    The runner enforces them: a model's concurrency never exceeds `max_concurrency`; a task
    needing an output kind the model does not produce is recorded as *unsupported* without
    calling the model; `reads_target` models (the `oracle`) are given the per-trial target;
    `jobs` models are driven through `submit` / `poll` so a resumed run polls a journaled
    provider job instead of paying for it twice.
    """

    inputs: frozenset[Modality] = Field(default_factory=lambda: frozenset({Modality.TEXT}))
    output: OutputKind = "text"
    #: further kinds the model can produce (a mask model that also answers questions in text)
    also_produces: frozenset[OutputKind] = frozenset()
    max_concurrency: int = 8
    reads_target: bool = False
    jobs: bool = False

    def produces(self, kind: str) -> bool:
        return kind == self.output or kind in self.also_produces


class Model(abc.ABC):
    """Anything that answers a request.

    Subclasses are registered with `@registry.models.register("name")` and built from the
    keyword arguments of a model spec. `fingerprint()` must change whenever a setting that can
    change answers changes, and must never contain secrets: it is part of every trial key.
    """

    name: str = "model"
    capabilities: ModelCapabilities = ModelCapabilities()

    @abc.abstractmethod
    async def generate(self, request: Request) -> Response:
        """Answer one request; raise TransientModelError to ask for a retry."""

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name}

    async def submit(self, request: Request) -> str:
        """Start a long-running provider job and return its id (models with `jobs`)."""
        raise NotImplementedError(f"{self.name} does not run provider jobs")

    async def poll(self, job_id: str) -> Response | None:
        """The finished job's response, or None while it is still running."""
        raise NotImplementedError(f"{self.name} does not run provider jobs")

    def job_polling(self) -> JobPolling:
        """Poll timing for this model's provider jobs (models with `jobs`)."""
        return JobPolling()

    async def preflight(  # noqa: B027 - optional hook, a no-op by default
        self, inputs: frozenset[Modality] = frozenset(Modality)
    ) -> None:
        """Check, before any trial, that this model can answer at all (endpoints reachable, the
        model served, optional extras importable, credentials present); raise `PreflightError`
        with a message that says what to fix. `inputs` are the modalities the run will send it.
        Called once per run unless `preflight: false`."""

    async def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections or workers; called once when a run ends."""
