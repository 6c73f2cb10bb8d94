"""What the `omnieval serve` tests share: `Recorder`, a model that records what reaches it, a
server factory, and small HTTP helpers (the official `openai` client, raw chat requests, the
OpenAI error shape)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import requests

from omnieval.models.base import Model, ModelCapabilities, PermanentModelError, TransientModelError
from omnieval.models.serve import BackgroundServer
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.types import Modality, Request, Response, Usage

PROMPT = "Which one?\nA. red\nB. green\nC. blue"


class Recorder(Model):
    """Answers "B" and records each request with the bytes of its media files (read in-flight:
    the server deletes them after the response)."""

    name = "recorder"
    capabilities = ModelCapabilities(inputs=frozenset(Modality))

    def __init__(self) -> None:
        self.seen: list[tuple[Request, list[bytes | None]]] = []

    async def generate(self, request: Request) -> Response:
        blobs = [
            Path(p.path).read_bytes() if getattr(p, "path", None) is not None else None
            for p in request.parts
        ]
        self.seen.append((request, blobs))
        text = request.text()
        if "refuse" in text:
            raise PermanentModelError("refused: the prompt says refuse")
        if "busy" in text:
            raise TransientModelError("overloaded", retry_after_s=7)
        if "crash" in text:
            raise ZeroDivisionError("division by zero")
        return Response(text="B", usage=Usage(input_tokens=11, output_tokens=1))


def start(model: Model | Callable[[], Model], alias: str, **options: Any) -> BackgroundServer:
    return BackgroundServer(create_app(model, ServeOptions(alias=alias, **options))).start()


def data_url(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def client(server: BackgroundServer, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=30)


def chat(server: BackgroundServer, body: dict[str, Any], **kw: Any) -> requests.Response:
    return requests.post(server.url + "/v1/chat/completions", json=body, timeout=30, **kw)


def error_message(response: requests.Response) -> str:
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return str(body["error"]["message"])
