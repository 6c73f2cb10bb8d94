"""Model replicas as Ray actors (`executor: ray`): local models across GPUs and nodes.

`RayReplicaPool` is a `Model` to the runner: the runner keeps its one scheduler, journal, retries,
judge trials and artifacts in the driver process, and the pool sends each request to one of its
`replicas` actors (each built from the model's provider and init_args inside its own worker
process, placed by Ray's resource scheduler: `num_gpus` / `num_cpus` per replica). Requests go to
the replica with the fewest in flight. A replica that dies (a killed worker, a lost node) is
restarted by Ray (`max_restarts=-1`); the requests it held fail with a transient error and the
runner retries them, so nothing is lost. The pool's fingerprint is the model's own: running
under Ray changes where a model runs, not what a trial is. Files a replica's model writes
(artifacts with a `source`) come back as bytes, since the driver may not see that node's disk.

Ray is an optional extra (`pip install 'omnieval[ray]'`), imported only here. `connect` joins an
existing cluster (`address: auto` or a head address) or starts a local one bound to 127.0.0.1
with the dashboard off.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from pathlib import Path
from typing import Any

from omnieval.config import RaySettings
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError, TransientModelError
from omnieval.types import Request, Response

EXTRA_HINT = "pip install 'omnieval[ray]' (ray>=2.9)"


def ray_module() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError as err:
        raise ImportError(f"executor: ray needs Ray ({EXTRA_HINT}): {err}") from None


#: Ray's switch for single-machine sessions: with it off, a local cluster uses the loopback
#: address for every server it starts (otherwise it resolves "localhost" to a routable address)
LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def connect(settings: RaySettings) -> None:
    """Join the configured cluster, or start a local one whose servers all listen on 127.0.0.1
    (once per process)."""
    if not settings.address:
        os.environ.setdefault(LOOPBACK_SWITCH, "0")  # read by Ray when it is first imported
    ray = ray_module()
    if ray.is_initialized():
        return
    if settings.address:
        ray.init(address=settings.address, log_to_driver=False, configure_logging=False)
        return
    constants = importlib.import_module("ray._private.ray_constants")
    vars(constants)["ENABLE_RAY_CLUSTER"] = False  # Ray was imported before the switch was set
    ray.init(
        num_cpus=settings.local_num_cpus,
        include_dashboard=False,
        _temp_dir=str(settings.temp_dir) if settings.temp_dir else None,
        log_to_driver=False,
        configure_logging=False,
    )


def with_file_artifacts_as_bytes(response: Response) -> Response:
    """The response with every artifact the model wrote to a file (`source`) read into `data`:
    the replica may run on another node, whose files the driver cannot open. A source that
    cannot be read is left as it is, so the driver reports it for the trial as in-process."""
    if not any(a.data is None and a.source is not None for a in response.artifacts):
        return response
    carried = []
    for artifact in response.artifacts:
        if artifact.data is None and artifact.source is not None:
            try:
                data = Path(artifact.source).read_bytes()
            except OSError:
                carried.append(artifact)
                continue
            artifact = artifact.model_copy(update={"data": data, "source": None})
        carried.append(artifact)
    return response.model_copy(update={"artifacts": tuple(carried)})


class _Replica:
    """The actor body: one model instance in a Ray worker (plugins imported first)."""

    def __init__(self, provider: str, init_args: dict[str, Any], plugins: list[str]) -> None:
        from omnieval import registry
        from omnieval.config import load_plugins

        load_plugins(plugins)
        factory = registry.models.get(provider)
        model = factory(**init_args)
        if not isinstance(model, Model):
            raise TypeError(f"provider {provider!r} did not build a Model")
        self.model: Model = model

    def describe(self) -> dict[str, Any]:
        return {
            "capabilities": self.model.capabilities.model_dump(),
            "fingerprint": self.model.fingerprint(),
        }

    async def generate(self, request: Request) -> Response:
        return with_file_artifacts_as_bytes(await self.model.generate(request))

    def pid(self) -> int:
        import os

        return os.getpid()


class RayReplicaPool(Model):
    """A model served by Ray actors (see the module docstring)."""

    def __init__(
        self,
        provider: str,
        init_args: dict[str, Any],
        settings: RaySettings,
        plugins: list[str] | None = None,
    ) -> None:
        ray = ray_module()
        connect(settings)
        actor = ray.remote(
            num_cpus=settings.num_cpus,
            num_gpus=settings.num_gpus,
            max_restarts=-1,
            max_task_retries=0,
            max_concurrency=settings.max_concurrency,
        )(_Replica)
        self.name = f"ray:{provider}"
        self.settings = settings
        self.replicas = [
            actor.remote(provider, dict(init_args), list(plugins or []))
            for _ in range(settings.replicas)
        ]
        try:
            facts = ray.get(
                [replica.describe.remote() for replica in self.replicas],
                timeout=settings.start_timeout_s,
            )[0]
        except ray.exceptions.GetTimeoutError:
            raise PermanentModelError(
                f"the {settings.replicas} Ray replica(s) of {provider!r} did not start within "
                f"{settings.start_timeout_s:g} s: the cluster may lack the resources asked for "
                f"(num_cpus={settings.num_cpus:g}, num_gpus={settings.num_gpus:g} each; "
                f"available: {ray.available_resources()})"
            ) from None
        except ray.exceptions.RayError as err:
            raise PermanentModelError(
                f"the model {provider!r} failed to start under Ray: {err}"
            ) from None
        inner = ModelCapabilities.model_validate(facts["capabilities"])
        self._fingerprint: dict[str, Any] = facts["fingerprint"]
        self.capabilities = inner.model_copy(
            update={
                "max_concurrency": inner.max_concurrency * settings.replicas,
                "jobs": False,  # submit / poll stay in-process models' business
            }
        )
        self._in_flight = [0] * len(self.replicas)

    def fingerprint(self) -> dict[str, Any]:
        return self._fingerprint

    def _pick(self) -> int:
        return min(range(len(self.replicas)), key=self._in_flight.__getitem__)

    async def generate(self, request: Request) -> Response:
        ray = ray_module()
        index = self._pick()
        self._in_flight[index] += 1
        try:
            return await asyncio.wrap_future(
                self.replicas[index].generate.remote(request).future()
            )
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as err:
            raise TransientModelError(
                f"Ray replica {index} was lost ({type(err).__name__}); Ray restarts it and the "
                "request is retried"
            ) from None
        finally:
            self._in_flight[index] -= 1

    async def close(self) -> None:
        ray = ray_module()
        for replica in self.replicas:
            ray.kill(replica, no_restart=True)
