"""Issue #6 item 11, media and transport side: each test here failed on the code before the fix.

- `omnieval serve`: a batched model's permanent per-request failure is a 422 (not a 500 that
  clients retry), and media parts that do not decode are refused with a 400 naming the part;
- a long `Retry-After` no longer parks a worker: the runner gives up past its cap, and a pool
  parks the endpoint and routes around it;
- dataset media paths leaving the dataset root are refused unless `allow_outside_paths`;
- `vsync-http` sends at most `max_concurrency` requests at once, whoever calls it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from aiohttp import web

from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.mcq.task import McqBenchmark
from omnieval.benchmarks.vsync.task import VsyncBenchmark
from omnieval.media import encode_png
from omnieval.models.openai_provider import OpenAIChat
from omnieval.models.serve import BackgroundServer
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.models.vsync_http import VsyncHttp
from omnieval.runner.retry import RetryPolicy, generate_with_retries
from omnieval.types import Request, TextPart, VideoPart
from tests.app_server import AppServer
from tests.loopback import LoopbackConfig, LoopbackServer
from tests.mediagen import write_garbage, write_test_audio, write_test_video, write_truncated
from tests.serve_helpers import Recorder

PROMPT = "Which one?\nA. red\nB. green"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


# --------------------------------------------------------------------------- serve


def test_serve_refuses_undecodable_media_naming_the_part(tmp_path: Path) -> None:
    good = write_test_audio(tmp_path / "tone.flac", 2.0)
    truncated = write_truncated(good, tmp_path / "cut.flac", 0.5)  # its header still opens
    garbage = write_garbage(tmp_path / "noise.xyz")
    recorder = Recorder()
    with BackgroundServer(create_app(recorder, ServeOptions(alias="rec"))) as server:

        def send(path: Path, fmt: str) -> requests.Response:
            content = [
                {"type": "text", "text": PROMPT},
                {"type": "input_audio", "input_audio": {"data": _b64(path), "format": fmt}},
            ]
            body = {"model": "rec", "messages": [{"role": "user", "content": content}]}
            return requests.post(server.url + "/v1/chat/completions", json=body, timeout=30)

        for path, fmt in ((truncated, "flac"), (garbage, "xyz")):
            reply = send(path, fmt)
            assert reply.status_code == 400, reply.text
            error = reply.json()["error"]
            assert "messages[0].content[1] (input_audio)" in error["message"]
            assert error["param"] == "messages[0].content[1]" and error["code"] == "invalid_media"
        assert send(good, "flac").status_code == 200
    assert len(recorder.seen) == 1  # only the good file reached the model


@pytest.fixture(scope="module")
def tiny_audio_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("torch", reason="needs torch (CPU: pip install torch==2.13.0)")
    pytest.importorskip("transformers", reason='needs pip install "omnieval[hf]"')
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HOME", str(tmp_path_factory.getbasetemp() / "hf-home"))
    from omnieval.models.hf import HFModel
    from tests import hf_tiny

    model, processor = hf_tiny.tiny_qwen2_audio(seed=0)
    return HFModel.from_objects(model, processor, max_batch=4)


def test_serve_answers_a_batched_models_permanent_failure_with_422(
    tiny_audio_model: Any, tmp_path: Path
) -> None:
    """Qwen2-Audio takes no images: the hf provider fails that request alone, permanently."""
    png = tmp_path / "red.png"
    png.write_bytes(encode_png(np.full((8, 8, 3), 200, np.uint8)))
    wav = write_test_audio(tmp_path / "tone.wav", 0.5)
    image_part = {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{_b64(png)}"},
    }
    audio_part = {"type": "input_audio", "input_audio": {"data": _b64(wav), "format": "wav"}}
    app = create_app(tiny_audio_model, ServeOptions(alias="tiny", max_batch=4))
    with BackgroundServer(app) as server:

        def send(part: dict[str, Any]) -> requests.Response:
            content = [part, {"type": "text", "text": "What is it?"}]
            body = {
                "model": "tiny",
                "max_tokens": 3,
                "messages": [{"role": "user", "content": content}],
            }
            return requests.post(server.url + "/v1/chat/completions", json=body, timeout=60)

        refused = send(image_part)
        answered = send(audio_part)
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert "image" in message and "does not take" in message
    assert answered.status_code == 200, answered.text


# --------------------------------------------------------------------------- Retry-After cap


def test_a_long_retry_after_fails_the_trial_instead_of_waiting() -> None:
    config = LoopbackConfig(script=["429"] * 10, retry_after="3600")
    policy = RetryPolicy(max_retries=5, base_s=0.01, timeout_s=10)  # max_retry_after_s: 60

    async def run(url: str) -> Any:
        model = OpenAIChat(model="m", base_url=url)
        try:
            return await asyncio.wait_for(
                generate_with_retries(
                    model, Request(parts=(TextPart(text="hi"),)), policy, random.Random(0)
                ),
                20,
            )
        finally:
            await model.close()

    with LoopbackServer(config) as server:
        started = time.monotonic()
        response = asyncio.run(run(server.url))
        assert server.chat_requests == 1
    assert time.monotonic() - started < 10
    assert response.failed
    assert "retry after 3600 s" in (response.error or "")
    assert "max_retry_after_s=60" in (response.error or "")


def test_a_pool_parks_an_endpoint_asking_for_a_long_pause() -> None:
    slow = LoopbackServer(LoopbackConfig(script=["429"] * 100, retry_after="3600"))
    fine = LoopbackServer(LoopbackConfig(reply="B"))
    policy = RetryPolicy(max_retries=3, base_s=0.01, timeout_s=10)

    async def run() -> tuple[list[Any], list[dict[str, Any]]]:
        # max_retry_after_s defaults to 60 s
        model = OpenAIChat(model="m", base_urls=[slow.url, fine.url], max_concurrency=2)
        try:
            rng = random.Random(0)
            responses = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        generate_with_retries(
                            model, Request(parts=(TextPart(text=f"q{i}"),)), policy, rng
                        )
                        for i in range(8)
                    )
                ),
                30,
            )
            return list(responses), model.pool.snapshot()
        finally:
            await model.close()

    with slow, fine:
        responses, snapshot = asyncio.run(run())
        asked_slow = slow.chat_requests
    assert [r.text for r in responses] == ["B"] * 8
    assert asked_slow <= 2  # the requests in flight when it first said 429; then it was parked
    parked = next(ep for ep in snapshot if ep["base_url"] == slow.url)
    assert parked["parked"] and not parked["up"]


# --------------------------------------------------------------------------- dataset paths


def test_dataset_media_path_keeps_paths_inside_the_root(tmp_path: Path) -> None:
    from omnieval.media import OutsideRootError, dataset_media_path  # new in this change

    root = tmp_path / "data"
    (root / "clips").mkdir(parents=True)
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"x")
    (root / "clips" / "link.wav").symlink_to(outside)
    assert dataset_media_path(root, "clips/a.wav") == root / "clips" / "a.wav"
    for name in ("../secret.wav", str(outside), "clips/../../secret.wav", "clips/link.wav"):
        with pytest.raises(OutsideRootError, match="outside the dataset root"):
            dataset_media_path(root, name)
        assert dataset_media_path(root, name, allow_outside=True) == root / name


def _mcq(tmp_path: Path, media_path: str) -> Path:
    data = tmp_path / "mcq"
    data.mkdir(exist_ok=True)
    item = {
        "id": "q7",
        "question": "?",
        "options": ["a", "b"],
        "answer": "A",
        "media": [{"kind": "audio", "path": media_path}],
    }
    path = data / "items.jsonl"
    path.write_text(json.dumps(item) + "\n")
    return path


def test_mcq_refuses_media_outside_its_directory_unless_allowed(tmp_path: Path) -> None:
    secret = write_test_audio(tmp_path / "secret.wav", 0.2)
    for name in ("../secret.wav", str(secret)):
        path = _mcq(tmp_path, name)
        with pytest.raises(DatasetError) as err:
            McqBenchmark(path=path).tasks()[0].samples()
        assert "'q7'" in str(err.value) and "secret.wav" in str(err.value)
        assert "allow_outside_paths" in str(err.value)
        (sample,) = McqBenchmark(path=path, allow_outside_paths=True).tasks()[0].samples()
        assert Path(sample.parts[0].path).resolve() == secret.resolve()  # type: ignore[union-attr]


def test_vsync_refuses_videos_outside_the_video_dir_unless_allowed(tmp_path: Path) -> None:
    level = tmp_path / "data" / "level_1"
    (level / "videos").mkdir(parents=True)
    secret = write_test_video(tmp_path / "private.mp4", 0.5, fps=10.0)
    (level / "videos" / "inside.mp4").symlink_to(secret)  # resolves outside: refused too
    items = [
        {
            "id": f"v{i}",
            "video_path": name,
            "question": "?",
            "options": ["A. x", "B. y"],
            "correct_answer": "A",
        }
        for i, name in enumerate(["../../../private.mp4", "inside.mp4"])
    ]
    (level / "dataset.json").write_text(json.dumps(items))
    with pytest.raises(DatasetError) as err:
        VsyncBenchmark(data_dir=tmp_path).tasks()[0].samples()
    text = str(err.value)
    assert "2 malformed item(s)" in text and "'v0'" in text and "'v1'" in text
    assert "private.mp4" in text and "allow_outside_paths" in text
    samples = VsyncBenchmark(data_dir=tmp_path, allow_outside_paths=True).tasks()[0].samples()
    assert [Path(s.parts[0].path).resolve() for s in samples] == [secret.resolve()] * 2  # type: ignore[union-attr]


# --------------------------------------------------------------------------- vsync-http


def test_vsync_http_sends_one_request_at_a_time(tmp_path: Path) -> None:
    video = write_test_video(tmp_path / "clip.mp4", 0.5, fps=10.0)
    lock = threading.Lock()
    state = {"now": 0, "most": 0, "total": 0}

    async def analyze(request: web.Request) -> web.Response:
        await request.post()
        with lock:
            state["now"] += 1
            state["total"] += 1
            state["most"] = max(state["most"], state["now"])
        await asyncio.sleep(0.1)
        with lock:
            state["now"] -= 1
        return web.json_response({"status": "success", "answer": "A"})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/analyze", analyze)
    request = Request(parts=(VideoPart(path=video), TextPart(text=PROMPT)))

    async def run(url: str) -> list[Any]:
        model = VsyncHttp(server_url=url)
        assert model.capabilities.max_concurrency == 1
        try:
            return list(await asyncio.gather(*(model.generate(request) for _ in range(4))))
        finally:
            await model.close()

    with AppServer(app) as server:
        answers = asyncio.run(run(server.url))
    assert [a.text for a in answers] == ["A"] * 4
    assert state == {"now": 0, "most": 1, "total": 4}
