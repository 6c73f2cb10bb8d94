"""The OpenAI chat-completions wire format, client side: content parts, request bodies, replies.

Only plain dicts and the standard `json` module: a body is built once per attempt and sent as
bytes. Content parts follow the OpenAI schema (`text`, `image_url`, `input_audio`) plus
`video_url`, the extension vLLM, SGLang and `omnieval serve` accept for video.

```python
content = [text_part("Frame at 0.00 s:"), image_part(jpeg, "image/jpeg"), text_part("Which?")]
body = chat_body("gpt-4o", system=None, content=content, sampling={"temperature": 0.0})
reply = parse_chat_reply(json.loads(raw))
```
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from omnieval.types import Usage

WirePart = dict[str, Any]

#: Longest server error text quoted in an exception message.
MAX_ERROR_CHARS = 500


def data_url(mime: str, data: bytes) -> str:
    """`data:<mime>;base64,<data>`."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_url(url: str) -> tuple[str, bytes]:
    """(mime, bytes) of a base64 data URL; `ValueError` for anything else."""
    if not url.startswith("data:") or ";base64," not in url:
        raise ValueError("not a base64 data URL")
    head, payload = url[5:].split(";base64,", 1)
    return head, base64.b64decode(payload)


def text_part(text: str) -> WirePart:
    return {"type": "text", "text": text}


def image_part(data: bytes, mime: str) -> WirePart:
    return {"type": "image_url", "image_url": {"url": data_url(mime, data)}}


def audio_part(data: bytes, fmt: str) -> WirePart:
    """An `input_audio` part: base64 audio bytes (no data URL prefix) and their format."""
    return {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(data).decode("ascii"), "format": fmt},
    }


def video_part(url: str) -> WirePart:
    """A `video_url` part: a data URL of the file's bytes, or a `file://` / `http(s)://` URL."""
    return {"type": "video_url", "video_url": {"url": url}}


def chat_body(
    model: str,
    system: str | None,
    content: list[WirePart],
    sampling: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `/chat/completions` request body: one optional system message and one user message.

    A user message made of text parts only is sent as a plain string (every server accepts that;
    some text-only servers reject a list). `sampling` holds temperature, top_p, the token limit
    and seed; `extra` adds top-level fields (e.g. vLLM's `mm_processor_kwargs`) and wins on clash.
    """
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    user: str | list[WirePart]
    if all(p.get("type") == "text" for p in content):
        user = "\n\n".join(p["text"] for p in content)
    else:
        user = content
    messages.append({"role": "user", "content": user})
    body: dict[str, Any] = {"model": model, "messages": messages, **sampling}
    if extra:
        body.update(extra)
    return body


def encode_body(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (stdlib `json`; ASCII escaping off, which is smaller and faster)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class ChatReply:
    """The parts of a chat completion a trial keeps."""

    text: str
    finish_reason: str | None
    usage: Usage | None


class WireFormatError(ValueError):
    """A reply that is not a chat completion."""


def parse_chat_reply(payload: Any) -> ChatReply:
    """Text, finish reason and token usage of the first choice of a chat completion."""
    if not isinstance(payload, dict):
        raise WireFormatError(f"expected a JSON object, got {type(payload).__name__}")
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        detail = error_message(payload) or "no choices in the reply"
        raise WireFormatError(detail)
    choice = choices[0]
    message = choice.get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # some servers answer with content parts
        text = "".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
        )
    else:
        text = "" if content is None else str(content)
    finish = choice.get("finish_reason")
    return ChatReply(
        text=text,
        finish_reason=None if finish is None else str(finish),
        usage=_usage(payload.get("usage")),
    )


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if prompt is None and completion is None:
        return None
    return Usage(
        input_tokens=int(prompt) if isinstance(prompt, int | float) else None,
        output_tokens=int(completion) if isinstance(completion, int | float) else None,
    )


def error_message(payload: Any) -> str:
    """The human-readable message of an error reply (`{"error": {"message": ...}}`, FastAPI's
    `{"detail": ...}`, `{"message": ...}`), or "" when there is none."""
    if isinstance(payload, list) and payload:  # Gemini's compatible endpoint wraps errors
        payload = payload[0]
    if not isinstance(payload, dict):
        return ""
    err = payload.get("error")
    if isinstance(err, dict):
        message = err.get("message") or err.get("msg") or ""
        kind = err.get("type") or err.get("code") or err.get("status")
        text = str(message)
        return f"{text} ({kind})" if kind and text else text or str(kind or "")
    if isinstance(err, str):
        return err
    for key in ("detail", "message"):
        if payload.get(key):
            return str(payload[key])
    return ""


def error_text(raw: bytes) -> str:
    """The message of an error body: its JSON error message, else its start as text."""
    try:
        message = error_message(json.loads(raw))
    except ValueError:
        message = ""
    if not message:
        message = raw.decode("utf-8", "replace").strip()
    return message[:MAX_ERROR_CHARS]
