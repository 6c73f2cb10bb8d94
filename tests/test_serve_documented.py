"""`omnieval serve` behaviour documented in docs/serve.md and not covered elsewhere: `audio_url`
parts, `n` other than 1, `GET /v1/models/{id}`, and shutdown closing the model and removing the
server's own media directory. A real uvicorn server on 127.0.0.1 in each test."""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from omnieval.models.base import Model, ModelCapabilities
from omnieval.models.serve import BackgroundServer
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.types import AudioPart, Modality, Request, Response
from tests.mediagen import write_test_audio

PROMPT = {"type": "text", "text": "Which one?\nA. red\nB. green"}


class Keeper(Model):
    """Answers "A"; keeps each request with the bytes of its media (read while in flight)."""

    name = "keeper"
    capabilities = ModelCapabilities(inputs=frozenset(Modality))

    def __init__(self) -> None:
        self.seen: list[tuple[Request, list[bytes]]] = []
        self.closed = 0

    async def generate(self, request: Request) -> Response:
        blobs = [Path(p.path).read_bytes() for p in request.parts if isinstance(p, AudioPart)]
        self.seen.append((request, blobs))
        return Response(text="A")

    async def close(self) -> None:
        self.closed += 1


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return write_test_audio(tmp_path / "tone.wav", 0.5)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Keeper]]:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    model = Keeper()
    server = BackgroundServer(create_app(model, ServeOptions(alias="keeper"))).start()
    try:
        yield server.url, model
    finally:
        server.stop()


def _chat(url: str, body: dict[str, object]) -> requests.Response:
    return requests.post(url + "/v1/chat/completions", json=body, timeout=30)


def test_audio_url_parts_become_audio_parts(served: tuple[str, Keeper], wav: Path) -> None:
    url, model = served
    data_url = "data:audio/wav;base64," + base64.b64encode(wav.read_bytes()).decode()
    part = {"type": "audio_url", "audio_url": {"url": data_url}}
    reply = _chat(
        url, {"model": "keeper", "messages": [{"role": "user", "content": [part, PROMPT]}]}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "A"
    request, blobs = model.seen[-1]
    assert isinstance(request.parts[0], AudioPart)
    assert blobs == [wav.read_bytes()]  # the model read exactly the bytes that were sent


def test_n_other_than_one_is_refused_by_name(served: tuple[str, Keeper]) -> None:
    url, model = served
    for n in (2, 0):
        body = {"model": "keeper", "n": n, "messages": [{"role": "user", "content": [PROMPT]}]}
        reply = _chat(url, body)
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert error["param"] == "n" and "n must be 1" in error["message"]
    assert model.seen == []  # refused before the model
    ok = {"model": "keeper", "n": 1, "messages": [{"role": "user", "content": [PROMPT]}]}
    assert _chat(url, ok).status_code == 200


def test_get_model_by_id(served: tuple[str, Keeper]) -> None:
    url, _ = served
    card = requests.get(url + "/v1/models/keeper", timeout=10)
    assert card.status_code == 200
    assert card.json()["id"] == "keeper" and card.json()["object"] == "model"
    listed = requests.get(url + "/v1/models", timeout=10).json()["data"]
    assert listed == [card.json()]
    unknown = requests.get(url + "/v1/models/other", timeout=10)
    assert unknown.status_code == 404 and "keeper" in unknown.json()["error"]["message"]


def test_shutdown_closes_the_model_and_removes_its_media_directory(
    tmp_path: Path, wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    model = Keeper()
    server = BackgroundServer(create_app(model, ServeOptions(alias="keeper"))).start()
    try:
        part = {
            "type": "input_audio",
            "input_audio": {"data": base64.b64encode(wav.read_bytes()).decode(), "format": "wav"},
        }
        body = {"model": "keeper", "messages": [{"role": "user", "content": [part, PROMPT]}]}
        assert _chat(server.url, body).status_code == 200
        roots = [p for p in scratch.iterdir() if p.name.startswith("omnieval-serve-")]
        assert len(roots) == 1 and roots[0].is_dir()  # the server's own media directory
        assert model.closed == 0
    finally:
        server.stop()
    assert model.closed == 1
    assert not roots[0].exists()
