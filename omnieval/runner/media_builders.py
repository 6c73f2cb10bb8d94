"""Where the requests of media-building tasks are built.

A task that cuts or renders media while building a request (`Task.builds_media`: V-SYNC Level 2
prefix cuts) must not block the runner's event loop. In-process, its requests are built in a
worker thread (`build_in_thread`). Under `executor: ray` with `ray.prepare_media` they are built
as Ray tasks (`omnieval.runner.ray_media.RayMediaBuilder`), placed by Ray's scheduler on the
nodes that hold the data. Either way the request is the same, and so is the trial.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from omnieval.benchmarks.base import Task
from omnieval.runner.trial_request import build_trial_request
from omnieval.types import GenerationParams, Replicate, Request, Sample

if TYPE_CHECKING:
    from omnieval.config import RunConfig
    from omnieval.runner.plan import PlannedTrial


class MediaBuilder(Protocol):
    """Builds the request of one trial of a media-building task, off the event loop."""

    async def __call__(
        self,
        task: Task,
        sample: Sample,
        condition: str,
        replicate: Replicate,
        generation: GenerationParams,
    ) -> Request: ...


async def build_in_thread(
    task: Task,
    sample: Sample,
    condition: str,
    replicate: Replicate,
    generation: GenerationParams,
) -> Request:
    """The in-process builder: a worker thread of this process."""
    return await asyncio.to_thread(
        build_trial_request, task, sample, condition, replicate, generation
    )


def media_builder(config: RunConfig, pending: Sequence[PlannedTrial]) -> MediaBuilder:
    """The run's builder: Ray tasks under `executor: ray` with `ray.prepare_media` when a pending
    trial builds media, else worker threads."""
    builds = any(planned.task.builds_media for planned in pending)
    if builds and config.executor == "ray" and config.ray.prepare_media:
        from omnieval.runner.ray_media import RayMediaBuilder

        return RayMediaBuilder(config.ray, config.plugins)
    return build_in_thread
