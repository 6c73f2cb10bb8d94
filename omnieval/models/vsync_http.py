"""`vsync-http`: the model servers of V-SYNC (`POST /analyze`, `GET /health`) as an omnieval model.

V-SYNC runs each local model (Qwen2.5-Omni, Qwen3-Omni, OmniVinci, MiniOmni2, VITA, Baichuan-Omni)
behind a small Flask server that takes one video and one question:

    POST {server_url}/analyze   multipart: file `video`, fields `question`,
                                `use_video` and `use_audio` ("true" / "false")
        -> 200 {"status": "success", "answer": "..."}
        -> 500 {"status": "error", "error": "..."}
    GET  {server_url}/health    -> {"status": ..., "model_loaded": ..., "gpus": ...}

The request's media part decides the flags: `VideoPart(with_audio=True)` sends both channels,
`VideoPart(with_audio=False)` sets `use_audio=false`, and an `AudioPart` (the audio track of the
video) sets `use_video=false`. The question is the request's text (system text first, if any).

```yaml
models:
  - alias: qwen2.5-omni
    provider: vsync-http
    init_args: {server_url: "http://gpu-box:5089", model: qwen2.5-omni-7b}
    concurrency: 1
```
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from omnieval import registry
from omnieval.media.errors import check_file
from omnieval.models.base import (
    Model,
    ModelCapabilities,
    ModelUnreachableError,
    PermanentModelError,
    PreflightError,
    TransientModelError,
)
from omnieval.retry_after import parse_retry_after
from omnieval.types import AudioPart, ImagePart, Modality, Request, Response, VideoPart

_TRANSIENT_CODES = frozenset({408, 409, 425, 429})


@registry.models.register("vsync-http")
class VsyncHttp(Model):
    """A V-SYNC model server.

    Arguments: `server_url` (e.g. `http://127.0.0.1:5089`), `timeout_s` per request (V-SYNC's
    client uses 300 s), `model` (a stable name for the trial keys; by default the server URL,
    so moving a server to another host would start its trials afresh), `max_concurrency`.
    HTTP 5xx (V-SYNC answers 500 with `{"status": "error"}` when inference fails), 408/429,
    timeouts and connection errors are transient (the runner retries); other 4xx, and a
    `{"status": "error"}` answer with status 200, are permanent.
    """

    name = "vsync-http"

    def __init__(
        self,
        server_url: str,
        timeout_s: float = 300.0,
        model: str | None = None,
        max_concurrency: int = 1,
    ) -> None:
        if not server_url or not server_url.startswith(("http://", "https://")):
            raise ValueError(
                f"vsync-http: server_url must be an http(s) URL such as http://127.0.0.1:5089, "
                f"not {server_url!r}"
            )
        if timeout_s <= 0:
            raise ValueError(f"vsync-http: timeout_s must be positive, not {timeout_s}")
        if max_concurrency < 1:
            raise ValueError(
                f"vsync-http: max_concurrency must be at least 1, not {max_concurrency}"
            )
        self.server_url = server_url.rstrip("/")
        self.timeout_s = timeout_s
        self.model = model
        self.capabilities = ModelCapabilities(
            inputs=frozenset({Modality.TEXT, Modality.VIDEO, Modality.AUDIO}),
            max_concurrency=max_concurrency,
        )
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        # V-SYNC servers answer one request at a time; the runner enforces max_concurrency, and
        # this gate holds it too, whoever calls generate (defence in depth).
        self._gate: asyncio.Semaphore | None = None
        self._gate_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"VsyncHttp(server_url={self.server_url!r})"

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "model": self.model or self.server_url}

    # ------------------------------------------------------------------ request

    @staticmethod
    def form_fields(request: Request) -> tuple[Path, dict[str, str]]:
        """The video file and the form fields (`question`, `use_video`, `use_audio`) of a
        request; `PermanentModelError` when the request is not one video (or its audio)."""
        media = [p for p in request.parts if p.kind != "text"]
        if any(isinstance(p, ImagePart) for p in media):
            raise PermanentModelError("vsync-http: V-SYNC servers take no images")
        if len(media) != 1:
            raise PermanentModelError(
                f"vsync-http: V-SYNC servers take exactly one video per request, got {len(media)}"
            )
        part = media[0]
        assert isinstance(part, VideoPart | AudioPart)
        if part.window is not None and (part.window.start > 0 or part.window.end is not None):
            raise PermanentModelError(
                f"vsync-http: {part.path.name}: V-SYNC servers take whole files, not time "
                "windows; cut the clip into its own file"
            )
        if isinstance(part, AudioPart) and part.channel is not None:
            raise PermanentModelError(
                f"vsync-http: {part.path.name}: V-SYNC servers take the whole file, so the "
                f"part's channel selection ({part.channel!r}) cannot be honoured"
            )
        if isinstance(part, VideoPart):
            use_video, use_audio = True, part.with_audio
        else:
            use_video, use_audio = False, True
        question = request.text()
        if request.system:
            question = f"{request.system}\n\n{question}" if question else request.system
        fields = {
            "question": question,
            "use_video": _flag(use_video),
            "use_audio": _flag(use_audio),
        }
        return part.path, fields

    def _get_gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate_loop is not loop:
            self._gate = asyncio.Semaphore(self.capabilities.max_concurrency)
            self._gate_loop = loop
        return self._gate

    async def generate(self, request: Request) -> Response:
        """Answer one request; at most `max_concurrency` are sent to the server at a time."""
        async with self._get_gate():
            return await self._generate(request)

    async def _generate(self, request: Request) -> Response:
        path, fields = self.form_fields(request)
        data = await asyncio.to_thread(lambda: check_file(path).read_bytes())
        form = aiohttp.FormData()
        form.add_field("video", data, filename=path.name, content_type=_video_mime(path))
        for name, value in fields.items():
            form.add_field(name, value)
        url = f"{self.server_url}/analyze"
        started = time.perf_counter()
        try:
            session = self._get_session()
            async with session.post(
                url, data=form, timeout=aiohttp.ClientTimeout(total=self.timeout_s)
            ) as reply:
                status = reply.status
                raw = await reply.read()
                retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        except asyncio.TimeoutError:
            raise ModelUnreachableError(
                f"vsync-http {url}: no answer within {self.timeout_s:g} s"
            ) from None
        except aiohttp.ClientError as err:
            raise ModelUnreachableError(f"vsync-http {url}: {type(err).__name__}: {err}") from None
        latency = time.perf_counter() - started
        return _answer(url, path, status, raw, retry_after, latency)

    # ------------------------------------------------------------------ health

    async def health(self) -> dict[str, Any]:
        """The server's `/health` answer (`{status, model_loaded, gpus}`); raises
        `TransientModelError` when the server cannot be reached or answers an error."""
        url = f"{self.server_url}/health"
        try:
            session = self._get_session()
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=30)) as reply:
                raw = await reply.read()
                status = reply.status
        except (asyncio.TimeoutError, aiohttp.ClientError) as err:
            raise TransientModelError(f"vsync-http {url}: {type(err).__name__}: {err}") from None
        return _health_body(url, status, raw)

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        """The server answers `GET /health` with a JSON object."""
        try:
            await self.health()
        except TransientModelError as err:
            raise PreflightError(f"{err}; is the V-SYNC server running?") from None

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession()
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if (
            session is not None
            and not session.closed
            and self._session_loop is asyncio.get_running_loop()
        ):
            await session.close()
        self._session_loop = None


def vsync_health(server_url: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """`GET {server_url}/health` (blocking): the server's answer, e.g.
    `{"status": "healthy", "model_loaded": true, "gpus": [0]}`. Raises `TransientModelError`
    when the server is unreachable, answers an error, or answers something that is not JSON."""
    url = f"{server_url.rstrip('/')}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            return _health_body(url, reply.status, reply.read())
    except urllib.error.HTTPError as err:
        return _health_body(url, err.code, err.read())
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise TransientModelError(f"vsync-http {url}: unreachable: {reason}") from None


def _health_body(url: str, status: int, raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if status != 200 or not isinstance(body, dict):
        excerpt = raw[:200].decode("utf-8", "replace")
        raise TransientModelError(f"vsync-http {url}: HTTP {status}: {excerpt}")
    return body


def _answer(
    url: str, path: Path, status: int, raw: bytes, retry_after: float | None, latency: float
) -> Response:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    where = f"vsync-http {url} ({path.name})"
    if not isinstance(body, dict):
        excerpt = raw[:300].decode("utf-8", "replace")
        message = f"{where}: HTTP {status}, not a JSON object: {excerpt!r}"
        if status >= 500 or status in _TRANSIENT_CODES:
            raise TransientModelError(message, retry_after)
        raise PermanentModelError(message)
    if status == 200 and body.get("status") == "success":
        answer = body.get("answer")
        if answer is None:
            raise PermanentModelError(f"{where}: success without an `answer`: {body}")
        return Response(text=str(answer), latency_s=latency)
    error = body.get("error") or body.get("message") or json.dumps(body)[:300]
    message = f"{where}: HTTP {status}: {error}"
    if status >= 500 or status in _TRANSIENT_CODES:
        raise TransientModelError(message, retry_after)
    raise PermanentModelError(message)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _video_mime(path: Path) -> str:
    return {
        ".mp4": "video/mp4",
        ".mov": "video/quicktime",
        ".mkv": "video/x-matroska",
        ".webm": "video/webm",
        ".avi": "video/x-msvideo",
    }.get(path.suffix.lower(), "application/octet-stream")


__all__ = ["VsyncHttp", "vsync_health"]
