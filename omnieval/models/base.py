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


class ModelCapabilities(Frozen):
    """What a model accepts and produces, and how hard it may be driven."""

    inputs: frozenset[Modality] = Field(default_factory=lambda: frozenset({Modality.TEXT}))
    output: Literal["text", "masks", "video"] = "text"
    max_concurrency: int = 8


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

    async def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections or workers; called once when a run ends."""
