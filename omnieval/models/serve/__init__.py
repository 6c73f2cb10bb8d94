"""`omnieval serve`: host any registered model behind an OpenAI-compatible HTTP API.

- `serve_main(model, host, port, ...)`: what the `omnieval serve` command runs (`run.py`).
- `create_app(model, ServeOptions(...))`: the FastAPI app (`app.py`); needs `omnieval[serve]`.
- `decode_chat(...)`: OpenAI chat request JSON -> `omnieval.types.Request` (`decode.py`).
- `DynamicBatcher`, `supports_batching`, `BatchedModel`: dynamic batching and the optional
  `async generate_batch(requests) -> responses` model method (`batching.py`).
- `BackgroundServer`: run an app in a thread on a free port (tests, benchmarks).

See docs/serve.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnieval.models.serve.batching import (
    BatchedModel,
    BatcherClosed,
    BatchStats,
    DynamicBatcher,
    supports_batching,
)
from omnieval.models.serve.decode import ChatCall, LocalMediaPolicy, RequestError, decode_chat
from omnieval.models.serve.run import BackgroundServer, ModelLoadError, build_model, serve_main

if TYPE_CHECKING:
    from omnieval.models.serve.app import ServeOptions, create_app

__all__ = [
    "BackgroundServer",
    "BatchStats",
    "BatchedModel",
    "BatcherClosed",
    "ChatCall",
    "DynamicBatcher",
    "LocalMediaPolicy",
    "ModelLoadError",
    "RequestError",
    "ServeOptions",
    "build_model",
    "create_app",
    "decode_chat",
    "serve_main",
    "supports_batching",
]


def __getattr__(name: str) -> Any:
    # The app needs FastAPI (the `serve` extra): import it only when asked for.
    if name in ("ServeOptions", "create_app"):
        from omnieval.models.serve import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
