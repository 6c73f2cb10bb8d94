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

from dataclasses import dataclass
from typing import Any

from omnieval.models.serve.media_parts import (
    LocalMediaPolicy,
    MediaDir,
    local_media_policy,
    media_part,
)
from omnieval.models.serve.request_checks import (
    RequestError,
    json_type,
    optional_field,
    type_error,
)
from omnieval.types import GenerationParams, Part, Request, TextPart

# the media parts and the request checks live in media_parts.py / request_checks.py
__all__ = [
    "ChatCall",
    "LocalMediaPolicy",
    "MediaDir",
    "RequestError",
    "decode_chat",
    "local_media_policy",
]

_PART_TYPES = ("text", "image_url", "input_audio", "audio_url", "video_url")


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
            f"the request body must be a JSON object, not {json_type(payload)}", param=None
        )
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise type_error("model", "a string", model)
    stream = optional_field(payload, "stream", bool, "a boolean")
    n = optional_field(payload, "n", int, "an integer")
    if n is not None and n != 1:
        raise RequestError("n must be 1: omnieval serve returns one choice", param="n")
    include_usage = False
    options = payload.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise type_error("stream_options", "an object", options)
        flag = optional_field(options, "include_usage", bool, "a boolean", "stream_options.")
        include_usage = bool(flag)
    use_audio_in_video = True
    mm = payload.get("mm_processor_kwargs")
    if mm is not None:
        if not isinstance(mm, dict):
            raise type_error("mm_processor_kwargs", "an object", mm)
        flag = optional_field(mm, "use_audio_in_video", bool, "a boolean", "mm_processor_kwargs.")
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
        raise type_error("messages", "a list of message objects", messages)
    if not messages:
        raise RequestError("'messages' is empty: send at least one user message", param="messages")
    system: list[str] = []
    parts: list[Part] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise type_error(where, "an object with 'role' and 'content'", message)
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
        raise type_error(where, "a string or a list of text parts", content)
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
        raise type_error(where, "a string or a list of content parts", content)
    parts: list[Part] = []
    for j, raw in enumerate(content):
        at = f"{where}[{j}]"
        if not isinstance(raw, dict):
            raise type_error(at, "a content part object with a 'type'", raw)
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
        parts.append(media_part(raw, kind, at, media, local, use_audio_in_video))
    return parts


def _text(part: dict[str, Any], where: str) -> str:
    text = part.get("text")
    if not isinstance(text, str):
        raise type_error(f"{where}.text", "a string", text)
    return text


# --------------------------------------------------------------------------- parameters


def _generation(payload: dict[str, Any]) -> GenerationParams:
    values: dict[str, Any] = {}
    max_tokens = optional_field(payload, "max_completion_tokens", int, "an integer")
    if max_tokens is None:
        max_tokens = optional_field(payload, "max_tokens", int, "an integer")
    if max_tokens is not None:
        if max_tokens < 1:
            raise RequestError("max_tokens must be at least 1", param="max_tokens")
        values["max_tokens"] = max_tokens
    temperature = optional_field(payload, "temperature", float, "a number")
    if temperature is not None:
        if not 0.0 <= temperature <= 2.0:
            raise RequestError("temperature must be between 0 and 2", param="temperature")
        values["temperature"] = temperature
    top_p = optional_field(payload, "top_p", float, "a number")
    if top_p is not None:
        if not 0.0 <= top_p <= 1.0:
            raise RequestError("top_p must be between 0 and 1", param="top_p")
        values["top_p"] = top_p
    seed = optional_field(payload, "seed", int, "an integer")
    if seed is not None:
        values["seed"] = seed
    return GenerationParams(**values)

