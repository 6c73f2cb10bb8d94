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
import hmac
import json
import logging
import math
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HttpRequest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnieval.media import MediaError, probe
from omnieval.media.prepare import layout_for
from omnieval.models.artifact_wire import message_fields
from omnieval.models.base import Model, PermanentModelError, TransientModelError
from omnieval.models.serve.batching import BatcherClosed, DynamicBatcher
from omnieval.models.serve.decode import (
    ChatCall,
    LocalMediaPolicy,
    MediaDir,
    RequestError,
    decode_chat,
)
from omnieval.models.serve.videos import add_video_routes
from omnieval.types import AudioPart, Part, Request, TextPart, VideoPart
from omnieval.types import Response as ModelResponse

log = logging.getLogger("omnieval.serve")

#: Bodies above this size are parsed and decoded in a worker thread, off the event loop.
_INLINE_BODY = 16 * 1024
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


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


class _BodyTooLarge(Exception):
    pass


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
            return 503, {"status": "error", **body, "error": _describe(self.load_error)}
        return 503, {"status": "loading", **body}

    def require_batcher(self) -> DynamicBatcher:
        if self.batcher is not None:
            return self.batcher
        if self.load_error is not None:
            raise RequestError(
                f"model {self.options.alias!r} failed to load: {_describe(self.load_error)}",
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
    app.add_middleware(_Guard, api_key=options.api_key, max_body_bytes=options.max_body_bytes)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: HttpRequest, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return _error(request.url.path, exc.status_code, str(exc.detail), code=code)

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
        return JSONResponse({"object": "list", "data": [_model_card(served)]})

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str) -> Response:
        if model_id != options.alias:
            return _unknown_model("/v1/models", model_id, options.alias)
        return JSONResponse(_model_card(served))

    @app.post("/v1/chat/completions")
    async def chat_completions(request: HttpRequest) -> Response:
        path = request.url.path
        media = MediaDir(served.media_root)
        stage = "request"
        try:
            batcher = served.require_batcher()
            body = await request.body()
            if len(body) <= _INLINE_BODY:
                call = _decode(body, media, options.local_media)
            else:
                call = await asyncio.to_thread(_decode, body, media, options.local_media)
            if call.model is not None and call.model != options.alias:
                return _unknown_model(path, call.model, options.alias)
            started = time.perf_counter()
            stage = "model"
            answer = await batcher.submit(call.request)
            _check_answer(answer)
        except RequestError as err:
            return _request_error(path, err)
        except (_BodyTooLarge, ClientDisconnect):
            raise
        except Exception as err:
            return _model_error(path, err) if stage == "model" else _server_error(path, err)
        finally:
            if media.path is not None:
                await asyncio.to_thread(shutil.rmtree, media.path, True)
        completion = _completion(options.alias, answer, time.perf_counter() - started)
        if call.stream:
            return StreamingResponse(
                _sse(completion, call.include_usage), media_type="text/event-stream"
            )
        return JSONResponse(completion)

    @app.post("/analyze")
    async def analyze(request: HttpRequest) -> Response:
        path = request.url.path
        media = MediaDir(served.media_root)
        stage = "request"
        try:
            batcher = served.require_batcher()
            async with request.form(
                max_files=2, max_fields=16, max_part_size=16 * 1024 * 1024
            ) as form:
                vsync_request = await _analyze_request(form, media)
            stage = "model"
            answer = await batcher.submit(vsync_request)
            _check_answer(answer)
        except RequestError as err:
            return _request_error(path, err)
        except (_BodyTooLarge, ClientDisconnect):
            raise
        except Exception as err:
            return _model_error(path, err) if stage == "model" else _server_error(path, err)
        finally:
            if media.path is not None:
                await asyncio.to_thread(shutil.rmtree, media.path, True)
        return JSONResponse({"status": "success", "answer": answer.text or ""})

    return app


# --------------------------------------------------------------------------- chat


def _decode(body: bytes, media: MediaDir, local: LocalMediaPolicy) -> ChatCall:
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestError(
            f"the request body is not valid JSON: {err}", code="invalid_json"
        ) from None
    return decode_chat(payload, media, local)


def _check_answer(answer: ModelResponse) -> None:
    if answer.failed:
        raise RuntimeError(answer.error or "the model returned a failed response")


def _completion(alias: str, answer: ModelResponse, seconds: float) -> dict[str, Any]:
    usage = answer.usage
    prompt = usage.input_tokens if usage and usage.input_tokens is not None else 0
    completion = usage.output_tokens if usage and usage.output_tokens is not None else 0
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": alias,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.text or "",
                    **message_fields(answer.artifacts),
                },
                "logprobs": None,
                "finish_reason": answer.finish_reason or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
        "system_fingerprint": None,
        "omnieval": {"latency_s": round(answer.latency_s or seconds, 6)},
    }


async def _sse(completion: dict[str, Any], include_usage: bool) -> AsyncIterator[str]:
    """The completion as OpenAI stream chunks: the content, the finish reason, [usage], DONE."""
    base = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")}
    choice = completion["choices"][0]
    chunks: list[dict[str, Any]] = [
        {
            "delta": {"role": "assistant", "content": choice["message"]["content"]},
            "finish_reason": None,
        },
        {"delta": {}, "finish_reason": choice["finish_reason"]},
    ]
    for chunk in chunks:
        body = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "logprobs": None, **chunk}],
        }
        if include_usage:
            body["usage"] = None
        yield f"data: {json.dumps(body)}\n\n"
    if include_usage:
        body = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": completion["usage"],
        }
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"


def _model_card(served: ServedModel) -> dict[str, Any]:
    return {
        "id": served.options.alias,
        "object": "model",
        "created": served.created,
        "owned_by": "omnieval",
    }


def _unknown_model(path: str, asked: str, alias: str) -> Response:
    return _error(
        path,
        404,
        f"the model {asked!r} does not exist; this server serves {alias!r}",
        param="model",
        code="model_not_found",
    )


# --------------------------------------------------------------------------- /analyze


async def _analyze_request(form: Mapping[str, Any], media: MediaDir) -> Request:
    question = form.get("question")
    if not isinstance(question, str) or not question.strip():
        raise RequestError(
            "form field 'question' is required", param="question", code="missing_required_parameter"
        )
    use_video = _form_flag(form, "use_video")
    use_audio = _form_flag(form, "use_audio")
    parts: list[Part] = []
    if use_video or use_audio:
        upload = form.get("video")
        if not isinstance(upload, UploadFile):
            raise RequestError(
                "file field 'video' is required (multipart/form-data upload)",
                param="video",
                code="missing_required_parameter",
            )
        path = await asyncio.to_thread(_save_upload, upload, media)
        try:
            info = await asyncio.to_thread(probe, path)
        except MediaError as err:
            raise RequestError(
                f"the uploaded video is not readable media: {err.detail}",
                param="video",
                code="invalid_media",
            ) from None
        if use_video and not info.has_video:
            raise RequestError(
                "the uploaded file has no video stream but use_video=true",
                param="video",
                code="invalid_media",
            )
        if use_audio and not info.has_audio:
            raise RequestError(
                "the uploaded file has no audio stream but use_audio=true",
                param="video",
                code="invalid_media",
            )
        if use_video:
            parts.append(VideoPart(path=path, with_audio=use_audio))
        else:
            assert info.audio is not None
            parts.append(AudioPart(path=path, layout=layout_for(info.audio.channels)))
    parts.append(TextPart(text=question))
    return Request(parts=tuple(parts))


def _form_flag(form: Mapping[str, Any], name: str) -> bool:
    value = form.get(name)
    if value is None:
        return True
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RequestError(f"form field {name!r} must be 'true' or 'false', not {value!r}", param=name)


def _save_upload(upload: UploadFile, media: MediaDir) -> Path:
    """Copy the upload unchanged into the request's media dir, keeping a safe form of its name."""
    name = _SAFE_NAME.sub("_", Path(upload.filename or "video.mp4").name).strip("._") or "video"
    target = media.reserve(name)
    upload.file.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)
    if target.stat().st_size == 0:
        raise RequestError(
            "the uploaded video is empty (0 bytes)", param="video", code="invalid_media"
        )
    return target


# --------------------------------------------------------------------------- errors


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _request_error(path: str, err: RequestError) -> Response:
    headers = {"Retry-After": str(err.retry_after_s)} if err.retry_after_s else None
    return _error(path, err.status, err.message, err.type, err.param, err.code, headers)


def _server_error(path: str, err: Exception) -> Response:
    """A failure while reading the request (before the model saw it), e.g. a full disk."""
    log.exception("reading a request failed", exc_info=err)
    return _error(
        path,
        500,
        f"the server could not read the request: {_describe(err)}",
        "server_error",
        code="server_error",
    )


def _model_error(path: str, err: Exception) -> Response:
    if isinstance(err, TransientModelError):
        retry = max(1, math.ceil(err.retry_after_s)) if err.retry_after_s else 1
        return _error(
            path,
            503,
            f"the model is temporarily unable to answer: {err}",
            "server_error",
            code="model_overloaded",
            headers={"Retry-After": str(retry)},
        )
    if isinstance(err, BatcherClosed):
        return _error(
            path, 503, str(err), "server_error", code="shutting_down", headers={"Retry-After": "1"}
        )
    if isinstance(err, PermanentModelError):
        return _error(
            path, 422, f"the model cannot answer this request: {err}", code="model_refused"
        )
    log.exception("the model failed on a request", exc_info=err)
    return _error(
        path, 500, f"the model failed: {_describe(err)}", "server_error", code="model_error"
    )


def _error(
    path: str,
    status: int,
    message: str,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error in OpenAI's shape (or V-SYNC's shape on `/analyze`)."""
    if path.rstrip("/") == "/analyze":
        body: dict[str, Any] = {"status": "error", "error": message}
    else:
        body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


# --------------------------------------------------------------------------- guard


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _local_origin(origin: bytes) -> bool:
    """Whether a browser's `Origin` is a page on this machine (any other page, or `null`, may
    not drive the server: without this, a web page could make it read local files by file://
    URL with a "simple" cross-origin POST, which needs no CORS pre-flight)."""
    host = urlsplit(origin.decode("latin-1")).hostname
    return host is not None and host in _LOCAL_HOSTS


class _Guard:
    """ASGI middleware: bearer-token check, then the body size limit, enforced while reading.

    A declared `Content-Length` over the limit is refused before any of the body is read; a body
    without one (chunked) is counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, api_key: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin")
        if origin is not None and not _local_origin(origin):
            response = _error(
                path,
                403,
                f"cross-origin browser requests are refused (Origin {origin.decode('latin-1')!r});"
                " call this server from a program, not from a web page",
                type="permission_error",
                code="foreign_origin",
            )
            await response(scope, receive, send)
            return
        if self.api_key is not None and path != "/health" and not self._authorized(headers):
            response = _error(
                path,
                401,
                "missing or incorrect API key: send the header "
                "'Authorization: Bearer <key>' with the key this server was "
                "started with",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, path, f"{int(declared):,} bytes")
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send, path, f"more than {limit:,} bytes")

    def _authorized(self, headers: Mapping[bytes, bytes]) -> bool:
        assert self.api_key is not None
        value = headers.get(b"authorization", b"")
        scheme, _, token = value.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.api_key)

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, path: str, size: str
    ) -> None:
        limit_mb = self.max_body_bytes / (1024 * 1024)
        response = _error(
            path,
            413,
            f"request body too large: {size}, the limit is {self.max_body_bytes:,} bytes "
            f"({limit_mb:g} MB); send smaller media (lower resolution or a shorter clip), or "
            "start the server with a larger --max-body-mb",
            code="request_too_large",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
