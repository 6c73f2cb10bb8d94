"""Media-building requests as Ray tasks (`executor: ray` with `ray.prepare_media`).

Each task object goes to Ray's object store once; each request is then built by a Ray task
(`media_num_cpus` CPUs plus any `media_resources`, so a custom resource such as `dataset` keeps
the work on the nodes that hold the data). What the task writes (a prefix cut, in the task's
media cache) must be on storage the model replicas read at the same path. An error raised while
building is raised again as itself, so the trial records the same error as in-process; a worker
that dies is retried by Ray.
"""

from __future__ import annotations

import asyncio
from typing import Any

from omnieval.benchmarks.base import Task
from omnieval.config import ConfigError, RaySettings
from omnieval.models.ray_pool import connect, ray_module
from omnieval.runner.trial_request import build_trial_request
from omnieval.types import GenerationParams, Replicate, Request, Sample


def _build_remote(
    plugins: list[str],
    task: Task,
    sample: Sample,
    condition: str,
    replicate: Replicate,
    generation: GenerationParams,
) -> Request:
    """The Ray task body, in a Ray worker (the run's plugins imported first)."""
    from omnieval.config import load_plugins

    load_plugins(plugins)
    return build_trial_request(task, sample, condition, replicate, generation)


class RayMediaBuilder:
    """A `MediaBuilder` whose requests are built by Ray tasks (see the module docstring)."""

    def __init__(self, settings: RaySettings, plugins: list[str] | None = None) -> None:
        ray = ray_module()
        connect(settings)
        self._ray = ray
        self._plugins = list(plugins or [])
        offered = ray.cluster_resources()
        missing = [name for name in settings.media_resources if name not in offered]
        if missing:
            raise ConfigError(
                f"ray.media_resources asks for {', '.join(map(repr, missing))}, which no node of "
                "the Ray cluster offers (start the nodes that hold the data with `ray start "
                f"--resources '{{\"{missing[0]}\": 1}}'`); cluster resources: {sorted(offered)}"
            )
        self._remote = ray.remote(_build_remote).options(
            num_cpus=settings.media_num_cpus,
            resources=dict(settings.media_resources) or None,
        )
        self._tasks: dict[int, tuple[Task, Any]] = {}  # id -> (task kept alive, its object ref)

    def _task_ref(self, task: Task) -> Any:
        held = self._tasks.get(id(task))
        if held is None:
            held = (task, self._ray.put(task))
            self._tasks[id(task)] = held
        return held[1]

    async def __call__(
        self,
        task: Task,
        sample: Sample,
        condition: str,
        replicate: Replicate,
        generation: GenerationParams,
    ) -> Request:
        ref = self._remote.remote(
            self._plugins, self._task_ref(task), sample, condition, replicate, generation
        )
        try:
            request: Request = await asyncio.wrap_future(ref.future())
        except self._ray.exceptions.RayTaskError as err:
            cause = getattr(err, "cause", None)
            if isinstance(cause, Exception):
                raise cause from None
            raise
        return request
