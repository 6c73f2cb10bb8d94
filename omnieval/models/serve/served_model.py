"""The served model: its options, its loading state (a loader runs in a worker thread after the
server starts) and its batcher, shared by the routes."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnieval.models.base import Model
from omnieval.models.serve.batching import DynamicBatcher
from omnieval.models.serve.decode import LocalMediaPolicy, RequestError
from omnieval.models.serve.responses import describe_error

log = logging.getLogger("omnieval.serve")


@dataclass(frozen=True)
class ServeOptions:
    """How one server behaves (everything `serve_main` takes, minus where to listen)."""

    alias: str
    max_batch: int = 8
    max_wait_ms: float = 5.0
    batches_in_flight: int = 1
    api_key: str | None = None
    max_body_bytes: int = 200 * 1024 * 1024
    local_media: LocalMediaPolicy = field(default_factory=LocalMediaPolicy)
    media_root: Path | None = None  # parent of per-request media dirs (default: a new temp dir)



class ServedModel:
    """The model, its loading state and its batcher, shared by the routes."""

    def __init__(
        self,
        model: Model | Callable[[], Model],
        options: ServeOptions,
        on_load_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.options = options
        self._loader = None if isinstance(model, Model) else model
        self.model: Model | None = model if isinstance(model, Model) else None
        self.batcher: DynamicBatcher | None = None
        self.load_error: BaseException | None = None
        self.load_seconds: float | None = None
        self.created = int(time.time())
        self.media_root: Path = Path()
        self._own_root = False
        self._on_load_error = on_load_error
        self._load_task: asyncio.Task[None] | None = None

    @property
    def loaded(self) -> bool:
        return self.batcher is not None

    async def start(self) -> None:
        if self.options.media_root is not None:
            self.media_root = self.options.media_root
            self.media_root.mkdir(parents=True, exist_ok=True)
        else:
            self.media_root = Path(tempfile.mkdtemp(prefix="omnieval-serve-"))
            self._own_root = True
        if self.model is not None:
            self._ready(self.model)
        else:
            self._load_task = asyncio.get_running_loop().create_task(self._load())

    async def _load(self) -> None:
        assert self._loader is not None
        started = time.perf_counter()
        log.info("loading model %r", self.options.alias)
        try:
            model = await asyncio.to_thread(self._loader)
            if not isinstance(model, Model):
                raise TypeError(f"the loader returned {type(model).__name__}, not a Model")
        except Exception as err:
            self.load_error = err
            log.error(
                "model %r failed to load: %s: %s", self.options.alias, type(err).__name__, err
            )
            if self._on_load_error is not None:
                self._on_load_error(err)
            return
        self.load_seconds = time.perf_counter() - started
        self.model = model
        self._ready(model)
        log.info("model %r loaded in %.1f s", self.options.alias, self.load_seconds)

    def _ready(self, model: Model) -> None:
        batcher = DynamicBatcher(
            model,
            max_batch=self.options.max_batch,
            max_wait_ms=self.options.max_wait_ms,
            batches_in_flight=self.options.batches_in_flight,
        )
        batcher.start()
        self.batcher = batcher

    async def stop(self) -> None:
        if self._load_task is not None and not self._load_task.done():
            await asyncio.gather(self._load_task, return_exceptions=True)
        if self.batcher is not None:
            await self.batcher.close()
        if self.model is not None:
            try:
                await self.model.close()
            except Exception as err:  # closing must not hide the shutdown
                log.warning("closing model %r failed: %s", self.options.alias, err)
        if self._own_root:
            await asyncio.to_thread(shutil.rmtree, self.media_root, True)

    def health(self) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"model": self.options.alias, "model_loaded": self.loaded}
        if self.loaded:
            return 200, {"status": "ok", **body}
        if self.load_error is not None:
            return 503, {"status": "error", **body, "error": describe_error(self.load_error)}
        return 503, {"status": "loading", **body}

    def require_batcher(self) -> DynamicBatcher:
        if self.batcher is not None:
            return self.batcher
        if self.load_error is not None:
            raise RequestError(
                f"model {self.options.alias!r} failed to load: {describe_error(self.load_error)}",
                status=503,
                code="model_load_failed",
                type="server_error",
            )
        raise RequestError(
            f"model {self.options.alias!r} is still loading; retry shortly",
            status=503,
            code="model_loading",
            type="server_error",
            retry_after_s=5,
        )
