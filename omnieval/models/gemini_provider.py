"""`gemini`: Google's Gemini models through the native `google-genai` SDK, media sent inline.

Parts keep their order. Media go through the media preparer (`omnieval.media.prepare`). Images
go as they are. Audio follows the model's audio policy (`audio_channels`: keep (default),
downmix, left, right or an index; `audio_sample_rate`: None keeps the file's): an audio file sent
whole whose bytes already fit (wav, mp3, flac, ogg, aac, aiff; nothing to resample or re-channel)
goes as it is, anything else as WAV (the audio of a video, a window, a channel selection).
Videos go as their file bytes (mp4, mov, webm, ...; other containers are remuxed to mp4), a
`VideoPart(with_audio=False)` remuxed without its audio stream (PyAV, no re-encoding), and a
time window as the part's `videoMetadata` start and end offsets.

```yaml
models:
  - alias: gemini-flash
    provider: gemini
    init_args: {model: gemini-2.5-flash, api_key: "${GEMINI_API_KEY}", video_fps: 2}
```

`pip install "omnieval[gemini]"` installs the SDK; it is imported only when a model is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from omnieval import registry
from omnieval.media import MediaCache, probe
from omnieval.media.errors import check_file
from omnieval.media.prepare import AudioPolicy, ChannelChoice, audio_payload, video_copy
from omnieval.models.base import (
    Model,
    ModelCapabilities,
    PermanentModelError,
    PreflightError,
    TransientModelError,
)
from omnieval.types import (
    AudioPart,
    ImagePart,
    Modality,
    Part,
    Request,
    Response,
    TextPart,
    Usage,
    VideoPart,
)

_VIDEO_MIME = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/mov",
    ".webm": "video/webm",
    ".mpeg": "video/mpeg",
    ".mpg": "video/mpg",
    ".avi": "video/avi",
    ".flv": "video/x-flv",
    ".wmv": "video/wmv",
    ".3gp": "video/3gpp",
}
_IMAGE_MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
}
_TRANSIENT_CODES = frozenset({408, 409, 429, 499})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")
_CHANNELS: TypeAdapter[ChannelChoice] = TypeAdapter(ChannelChoice)


@registry.models.register("gemini")
class GeminiModel(Model):
    """A Gemini model through `google-genai`'s async client.

    Arguments: `model` (e.g. `gemini-2.5-flash`), `api_key` (default: the SDK reads
    `GEMINI_API_KEY` / `GOOGLE_API_KEY`; never logged or fingerprinted), `base_url` and
    `api_version` (endpoint overrides), generation overrides `temperature`, `top_p`,
    `max_tokens`, `seed`, `thinking_budget` (unset ones come from the request), `video_fps`
    (frames per second the service samples from a video; its default is 1), `config` (further
    `GenerateContentConfig` fields, e.g. safety settings), `timeout_s` per request,
    `max_inline_mb` (the request's media budget), `max_concurrency`, the audio policy
    `audio_channels` / `audio_sample_rate` (part of the fingerprint) and `cache_dir` (the
    media cache, for remuxed videos and decoded audio).
    The SDK's own retries are off: the runner retries (TransientModelError on 408/429/5xx,
    timeouts and connection errors; PermanentModelError on other 4xx).
    """

    name = "gemini"

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        thinking_budget: int | None = None,
        video_fps: float | None = None,
        config: dict[str, Any] | None = None,
        timeout_s: float = 300.0,
        max_inline_mb: float = 20.0,
        max_concurrency: int = 8,
        audio_channels: ChannelChoice = "keep",
        audio_sample_rate: int | None = None,
        cache_dir: str | None = None,
    ) -> None:
        if not model:
            raise ValueError("gemini: `model` is required (e.g. gemini-2.5-flash)")
        if timeout_s <= 0:
            raise ValueError(f"gemini: timeout_s must be positive, not {timeout_s}")
        self.model = model
        self.base_url = base_url
        self.api_version = api_version
        self.overrides: dict[str, Any] = {
            k: v
            for k, v in {
                "temperature": temperature,
                "top_p": top_p,
                "max_tokens": max_tokens,
                "seed": seed,
                "thinking_budget": thinking_budget,
            }.items()
            if v is not None
        }
        self.video_fps = video_fps
        self.extra_config = dict(config or {})
        self.timeout_s = timeout_s
        self.max_inline_bytes = int(max_inline_mb * 1024 * 1024)
        try:
            self.audio_policy = AudioPolicy(
                channels=_CHANNELS.validate_python(audio_channels),
                sample_rate=audio_sample_rate,
                codec="source",
            )
        except ValidationError as err:
            raise ValueError(f"gemini: bad audio settings: {err}") from None
        self.cache = MediaCache(cache_dir) if cache_dir else MediaCache()
        self.capabilities = ModelCapabilities(
            inputs=frozenset(Modality), max_concurrency=max_concurrency
        )
        self._secret = api_key or ""
        self._genai, self._types, self._errors = _import_sdk()
        self._client = self._make_client(api_key)

    def __repr__(self) -> str:
        return f"GeminiModel(model={self.model!r}, base_url={self.base_url!r})"

    def _make_client(self, api_key: str | None) -> Any:
        types = self._types
        http_options = types.HttpOptions(
            base_url=self.base_url,
            api_version=self.api_version,
            timeout=int(self.timeout_s * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        try:
            return self._genai.Client(api_key=api_key, http_options=http_options)
        except ValueError as err:
            raise ValueError(
                f"gemini: could not create the client ({self._scrub(str(err))}); pass "
                "init_args.api_key (e.g. api_key: ${GEMINI_API_KEY}) or set GEMINI_API_KEY"
            ) from None

    def fingerprint(self) -> dict[str, Any]:
        found: dict[str, Any] = {"provider": self.name, "model": self.model}
        found.update(self.overrides)
        if self.video_fps is not None:
            found["video_fps"] = self.video_fps
        if self.extra_config:
            found["config"] = self.extra_config
        found["transport"] = {
            "image": "native",
            "audio": f"native {self.audio_policy.describe()}",
            "video": "native",
            "dropped": [],
        }
        return found

    # ------------------------------------------------------------------ generate

    async def generate(self, request: Request) -> Response:
        parts = await asyncio.to_thread(self.build_parts, request)
        config = self.build_config(request)
        started = time.perf_counter()
        try:
            reply = await asyncio.wait_for(
                self._client.aio.models.generate_content(
                    model=self.model,
                    contents=[self._types.Content(role="user", parts=parts)],
                    config=config,
                ),
                self.timeout_s + 5.0,
            )
        except self._errors.APIError as err:
            raise self._translate_api_error(err) from None
        except (asyncio.TimeoutError, TimeoutError):
            raise TransientModelError(
                f"gemini {self.model}: no answer within {self.timeout_s:g} s"
            ) from None
        except Exception as err:
            if _is_connection_error(err):
                raise TransientModelError(
                    f"gemini {self.model}: connection failed: "
                    f"{type(err).__name__}: {self._scrub(str(err))}"
                ) from None
            raise
        latency = time.perf_counter() - started
        return self._response(reply, latency)

    def build_config(self, request: Request) -> Any:
        """The `GenerateContentConfig` for a request: its generation params, then overrides."""
        gen = request.generation
        values: dict[str, Any] = {
            "temperature": gen.temperature,
            "top_p": gen.top_p,
            "max_tokens": gen.max_tokens,
            "seed": gen.seed,
        }
        values.update(self.overrides)
        fields: dict[str, Any] = {
            "temperature": values["temperature"],
            "top_p": values["top_p"],
            "max_output_tokens": values["max_tokens"],
        }
        if values.get("seed") is not None:
            fields["seed"] = values["seed"]
        if "thinking_budget" in values:
            fields["thinking_config"] = self._types.ThinkingConfig(
                thinking_budget=values["thinking_budget"]
            )
        if request.system:
            fields["system_instruction"] = request.system
        fields.update(self.extra_config)
        try:
            return self._types.GenerateContentConfig(**fields)
        except ValueError as err:
            raise PermanentModelError(f"gemini: bad generation config: {err}") from None

    def build_parts(self, request: Request) -> list[Any]:
        """The SDK parts of a request, in order (blocking: decodes and remuxes media)."""
        types = self._types
        parts: list[Any] = []
        inline = 0
        for part in request.parts:
            if isinstance(part, TextPart):
                parts.append(types.Part(text=part.text))
                continue
            data, mime, metadata = self._media(part)
            inline += len(data)
            blob = types.Blob(data=data, mime_type=mime)
            if metadata is not None:
                parts.append(types.Part(inline_data=blob, video_metadata=metadata))
            else:
                parts.append(types.Part(inline_data=blob))
        if inline > self.max_inline_bytes:
            names = ", ".join(request.media_names()) or "inline media"
            raise PermanentModelError(
                f"gemini: the request's media ({names}) take {inline / 2**20:.1f} MB inline, "
                f"over max_inline_mb={self.max_inline_bytes / 2**20:g}; use shorter clips or "
                "windows, or raise max_inline_mb if the service accepts more"
            )
        return parts

    def _media(self, part: Part) -> tuple[bytes, str, Any]:
        if isinstance(part, ImagePart):
            if part.data is not None:
                return part.data, part.mime, None
            assert part.path is not None
            mime = _IMAGE_MIME.get(part.path.suffix.lower(), part.mime)
            return _read(part.path), mime, None
        if isinstance(part, AudioPart):
            payload = audio_payload(
                part.path,
                self.audio_policy,
                window=part.window,
                layout=part.layout,
                channel=part.channel,
                cache=self.cache,
            )
            return payload.data, payload.mime, None
        assert isinstance(part, VideoPart)
        data, mime = _video_bytes(part.path, part.with_audio, self.cache)
        metadata = None
        if part.window is not None or self.video_fps is not None:
            window = part.window
            metadata = self._types.VideoMetadata(
                start_offset=f"{window.start:.3f}s" if window and window.start > 0 else None,
                end_offset=f"{window.end:.3f}s" if window and window.end is not None else None,
                fps=self.video_fps,
            )
        return data, mime, metadata

    # ------------------------------------------------------------------ replies and errors

    def _response(self, reply: Any, latency: float) -> Response:
        candidates = getattr(reply, "candidates", None) or []
        if not candidates:
            feedback = getattr(reply, "prompt_feedback", None)
            reason = getattr(feedback, "block_reason", None)
            why = f"the prompt was blocked ({_enum_text(reason)})" if reason else "no candidates"
            raise PermanentModelError(f"gemini {self.model}: {why}")
        first = candidates[0]
        content = getattr(first, "content", None)
        texts = [
            p.text
            for p in (getattr(content, "parts", None) or [])
            if getattr(p, "text", None) and not getattr(p, "thought", False)
        ]
        finish = getattr(first, "finish_reason", None)
        return Response(
            text="".join(texts),
            latency_s=latency,
            usage=_usage(getattr(reply, "usage_metadata", None)),
            finish_reason=_enum_text(finish) if finish is not None else None,
        )

    def _translate_api_error(self, err: Any) -> Exception:
        code = getattr(err, "code", None)
        status = getattr(err, "status", None) or ""
        message = getattr(err, "message", None) or str(err)
        text = self._scrub(f"gemini {self.model}: HTTP {code} {status}: {message}".strip())
        if code is None or code in _TRANSIENT_CODES or code >= 500:
            return TransientModelError(text, retry_after_s=_retry_after(err))
        return PermanentModelError(text)

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        """Credentials are present: `api_key`, or GEMINI_API_KEY / GOOGLE_API_KEY, or Vertex AI
        settings (GOOGLE_GENAI_USE_VERTEXAI), unless a `base_url` points at a keyless proxy."""
        env = os.environ
        if self._secret or self.base_url or env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY"):
            return
        if env.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() in ("1", "true"):
            return
        raise PreflightError(
            f"gemini {self.model}: no credentials; pass init_args.api_key "
            "(e.g. api_key: ${GEMINI_API_KEY}) or set GEMINI_API_KEY"
        )

    async def close(self) -> None:
        # Closing is best effort: a dead loop must not fail a finished run.
        with contextlib.suppress(Exception):
            await self._client.aio.aclose()


# --------------------------------------------------------------------------- helpers


def _import_sdk() -> tuple[Any, Any, Any]:
    try:
        from google import genai
        from google.genai import errors, types
    except ImportError as err:
        raise ImportError(
            'the gemini provider needs the google-genai SDK: pip install "omnieval[gemini]"'
        ) from err
    return genai, types, errors


def _read(path: Path) -> bytes:
    return check_file(path).read_bytes()


def _video_bytes(path: Path, with_audio: bool, cache: MediaCache) -> tuple[bytes, str]:
    """A video file as (bytes, mime), remuxed (never re-encoded) when its audio must go or its
    container is not one Gemini reads."""
    mime = _VIDEO_MIME.get(path.suffix.lower())
    if mime is not None and with_audio:
        return _read(path), mime
    if mime is not None:
        info = probe(path)
        if info.audio is None:
            return _read(path), mime
    copy = video_copy(path, keep_audio=with_audio, container="mp4", cache=cache)
    return copy.read_bytes(), "video/mp4"


def _usage(meta: Any) -> Usage | None:
    if meta is None:
        return None
    prompt = getattr(meta, "prompt_token_count", None)
    output = getattr(meta, "candidates_token_count", None)
    thoughts = getattr(meta, "thoughts_token_count", None)
    if thoughts:
        output = (output or 0) + thoughts
    if prompt is None and output is None:
        return None
    return Usage(input_tokens=prompt, output_tokens=output)


def _enum_text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _retry_after(err: Any) -> float | None:
    """Seconds to wait: the Retry-After header, else the RetryInfo `retryDelay` in the body."""
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        try:
            value = headers.get("Retry-After")
            if value:
                return max(0.0, float(value))
        except (ValueError, TypeError, AttributeError):
            pass
    details = getattr(err, "details", None)
    if isinstance(details, dict):
        details = details.get("error", details).get("details", [])
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
                match = _DURATION.match(str(item.get("retryDelay", "")))
                if match:
                    return float(match.group(1))
    return None


def _is_connection_error(err: BaseException) -> bool:
    if isinstance(err, ConnectionError | OSError):
        return True
    try:
        import aiohttp

        if isinstance(err, aiohttp.ClientError):
            return True
    except ImportError:  # pragma: no cover - aiohttp is a core dependency
        pass
    module = type(err).__module__.split(".")[0]
    names = {c.__name__ for c in type(err).__mro__}
    return module in ("httpx", "httpx2") and bool(
        names & {"TransportError", "TimeoutException", "NetworkError"}
    )


__all__ = ["GeminiModel"]
