"""The FastAPI app of `omnieval serve`: OpenAI chat completions, V-SYNC `/analyze`, `/health`.

`create_app(model, options)` takes a built `Model` or a zero-argument loader; a loader runs in a
worker thread after the server starts, and until it finishes `/health` says `loading` and the
model routes answer 503 with `Retry-After`.

Routes (all but `/health` need `Authorization: Bearer <key>` when an API key is set):

- `POST /v1/chat/completions`: see `decode.py` for the accepted request; answers a
  `chat.completion` object (or, with `stream: true`, the same text as one SSE chunk).
- `GET /v1/models`, `GET /v1/models/{id}`: the one served model.
- `POST /analyze`: V-SYNC's multipart endpoint (file `video`, form `question`, `use_video`,
  `use_audio`); answers `{"status": "success", "answer": ...}` or `{"status": "error", ...}`.
- `GET /health`: `{status, model_loaded, model}` (503 while loading or after a failed load).
- `GET /stats`: batching counters.
- `POST /v1/videos`, `GET /v1/videos/{id}[/content]`: OpenAI's videos API over a video
  generator (`videos.py`, docs/vmeval-providers.md).

Errors use OpenAI's shape, `{"error": {"message", "type", "param", "code"}}` (V-SYNC's shape on
`/analyze`): malformed requests 400, unknown model 404, body too large 413, the model's
`PermanentModelError` 422, its `TransientModelError` 503 with `Retry-After`, anything else 500.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HttpRequest

from omnieval.models.base import Model
from omnieval.models.serve.analyze_form import analyze_request
from omnieval.models.serve.decode import ChatCall, MediaDir, RequestError
from omnieval.models.serve.guard import BodyTooLarge, RequestGuard
from omnieval.models.serve.openai_wire import (
    chat_completion,
    completion_chunks,
    model_card,
    parse_chat_body,
)
from omnieval.models.serve.responses import (
    error_response,
    model_error_response,
    request_error_response,
    server_error_response,
    unknown_model_response,
)
from omnieval.models.serve.served_model import ServedModel, ServeOptions
from omnieval.models.serve.videos import add_video_routes
from omnieval.types import Request
from omnieval.types import Response as ModelResponse

__all__ = ["ServeOptions", "ServedModel", "create_app"]

#: Bodies above this size are parsed and decoded in a worker thread, off the event loop.
_INLINE_BODY = 16 * 1024


def create_app(
    model: Model | Callable[[], Model],
    options: ServeOptions,
    on_load_error: Callable[[BaseException], None] | None = None,
) -> FastAPI:
    """The ASGI app serving `model` (or the model `model()` builds, loaded after startup)."""
    served = ServedModel(model, options, on_load_error)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await served.start()
        try:
            yield
        finally:
            await videos.close()
            await served.stop()

    app = FastAPI(
        title="omnieval serve",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.served = served
    videos = add_video_routes(app, served)  # /v1/videos (serve/videos.py)
    app.add_middleware(RequestGuard, api_key=options.api_key, max_body_bytes=options.max_body_bytes)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: HttpRequest, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return error_response(request.url.path, exc.status_code, str(exc.detail), code=code)

    @app.get("/health")
    async def health() -> Response:
        status, body = served.health()
        return JSONResponse(body, status_code=status)

    @app.get("/stats")
    async def stats() -> Response:
        body: dict[str, Any] = {
            "model": options.alias,
            "max_batch": options.max_batch,
            "max_wait_ms": options.max_wait_ms,
        }
        if served.batcher is not None:
            body.update(served.batcher.stats.as_dict(), batched_model=served.batcher.batched)
        return JSONResponse(body)

    @app.get("/v1/models")
    async def list_models() -> Response:
        return JSONResponse({"object": "list", "data": [model_card(served)]})

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str) -> Response:
        if model_id != options.alias:
            return unknown_model_response("/v1/models", model_id, options.alias)
        return JSONResponse(model_card(served))

    @app.post("/v1/chat/completions")
    async def chat_completions(request: HttpRequest) -> Response:
        call: ChatCall | None = None

        async def read(media: MediaDir) -> Request | Response:
            nonlocal call
            body = await request.body()
            if len(body) <= _INLINE_BODY:
                call = parse_chat_body(body, media, options.local_media)
            else:
                call = await asyncio.to_thread(parse_chat_body, body, media, options.local_media)
            if call.model is not None and call.model != options.alias:
                return unknown_model_response(request.url.path, call.model, options.alias)
            return call.request

        answered = await answer_request(served, request.url.path, read)
        if isinstance(answered, Response):
            return answered
        assert call is not None
        answer, started = answered
        completion = chat_completion(options.alias, answer, time.perf_counter() - started)
        if call.stream:
            return StreamingResponse(
                completion_chunks(completion, call.include_usage), media_type="text/event-stream"
            )
        return JSONResponse(completion)

    @app.post("/analyze")
    async def analyze(request: HttpRequest) -> Response:
        async def read(media: MediaDir) -> Request:
            async with request.form(
                max_files=2, max_fields=16, max_part_size=16 * 1024 * 1024
            ) as form:
                return await analyze_request(form, media)

        answered = await answer_request(served, request.url.path, read)
        if isinstance(answered, Response):
            return answered
        answer, _ = answered
        return JSONResponse({"status": "success", "answer": answer.text or ""})

    return app


async def answer_request(
    served: ServedModel, path: str, read: Callable[[MediaDir], Awaitable[Request | Response]]
) -> tuple[ModelResponse, float] | Response:
    """Read a request with `read` (its media go to a per-request dir, removed afterwards) and
    have the batched model answer it: (the answer, when the model was called), or the error
    response (a refused request, a failure while reading, or the model's error). `read` may
    answer itself with a response (an unknown model)."""
    media = MediaDir(served.media_root)
    stage = "request"
    try:
        batcher = served.require_batcher()
        request = await read(media)
        if isinstance(request, Response):
            return request
        started = time.perf_counter()
        stage = "model"
        answer = await batcher.submit(request)
        check_answer(answer)
    except RequestError as err:
        return request_error_response(path, err)
    except (BodyTooLarge, ClientDisconnect):
        raise
    except Exception as err:
        if stage == "model":
            return model_error_response(path, err)
        return server_error_response(path, err)
    finally:
        if media.path is not None:
            await asyncio.to_thread(shutil.rmtree, media.path, True)
    return answer, started


def check_answer(answer: ModelResponse) -> None:
    if answer.failed:
        raise RuntimeError(answer.error or "the model returned a failed response")
