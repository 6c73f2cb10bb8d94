"""OpenAI chat-completions request JSON -> `omnieval.types.Request`.

Accepted message content (the forms vLLM takes for omni models):

- a string, or a list of parts:
  `{"type": "text", "text": ...}`,
  `{"type": "image_url", "image_url": {"url": "data:image/png;base64,..." | "file:///..."}}`,
  `{"type": "input_audio", "input_audio": {"data": <base64>, "format": "wav" | "mp3" | ...}}`,
  `{"type": "audio_url", "audio_url": {"url": data: or file:// URL}}`,
  `{"type": "video_url", "video_url": {"url": "data:video/mp4;base64,..." | "file:///..."}}`;
- `system` (and `developer`) messages become `Request.system`; `user` messages give the parts, in
  order; assistant / tool messages (multi-turn chats) are refused: a `Request` is one turn.
- top-level `mm_processor_kwargs: {"use_audio_in_video": bool}` (default true): a video part
  becomes `VideoPart(path, with_audio=<the file has an audio stream> and use_audio_in_video)`.
- `max_completion_tokens` (or `max_tokens`), `temperature`, `top_p` and `seed` map to
  `GenerationParams`; absent ones keep omnieval's defaults.

Media bytes from data URLs are written unchanged to the request's media directory, named by their
content digest (so the same bytes always get the same name); `file://` URLs are used in place when
they lie under an allowed directory. Every media file is probed and test-decoded (its first frames
and its last second, as `omnieval doctor` does), so an unreadable one is refused here (400, naming
the part's index and type) instead of failing inside the model. An audio part keeps its channels:
its `AudioPart.layout` is probed from the file (a stereo or binaural upload stays two channels).

Everything here is blocking (base64 decoding, file writes, probing): call it from a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from omnieval.media import MediaError, MediaInfo
from omnieval.media.doctor import probe_and_check
from omnieval.media.prepare import layout_for
from omnieval.types import (
    AudioPart,
    GenerationParams,
    ImagePart,
    Part,
    Request,
    TextPart,
    VideoPart,
)

_PART_TYPES = ("text", "image_url", "input_audio", "audio_url", "video_url")
_MEDIA_KIND = {
    "image_url": "image",
    "audio_url": "audio",
    "input_audio": "audio",
    "video_url": "video",
}
_FORMAT = re.compile(r"^[a-z0-9]{1,12}$")
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "video/x-matroska": ".mkv",
    "video/x-msvideo": ".avi",
    "video/mpeg": ".mpg",
    "video/mp2t": ".ts",
    "audio/wav": ".wav",
    "audio/wave": ".wav",
    "audio/x-wav": ".wav",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/webm": ".webm",
}


class RequestError(Exception):
    """A request the server refuses; `message` says what is wrong and where (`param`).

    `retry_after_s` is sent as `Retry-After` (for 503s such as "the model is still loading").
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = "invalid_value",
        type: str = "invalid_request_error",
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.type = type


@dataclass(frozen=True)
class LocalMediaPolicy:
    """Which `file://` URLs may be read: those under one of `roots` (none: file URLs refused)."""

    roots: tuple[Path, ...] = ()

    def check(self, path: Path, where: str) -> Path:
        if not self.roots:
            raise RequestError(
                f"{where}: file:// URLs are disabled on this server; send the media inline as a "
                "base64 data: URL, or start the server with --local-media DIR",
                status=403,
                param=where,
                code="file_url_not_allowed",
                type="permission_error",
            )
        resolved = path.resolve()
        for root in self.roots:
            if resolved.is_relative_to(root.resolve()):
                return path
        allowed = ", ".join(str(r) for r in self.roots)
        raise RequestError(
            f"{where}: {path} is outside the directories this server may read ({allowed})",
            status=403,
            param=where,
            code="file_url_not_allowed",
            type="permission_error",
        )


class MediaDir:
    """A request's media directory, created on first use (text-only requests never touch disk)."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self.path: Path | None = None

    def _dir(self) -> Path:
        if self.path is None:
            self.path = Path(tempfile.mkdtemp(prefix="req-", dir=self.parent))
        return self.path

    def reserve(self, name: str) -> Path:
        """A path for a file called `name` in this directory (the name must be safe)."""
        return self._dir() / name

    def write(self, data: bytes, suffix: str) -> Path:
        """Write `data` unchanged to a file named by its digest; return the path."""
        target = self._dir() / f"{hashlib.sha256(data).hexdigest()[:20]}{suffix}"
        if not target.exists():
            target.write_bytes(data)
        return target


@dataclass
class ChatCall:
    """A decoded chat request: the omnieval request plus the OpenAI-level options."""

    request: Request
    model: str | None = None
    stream: bool = False
    include_usage: bool = False


def decode_chat(payload: Any, media: MediaDir, local: LocalMediaPolicy) -> ChatCall:
    """Decode a parsed `/v1/chat/completions` body; raise `RequestError` on anything malformed."""
    if not isinstance(payload, dict):
        raise RequestError(
            f"the request body must be a JSON object, not {_json_type(payload)}", param=None
        )
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise _type_error("model", "a string", model)
    stream = _optional(payload, "stream", bool, "a boolean")
    n = _optional(payload, "n", int, "an integer")
    if n is not None and n != 1:
        raise RequestError("n must be 1: omnieval serve returns one choice", param="n")
    include_usage = False
    options = payload.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise _type_error("stream_options", "an object", options)
        flag = _optional(options, "include_usage", bool, "a boolean", "stream_options.")
        include_usage = bool(flag)
    use_audio_in_video = True
    mm = payload.get("mm_processor_kwargs")
    if mm is not None:
        if not isinstance(mm, dict):
            raise _type_error("mm_processor_kwargs", "an object", mm)
        flag = _optional(mm, "use_audio_in_video", bool, "a boolean", "mm_processor_kwargs.")
        if flag is not None:
            use_audio_in_video = flag
    generation = _generation(payload)
    system, parts = _messages(payload, media, local, use_audio_in_video)
    request = Request(parts=tuple(parts), system=system, generation=generation)
    return ChatCall(request=request, model=model, stream=bool(stream), include_usage=include_usage)


# --------------------------------------------------------------------------- messages


def _messages(
    payload: dict[str, Any], media: MediaDir, local: LocalMediaPolicy, use_audio_in_video: bool
) -> tuple[str | None, list[Part]]:
    if "messages" not in payload:
        raise RequestError(
            "'messages' is required: a list of {role, content} objects",
            param="messages",
            code="missing_required_parameter",
        )
    messages = payload["messages"]
    if not isinstance(messages, list):
        raise _type_error("messages", "a list of message objects", messages)
    if not messages:
        raise RequestError("'messages' is empty: send at least one user message", param="messages")
    system: list[str] = []
    parts: list[Part] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise _type_error(where, "an object with 'role' and 'content'", message)
        role = message.get("role")
        if not isinstance(role, str):
            raise RequestError(
                f"{where}.role is required: 'system', 'developer' or 'user'", param=f"{where}.role"
            )
        if "content" not in message:
            raise RequestError(
                f"{where}.content is required",
                param=f"{where}.content",
                code="missing_required_parameter",
            )
        content = message["content"]
        if role in ("system", "developer"):
            system.append(_system_text(content, f"{where}.content"))
        elif role == "user":
            parts.extend(_content(content, f"{where}.content", media, local, use_audio_in_video))
        elif role in ("assistant", "tool", "function"):
            raise RequestError(
                f"{where}: {role!r} messages are not supported: omnieval serve answers one user "
                "turn (put any earlier conversation into the user message)",
                param=f"{where}.role",
                code="unsupported_value",
            )
        else:
            raise RequestError(
                f"{where}.role {role!r} is unknown: use 'system', 'developer' or 'user'",
                param=f"{where}.role",
            )
    if not parts:
        raise RequestError(
            "no user message: send at least one message with role 'user'", param="messages"
        )
    return ("\n\n".join(system) if system else None), parts


def _system_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _type_error(where, "a string or a list of text parts", content)
    texts: list[str] = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text":
            raise RequestError(
                f"{where}[{j}]: a system message may only hold text parts",
                param=f"{where}[{j}]",
            )
        texts.append(_text(part, f"{where}[{j}]"))
    return "\n\n".join(texts)


def _content(
    content: Any, where: str, media: MediaDir, local: LocalMediaPolicy, use_audio_in_video: bool
) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(text=content)]
    if not isinstance(content, list):
        raise _type_error(where, "a string or a list of content parts", content)
    parts: list[Part] = []
    for j, raw in enumerate(content):
        at = f"{where}[{j}]"
        if not isinstance(raw, dict):
            raise _type_error(at, "a content part object with a 'type'", raw)
        kind = raw.get("type")
        if kind == "text":
            parts.append(TextPart(text=_text(raw, at)))
            continue
        if kind not in _PART_TYPES:
            known = ", ".join(_PART_TYPES)
            raise RequestError(
                f"{at}: unknown content part type {kind!r}; this server accepts {known}",
                param=f"{at}.type",
                code="unsupported_value",
            )
        assert isinstance(kind, str)
        path = _media_file(raw, kind, at, media, local)
        info = _probe(path, at, kind)
        parts.append(_media_part(kind, path, info, at, use_audio_in_video))
    return parts


def _text(part: dict[str, Any], where: str) -> str:
    text = part.get("text")
    if not isinstance(text, str):
        raise _type_error(f"{where}.text", "a string", text)
    return text


# --------------------------------------------------------------------------- media


def _media_file(
    part: dict[str, Any], kind: str, where: str, media: MediaDir, local: LocalMediaPolicy
) -> Path:
    """The file holding a media part's bytes (written from base64, or a local file URL)."""
    body = part.get(kind)
    if not isinstance(body, dict):
        raise _type_error(f"{where}.{kind}", "an object", body)
    if kind == "input_audio":
        data = body.get("data")
        fmt = body.get("format")
        if not isinstance(data, str):
            raise _type_error(f"{where}.input_audio.data", "a base64 string", data)
        if not isinstance(fmt, str) or not _FORMAT.match(fmt.lower()):
            raise RequestError(
                f"{where}.input_audio.format must name the audio format, e.g. 'wav' or 'mp3' "
                f"(got {fmt!r})",
                param=f"{where}.input_audio.format",
            )
        raw = _b64decode(data, f"{where}.input_audio.data")
        return media.write(raw, "." + fmt.lower())
    at = f"{where}.{kind}.url"
    url = body.get("url")
    if not isinstance(url, str):
        raise _type_error(at, "a data: or file:// URL string", url)
    if url.startswith("data:"):
        mime, raw = _data_url(url, at, _MEDIA_KIND[kind])
        return media.write(raw, _EXTENSIONS.get(mime, ".bin"))
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "file":
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise RequestError(
                f"{at}: file URL host {parsed.netloc!r} is not this machine; use file:///abs/path",
                param=at,
            )
        path = Path(unquote(parsed.path))
        if not path.is_absolute():
            raise RequestError(f"{at}: a file:// URL needs an absolute path", param=at)
        return local.check(path, at)
    if scheme in ("http", "https"):
        raise RequestError(
            f"{at}: remote URLs are not fetched by omnieval serve; send the bytes as a base64 "
            "data: URL (or a file:// URL of a file on the server)",
            param=at,
            code="unsupported_value",
        )
    shown = url if len(url) <= 40 else url[:40] + "..."
    raise RequestError(
        f"{at}: expected a data: URL (data:<mime>;base64,...) or a file:// URL, got {shown!r}",
        param=at,
    )


def _data_url(url: str, where: str, kind: str) -> tuple[str, bytes]:
    """(MIME type, bytes) of a base64 data URL whose type is `kind`/* (or octet-stream)."""
    comma = url.find(",")
    if comma < 0:
        raise RequestError(f"{where}: malformed data URL (no ',' before the data)", param=where)
    header = url[5:comma].split(";")
    mime = header[0].strip().lower() or "text/plain"
    if "base64" not in (h.strip().lower() for h in header[1:]):
        raise RequestError(
            f"{where}: the data URL must be base64-encoded (data:{mime};base64,...)", param=where
        )
    if not (mime.startswith(kind + "/") or mime == "application/octet-stream"):
        raise RequestError(
            f"{where}: the data URL holds {mime!r}, which is not {kind} media; send "
            f"data:{kind}/<format>;base64,...",
            param=where,
            code="invalid_media",
        )
    return mime, _b64decode(url[comma + 1 :], where)


def _b64decode(text: str, where: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:  # tolerate line breaks and spaces, as MIME encoders write them
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as err:
            raise RequestError(
                f"{where} is not valid base64 ({err})", param=where, code="invalid_base64"
            ) from None
    if not data:
        raise RequestError(f"{where} is empty: no media bytes", param=where, code="invalid_media")
    return data


def _probe(path: Path, where: str, kind: str) -> MediaInfo:
    """The part's media info, after checking that its streams really decode (one open)."""
    try:
        return probe_and_check(path)
    except MediaError as err:
        raise RequestError(
            f"{where} ({kind}): not readable media: {err.detail}",
            param=where,
            code="invalid_media",
        ) from None


def _media_part(
    kind: str, path: Path, info: MediaInfo, where: str, use_audio_in_video: bool
) -> Part:
    if kind == "image_url":
        if not info.has_video:
            raise _media_error(where, kind, "the data holds no image")
        return ImagePart(path=path, mime=_image_mime(info.container))
    if kind in ("input_audio", "audio_url"):
        if info.audio is None:
            raise _media_error(where, kind, "the file has no audio stream")
        return AudioPart(path=path, layout=layout_for(info.audio.channels))
    if not info.has_video:
        raise _media_error(
            where, kind, "the file has no video stream (send sound alone as input_audio)"
        )
    return VideoPart(path=path, with_audio=info.has_audio and use_audio_in_video)


def _image_mime(container: str) -> str:
    name = container.split(",")[0].removesuffix("_pipe")
    return {
        "png": "image/png",
        "jpeg": "image/jpeg",
        "webp": "image/webp",
        "gif": "image/gif",
        "bmp": "image/bmp",
    }.get(name, "application/octet-stream")


def _media_error(where: str, kind: str, what: str) -> RequestError:
    return RequestError(f"{where} ({kind}): {what}", param=where, code="invalid_media")


# --------------------------------------------------------------------------- parameters


def _generation(payload: dict[str, Any]) -> GenerationParams:
    values: dict[str, Any] = {}
    max_tokens = _optional(payload, "max_completion_tokens", int, "an integer")
    if max_tokens is None:
        max_tokens = _optional(payload, "max_tokens", int, "an integer")
    if max_tokens is not None:
        if max_tokens < 1:
            raise RequestError("max_tokens must be at least 1", param="max_tokens")
        values["max_tokens"] = max_tokens
    temperature = _optional(payload, "temperature", float, "a number")
    if temperature is not None:
        if not 0.0 <= temperature <= 2.0:
            raise RequestError("temperature must be between 0 and 2", param="temperature")
        values["temperature"] = temperature
    top_p = _optional(payload, "top_p", float, "a number")
    if top_p is not None:
        if not 0.0 <= top_p <= 1.0:
            raise RequestError("top_p must be between 0 and 1", param="top_p")
        values["top_p"] = top_p
    seed = _optional(payload, "seed", int, "an integer")
    if seed is not None:
        values["seed"] = seed
    return GenerationParams(**values)


def _optional(obj: dict[str, Any], key: str, kind: type, described: str, prefix: str = "") -> Any:
    """obj[key] checked to be of `kind` (None when absent or null); bools are not numbers."""
    value = obj.get(key)
    if value is None:
        return None
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise _type_error(prefix + key, described, value)
    return value


def _type_error(where: str, expected: str, value: Any) -> RequestError:
    return RequestError(
        f"{where} must be {expected}, not {_json_type(value)}", param=where, code="invalid_type"
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def local_media_policy(roots: Sequence[os.PathLike[str] | str]) -> LocalMediaPolicy:
    return LocalMediaPolicy(tuple(Path(r) for r in roots))
