"""The `vsync-http` provider against a loopback server on 127.0.0.1 that implements V-SYNC's
model-server API (`POST /analyze` multipart, `GET /health`), on a generated V-SYNC edition."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from omnieval import api
from omnieval.benchmarks.vsync.synth import generate_vsync
from omnieval.benchmarks.vsync.task import VsyncBenchmark
from omnieval.models.base import PermanentModelError, TransientModelError
from omnieval.models.vsync_http import VsyncHttp, vsync_health
from omnieval.types import (
    AudioPart,
    ImagePart,
    Request,
    Response,
    TextPart,
    TimeWindow,
    VideoPart,
)
from tests.app_server import AppServer
from tests.conftest import synth_config


class FakeVsyncServer:
    """V-SYNC's Flask model server, reduced to its HTTP contract. It answers each item's correct
    letter (looked up by the uploaded file's name) so a run's accuracy shows the wiring; `fail`
    queues (status, body) answers to give first."""

    def __init__(self, dataset: list[dict[str, Any]]) -> None:
        self.answers = {item["video_path"]: item["correct_answer"] for item in dataset}
        self.received: list[dict[str, Any]] = []
        self.fail: list[tuple[int, bytes]] = []
        self.delay_s = 0.0
        self.lock = threading.Lock()

    async def analyze(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        upload = form.get("video")
        if not isinstance(upload, web.FileField):
            return web.json_response({"status": "error", "error": "No video file"}, status=400)
        data = upload.file.read()
        fields = {k: str(v) for k, v in form.items() if k != "video"}
        with self.lock:
            self.received.append({"filename": upload.filename, "size": len(data), **fields})
            failure = self.fail.pop(0) if self.fail else None
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if failure is not None:
            status, body = failure
            return web.Response(status=status, body=body, content_type="application/json")
        answer = self.answers.get(str(upload.filename), "A")
        return web.json_response({"status": "success", "answer": f"The answer is\n{answer}"})

    async def health(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": "healthy", "model_loaded": True, "gpus": [0]})


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vsync-http")
    generate_vsync(out, n=3, seed=0, config=synth_config("espeak"))
    return out


@pytest.fixture
def server(edition: Path) -> Iterator[tuple[str, FakeVsyncServer]]:
    dataset = json.loads((edition / "data/level_1/dataset.json").read_text())
    fake = FakeVsyncServer(dataset)
    app = web.Application(client_max_size=256 * 2**20)
    app.router.add_post("/analyze", fake.analyze)
    app.router.add_get("/health", fake.health)
    with AppServer(app) as loopback:
        yield loopback.url, fake


def _ask(model: VsyncHttp, request: Request) -> Response:
    async def once() -> Response:
        try:
            return await model.generate(request)
        finally:
            await model.close()

    return asyncio.run(once())


def test_each_variant_sends_the_video_with_its_modality_flags(
    edition: Path, server: tuple[str, FakeVsyncServer]
) -> None:
    url, fake = server
    task = VsyncBenchmark(data_dir=edition).tasks()[0]
    sample = task.samples()[0]
    video = sample.parts[0]
    assert isinstance(video, VideoPart)
    expected = {"avt": ("true", "true"), "vt": ("true", "false"), "at": ("false", "true")}
    for variant, (use_video, use_audio) in expected.items():
        request = task.build_request(sample, variant)
        response = _ask(VsyncHttp(server_url=url), request)
        seen = fake.received[-1]
        assert (seen["use_video"], seen["use_audio"]) == (use_video, use_audio), variant
        assert seen["question"] == request.text()
        assert seen["filename"] == video.path.name
        assert seen["size"] == video.path.stat().st_size
        answer = sample.metadata.get("correct_answer") or sample.target.answer  # type: ignore[union-attr]
        assert response.text == f"The answer is\n{answer}"
        assert response.latency_s > 0
    assert len(fake.received) == 3


def test_server_errors_are_transient_and_bad_requests_permanent(
    edition: Path, server: tuple[str, FakeVsyncServer]
) -> None:
    url, fake = server
    task = VsyncBenchmark(data_dir=edition).tasks()[0]
    request = task.build_request(task.samples()[0], "avt")
    oom = json.dumps({"status": "error", "error": "CUDA out of memory"}).encode()
    fake.fail = [(500, oom)]
    with pytest.raises(TransientModelError, match="HTTP 500: CUDA out of memory"):
        _ask(VsyncHttp(server_url=url), request)
    fake.fail = [(502, b"<html>Bad Gateway</html>")]
    with pytest.raises(TransientModelError, match="502"):
        _ask(VsyncHttp(server_url=url), request)
    fake.fail = [(400, json.dumps({"status": "error", "error": "No video file"}).encode())]
    with pytest.raises(PermanentModelError, match="No video file"):
        _ask(VsyncHttp(server_url=url), request)
    fake.fail = [(200, json.dumps({"status": "error", "error": "cannot decode"}).encode())]
    with pytest.raises(PermanentModelError, match="cannot decode"):
        _ask(VsyncHttp(server_url=url), request)

    fake.delay_s = 2.0
    with pytest.raises(TransientModelError, match=r"no answer within 0\.3 s"):
        _ask(VsyncHttp(server_url=url, timeout_s=0.3), request)
    fake.delay_s = 0.0
    with pytest.raises(TransientModelError, match=r"127\.0\.0\.1:9"):
        _ask(VsyncHttp(server_url="http://127.0.0.1:9"), request)


def test_requests_v_sync_servers_cannot_take_are_refused(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read before the checks")
    text = TextPart(text="Who speaks?")
    cases = [
        Request(parts=(text,)),
        Request(parts=(VideoPart(path=clip), VideoPart(path=clip), text)),
        Request(parts=(ImagePart(data=b"png"), text)),
        Request(parts=(VideoPart(path=clip, window=TimeWindow(start=1.0, end=2.0)), text)),
    ]
    for request in cases:
        with pytest.raises(PermanentModelError):
            VsyncHttp.form_fields(request)
    path, fields = VsyncHttp.form_fields(
        Request(parts=(AudioPart(path=clip), text), system="Be brief.")
    )
    assert path == clip
    assert fields == {
        "question": "Be brief.\n\nWho speaks?",
        "use_video": "false",
        "use_audio": "true",
    }
    with pytest.raises(ValueError, match="server_url"):
        VsyncHttp(server_url="127.0.0.1:5089")


def test_health(server: tuple[str, FakeVsyncServer]) -> None:
    url, _ = server
    expected = {"status": "healthy", "model_loaded": True, "gpus": [0]}
    assert vsync_health(url) == expected

    async def check() -> dict[str, Any]:
        model = VsyncHttp(server_url=url + "/")
        try:
            return await model.health()
        finally:
            await model.close()

    assert asyncio.run(check()) == expected
    with pytest.raises(TransientModelError, match="unreachable"):
        vsync_health("http://127.0.0.1:9", timeout_s=2)
    assert VsyncHttp(server_url=url).fingerprint() == {"provider": "vsync-http", "model": url}
    assert VsyncHttp(server_url=url, model="qwen2.5-omni").fingerprint()["model"] == "qwen2.5-omni"


def test_evaluate_end_to_end_against_a_v_sync_server(
    edition: Path, server: tuple[str, FakeVsyncServer], tmp_path: Path
) -> None:
    url, fake = server
    fake.fail = [(500, json.dumps({"status": "error", "error": "busy"}).encode())]
    outcome = api.evaluate(
        {
            "name": "srv",
            "output": str(tmp_path / "runs"),
            "models": [
                {
                    "alias": "srv",
                    "provider": "vsync-http",
                    "init_args": {"server_url": url},
                    "retry_base_s": 0.01,
                }
            ],
            "benchmarks": [{"name": "vsync", "args": {"data_dir": str(edition)}}],
            "progress": False,
        }
    )
    for variant in ("avt", "vt", "at"):
        result = outcome.results.find("srv", variant)
        assert result.trials == 3 and result.failed == 0
        assert result.metrics["accuracy"].value == 1.0
    assert len(fake.received) == 3 * 3 + 1  # one 500 was retried
    flags = {(r["use_video"], r["use_audio"]) for r in fake.received}
    assert flags == {("true", "true"), ("true", "false"), ("false", "true")}
    assert sum(r.response.attempts for r in outcome.records) == 10
