"""The OpenAI-shaped bodies `omnieval serve` reads and answers: the chat request's JSON, the
`chat.completion` object, its stream chunks, and the model card."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from omnieval.models.artifact_wire import message_fields
from omnieval.models.serve.decode import (
    ChatCall,
    LocalMediaPolicy,
    MediaDir,
    RequestError,
    decode_chat,
)
from omnieval.models.serve.served_model import ServedModel
from omnieval.types import Response as ModelResponse


def parse_chat_body(body: bytes, media: MediaDir, local: LocalMediaPolicy) -> ChatCall:
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestError(
            f"the request body is not valid JSON: {err}", code="invalid_json"
        ) from None
    return decode_chat(payload, media, local)


def chat_completion(alias: str, answer: ModelResponse, seconds: float) -> dict[str, Any]:
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


async def completion_chunks(completion: dict[str, Any], include_usage: bool) -> AsyncIterator[str]:
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


def model_card(served: ServedModel) -> dict[str, Any]:
    return {
        "id": served.options.alias,
        "object": "model",
        "created": served.created,
        "owned_by": "omnieval",
    }
