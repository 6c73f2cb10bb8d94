"""`omnieval serve` on a real uvicorn server on 127.0.0.1: the official `openai` client, media
parts, V-SYNC `/analyze`, errors, auth, body limits, model loading and graceful shutdown."""

from __future__ import annotations

import base64
import hashlib
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
import requests

from omnieval import registry
from omnieval.config import ConfigError
from omnieval.media import encode_png
from omnieval.models.base import (
    Model,
    ModelCapabilities,
    PermanentModelError,
    TransientModelError,
)
from omnieval.models.reference import RandomChoice
from omnieval.models.serve import BackgroundServer, LocalMediaPolicy, ModelLoadError, serve_main
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.types import (
    AudioPart,
    ImagePart,
    Modality,
    Request,
    Response,
    TextPart,
    Usage,
    VideoPart,
)
from tests.conftest import synth_config
from tests.mediagen import write_garbage, write_test_audio, write_test_video

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


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("serve-media")
    image = np.zeros((24, 32, 3), np.uint8)
    image[:, :16] = (255, 0, 0)
    png = root / "image.png"
    png.write_bytes(encode_png(image))
    return {
        "png": png,
        "wav": write_test_audio(root / "tone.wav", 0.5),
        "mp4": write_test_video(root / "clip.mp4", 1.0, fps=10.0),
        "silent_mp4": write_test_video(root / "silent.mp4", 1.0, fps=10.0, audio_hz=None),
        "garbage": write_garbage(root / "garbage.mp4"),
        "root": root,
    }


@pytest.fixture(scope="module")
def recorder_server(media: dict[str, Path]) -> Iterator[tuple[BackgroundServer, Recorder]]:
    model = Recorder()
    server = start(model, "rec", local_media=LocalMediaPolicy((media["root"],)))
    yield server, model
    server.stop()


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


# --------------------------------------------------------------------------- openai client


def test_openai_client_sends_every_part_kind(
    recorder_server: tuple[BackgroundServer, Recorder], media: dict[str, Path]
) -> None:
    server, model = recorder_server
    model.seen.clear()
    answer = client(server).chat.completions.create(
        model="rec",
        messages=[
            {"role": "system", "content": "Answer with a letter."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": data_url(media["png"], "image/png")},
                    },
                    {
                        "type": "input_audio",
                        "input_audio": {"data": b64(media["wav"]), "format": "wav"},
                    },
                    {
                        "type": "video_url",
                        "video_url": {"url": data_url(media["mp4"], "video/mp4")},
                    },
                    {"type": "text", "text": PROMPT},
                ],
            },
        ],
        max_tokens=17,
        temperature=0.5,
        top_p=0.9,
        seed=3,
    )
    assert answer.object == "chat.completion"
    assert answer.model == "rec"
    assert answer.choices[0].message.content == "B"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.prompt_tokens == 11
    assert answer.usage.total_tokens == 12
    request, blobs = model.seen[-1]
    image, audio, video, text = request.parts
    assert isinstance(image, ImagePart) and image.mime == "image/png"
    assert isinstance(audio, AudioPart) and audio.path.suffix == ".wav"
    assert isinstance(video, VideoPart) and video.with_audio and video.path.suffix == ".mp4"
    assert isinstance(text, TextPart) and text.text == PROMPT
    # the bytes reach the model unchanged, and the request's files are gone after the answer
    assert blobs[:3] == [media[k].read_bytes() for k in ("png", "wav", "mp4")]
    assert not video.path.exists() and not video.path.parent.exists()
    assert request.system == "Answer with a letter."
    gen = request.generation
    assert (gen.max_tokens, gen.temperature, gen.top_p, gen.seed) == (17, 0.5, 0.9, 3)


def test_video_audio_follows_use_audio_in_video_and_the_file(
    recorder_server: tuple[BackgroundServer, Recorder], media: dict[str, Path]
) -> None:
    server, model = recorder_server

    def video_part(path: Path, extra: dict[str, Any]) -> VideoPart:
        body = {
            "model": "rec",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "video_url", "video_url": {"url": data_url(path, "video/mp4")}},
                        {"type": "text", "text": PROMPT},
                    ],
                }
            ],
            **extra,
        }
        reply = chat(server, body)
        assert reply.status_code == 200, reply.text
        part = model.seen[-1][0].parts[0]
        assert isinstance(part, VideoPart)
        return part

    assert video_part(media["mp4"], {}).with_audio
    off = {"mm_processor_kwargs": {"use_audio_in_video": False}}
    assert not video_part(media["mp4"], off).with_audio
    assert not video_part(media["silent_mp4"], {}).with_audio  # no audio stream to use


def test_file_urls_are_read_in_place_under_allowed_dirs(
    recorder_server: tuple[BackgroundServer, Recorder], media: dict[str, Path], tmp_path: Path
) -> None:
    server, model = recorder_server
    part = {"type": "video_url", "video_url": {"url": media["mp4"].as_uri()}}
    reply = chat(server, {"messages": [{"role": "user", "content": [part, PROMPT_PART]}]})
    assert reply.status_code == 200, reply.text
    video = model.seen[-1][0].parts[0]
    assert isinstance(video, VideoPart) and video.path == media["mp4"]
    assert media["mp4"].exists()  # a client's own file is never deleted
    outside = write_test_video(tmp_path / "elsewhere.mp4", 0.5)
    part = {"type": "video_url", "video_url": {"url": outside.as_uri()}}
    reply = chat(server, {"messages": [{"role": "user", "content": [part, PROMPT_PART]}]})
    assert reply.status_code == 403
    assert "outside the directories this server may read" in error_message(reply)


PROMPT_PART = {"type": "text", "text": PROMPT}


def test_random_model_through_the_openai_client(media: dict[str, Path]) -> None:
    with BackgroundServer(create_app(RandomChoice(seed=5), ServeOptions(alias="random"))) as server:
        api = client(server)
        messages: Any = [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": data_url(media["png"], "image/png")},
                    },
                    PROMPT_PART,
                ],
            }
        ]
        first = api.chat.completions.create(model="random", messages=messages)
        again = api.chat.completions.create(model="random", messages=messages)
        assert first.choices[0].message.content in {"A", "B", "C"}
        # media files are named by content, so the seeded answer is the same every time
        assert again.choices[0].message.content == first.choices[0].message.content
        streamed = api.chat.completions.create(
            model="random", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(streamed)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == first.choices[0].message.content
        assert chunks[-1].usage is not None
        listed = api.models.list()
        assert [m.id for m in listed.data] == ["random"]
        health = requests.get(server.url + "/health", timeout=5).json()
        assert health == {"status": "ok", "model_loaded": True, "model": "random"}


def test_constant_model_answers_text_only() -> None:
    factory = registry.models.get("constant")
    model = factory(index=2)
    assert isinstance(model, Model)
    with BackgroundServer(create_app(model, ServeOptions(alias="constant"))) as server:
        reply = client(server).chat.completions.create(
            model="constant", messages=[{"role": "user", "content": PROMPT}]
        )
        assert reply.choices[0].message.content == "C"


# --------------------------------------------------------------------------- vsync-solver


@pytest.fixture(scope="module")
def vsync_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from omnieval.benchmarks.vsync.synth import generate_vsync

    out = tmp_path_factory.mktemp("vsync-serve")
    generate_vsync(out, 4, seed=5, config=synth_config("espeak"), workers=1)
    return out


def test_served_vsync_solver_answers_like_in_process(vsync_edition: Path) -> None:
    import asyncio

    from omnieval.benchmarks.vsync.solver import VsyncSolver

    benchmark: Any = registry.benchmarks.get("vsync")(data_dir=str(vsync_edition))
    task = benchmark.tasks()[0]
    solver = VsyncSolver()
    served = VsyncSolver()
    kinds = set()
    with BackgroundServer(create_app(served, ServeOptions(alias="vsync-solver"))) as server:
        api = client(server)
        for sample in task.samples():
            kinds.add(sample.category)
            for variant in ("avt", "vt", "at"):
                request = task.build_request(sample, variant)
                expected = asyncio.run(solver.generate(request)).text
                media, text = request.parts
                assert isinstance(text, TextPart)
                video = Path(media.path)
                if variant != "at":
                    reply = api.chat.completions.create(
                        model="vsync-solver",
                        messages=[
                            {
                                "role": "user",
                                "content": [
                                    {
                                        "type": "video_url",
                                        "video_url": {"url": data_url(video, "video/mp4")},
                                    },
                                    {"type": "text", "text": text.text},
                                ],
                            }
                        ],
                        extra_body={
                            "mm_processor_kwargs": {"use_audio_in_video": variant == "avt"}
                        },
                    )
                    assert reply.choices[0].message.content == expected, (sample.id, variant)
                flags = {"avt": ("true", "true"), "vt": ("true", "false"), "at": ("false", "true")}
                use_video, use_audio = flags[variant]
                with video.open("rb") as handle:
                    answer = requests.post(
                        server.url + "/analyze",
                        files={"video": (video.name, handle, "video/mp4")},
                        data={
                            "question": text.text,
                            "use_video": use_video,
                            "use_audio": use_audio,
                        },
                        timeout=60,
                    )
                assert answer.status_code == 200, answer.text
                assert answer.json() == {"status": "success", "answer": expected}, (
                    sample.id,
                    variant,
                )
    assert kinds == {"who-is-speaking", "sync"}


# --------------------------------------------------------------------------- /analyze


def test_analyze_maps_use_video_and_use_audio(
    recorder_server: tuple[BackgroundServer, Recorder], media: dict[str, Path]
) -> None:
    server, model = recorder_server

    def analyze(fields: dict[str, str], path: Path | None = None) -> requests.Response:
        files = {"video": (path.name, path.read_bytes(), "video/mp4")} if path else None
        return requests.post(server.url + "/analyze", files=files, data=fields, timeout=30)

    for use_video, use_audio, expected in (
        ("true", "true", (VideoPart, True)),
        ("true", "false", (VideoPart, False)),
        ("false", "true", (AudioPart, None)),
    ):
        reply = analyze(
            {"question": PROMPT, "use_video": use_video, "use_audio": use_audio}, media["mp4"]
        )
        assert reply.status_code == 200 and reply.json() == {"status": "success", "answer": "B"}
        request, blobs = model.seen[-1]
        part = request.parts[0]
        assert isinstance(part, expected[0]) and part.path.name == "clip.mp4"
        if expected[1] is not None:
            assert isinstance(part, VideoPart) and part.with_audio is expected[1]
        assert blobs[0] == media["mp4"].read_bytes()
        assert request.text() == PROMPT
    failed = analyze({"question": "please crash", "use_video": "true"}, media["mp4"])
    assert failed.status_code == 500
    assert failed.json()["status"] == "error" and "division by zero" in failed.json()["error"]
    missing = analyze({"use_video": "true"}, media["mp4"])
    assert missing.status_code == 400 and "'question' is required" in missing.json()["error"]
    no_audio = analyze({"question": PROMPT, "use_audio": "true"}, media["silent_mp4"])
    assert no_audio.status_code == 400 and "no audio stream" in no_audio.json()["error"]
    bad_flag = analyze({"question": PROMPT, "use_video": "maybe"}, media["mp4"])
    assert bad_flag.status_code == 400 and "'use_video'" in bad_flag.json()["error"]


# --------------------------------------------------------------------------- errors


def _user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"model": "rec", "messages": [{"role": "user", "content": [*parts, PROMPT_PART]}]}


def test_malformed_requests_get_4xx_saying_what_is_wrong(
    recorder_server: tuple[BackgroundServer, Recorder], media: dict[str, Path]
) -> None:
    server, _ = recorder_server
    png = data_url(media["png"], "image/png")
    cases: list[tuple[Any, int, str]] = [
        (_user({"type": "hologram", "hologram": {}}), 400, "unknown content part type 'hologram'"),
        (
            _user({"type": "image_url", "image_url": {"url": "data:image/png;base64,@@not*b64"}}),
            400,
            "messages[0].content[0].image_url.url is not valid base64",
        ),
        (
            _user({"type": "input_audio", "input_audio": {"data": "%%%", "format": "wav"}}),
            400,
            "messages[0].content[0].input_audio.data is not valid base64",
        ),
        (
            _user({"type": "image_url", "image_url": {"url": "data:text/plain;base64,aGVsbG8="}}),
            400,
            "holds 'text/plain', which is not image media",
        ),
        (
            _user(
                PROMPT_PART,
                {
                    "type": "video_url",
                    "video_url": {"url": data_url(media["garbage"], "video/mp4")},
                },
            ),
            400,
            "messages[0].content[1] (video_url): not readable media",
        ),
        (
            _user({"type": "video_url", "video_url": {"url": data_url(media["wav"], "video/mp4")}}),
            400,
            "the file has no video stream",
        ),
        (
            _user(
                {"type": "input_audio", "input_audio": {"data": b64(media["png"]), "format": "wav"}}
            ),
            400,
            "messages[0].content[0] (input_audio)",
        ),
        (_user({"type": "image_url", "image_url": png}), 400, "image_url must be an object"),
        (
            _user({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}),
            400,
            "remote URLs are not fetched",
        ),
        ({"model": "rec"}, 400, "'messages' is required"),
        (
            {"model": "rec", "messages": "hi"},
            400,
            "messages must be a list of message objects, not a string",
        ),
        ({"model": "rec", "messages": []}, 400, "'messages' is empty"),
        ({"model": "rec", "messages": [{"role": "user", "content": 5}]}, 400, "not a number"),
        (
            {
                "model": "rec",
                "messages": [{"role": "user", "content": PROMPT}],
                "temperature": "hot",
            },
            400,
            "temperature must be a number, not a string",
        ),
        (
            {"model": "rec", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": True},
            400,
            "max_tokens must be an integer, not a boolean",
        ),
        (
            {"messages": [{"role": "assistant", "content": "A"}]},
            400,
            "'assistant' messages are not supported",
        ),
        ({"messages": [{"role": "system", "content": "x"}]}, 400, "no user message"),
        ([1, 2], 400, "the request body must be a JSON object, not a list"),
        (
            {"model": "gpt-9", "messages": [{"role": "user", "content": PROMPT}]},
            404,
            "the model 'gpt-9' does not exist; this server serves 'rec'",
        ),
    ]
    for body, status, message in cases:
        reply = chat(server, body)
        assert reply.status_code == status, (body, reply.text)
        assert message in error_message(reply), (message, reply.text)
    broken = requests.post(
        server.url + "/v1/chat/completions",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert broken.status_code == 400 and "not valid JSON" in error_message(broken)
    assert requests.get(server.url + "/nowhere", timeout=5).status_code == 404


def test_model_errors_map_to_status_codes(
    recorder_server: tuple[BackgroundServer, Recorder],
) -> None:
    server, _ = recorder_server

    def say(text: str) -> requests.Response:
        return chat(server, {"messages": [{"role": "user", "content": text + "\n" + PROMPT}]})

    refused = say("refuse")
    assert refused.status_code == 422 and "refused: the prompt says refuse" in error_message(
        refused
    )
    busy = say("busy")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "7"
    crash = say("crash")
    assert crash.status_code == 500 and "ZeroDivisionError" in error_message(crash)
    with pytest.raises(openai.UnprocessableEntityError, match="refused"):
        client(server).chat.completions.create(
            model="rec", messages=[{"role": "user", "content": "refuse"}]
        )


# --------------------------------------------------------------------------- auth and limits


def test_bearer_token_is_enforced_everywhere_but_health(media: dict[str, Path]) -> None:
    with BackgroundServer(
        create_app(Recorder(), ServeOptions(alias="rec", api_key="s3cret-key"))
    ) as server:
        body = {"messages": [{"role": "user", "content": PROMPT}]}
        for wrong in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "s3cret-key"}):
            reply = chat(server, body, headers=wrong)
            assert reply.status_code == 401, reply.text
            assert "Authorization: Bearer <key>" in error_message(reply)
            assert (
                requests.get(server.url + "/v1/models", headers=wrong, timeout=5).status_code == 401
            )
            analyze = requests.post(
                server.url + "/analyze", data={"question": PROMPT}, headers=wrong, timeout=5
            )
            assert analyze.status_code == 401 and analyze.json()["status"] == "error"
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
        good = {"Authorization": "Bearer s3cret-key"}
        assert chat(server, body, headers=good).status_code == 200
        assert client(server, "s3cret-key").models.list().data[0].id == "rec"
        with pytest.raises(openai.AuthenticationError):
            client(server, "wrong").chat.completions.create(model="rec", messages=body["messages"])


def test_body_over_the_limit_is_refused_with_413(media: dict[str, Path]) -> None:
    limit = 64 * 1024
    with BackgroundServer(
        create_app(Recorder(), ServeOptions(alias="rec", max_body_bytes=limit))
    ) as server:
        big = "x" * (limit + 10)
        reply = chat(server, {"messages": [{"role": "user", "content": big}]})
        assert reply.status_code == 413
        assert "request body too large" in error_message(reply)
        assert "65,536 bytes" in error_message(reply) and "--max-body-mb" in error_message(reply)

        # no Content-Length (chunked): counted while it arrives, refused once past the limit
        def chunks() -> Iterator[bytes]:
            yield b'{"messages": [{"role": "user", "content": "'
            for _ in range(40):
                yield b"y" * 4096
            yield b'"}]}'

        chunked = requests.post(
            server.url + "/v1/chat/completions",
            data=chunks(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert chunked.status_code == 413 and "more than 65,536 bytes" in error_message(chunked)
        upload = requests.post(
            server.url + "/analyze",
            files={"video": ("big.mp4", b"z" * (limit * 2), "video/mp4")},
            data={"question": PROMPT},
            timeout=10,
        )
        assert upload.status_code == 413 and "too large" in upload.json()["error"]
        small = chat(server, {"messages": [{"role": "user", "content": PROMPT}]})
        assert small.status_code == 200


# --------------------------------------------------------------------------- loading


def test_health_says_loading_until_the_model_is_built() -> None:
    release = threading.Event()

    def loader() -> Model:
        release.wait(120)  # the test opens it; the bound only keeps a failed test from hanging
        return Recorder()

    with BackgroundServer(create_app(loader, ServeOptions(alias="slow-load"))) as server:
        health = requests.get(server.url + "/health", timeout=5)
        assert health.status_code == 503
        assert health.json() == {"status": "loading", "model_loaded": False, "model": "slow-load"}
        early = chat(server, {"messages": [{"role": "user", "content": PROMPT}]})
        assert early.status_code == 503 and "still loading" in error_message(early)
        assert early.headers["Retry-After"] == "5"
        release.set()
        while requests.get(server.url + "/health", timeout=5).status_code != 200:
            time.sleep(0.02)  # until the loader finishes (bounded by the test timeout)
        assert chat(server, {"messages": [{"role": "user", "content": PROMPT}]}).status_code == 200


def test_serve_main_stops_when_the_model_fails_to_load(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text("broken:\n  provider: random\n  init_args: {no_such_arg: 1}\n")
    # It raises (rather than serving a model that never loads); a hang would hit the timeout.
    with pytest.raises(ModelLoadError, match=r"'broken'.*bad init_args \['no_such_arg'\]"):
        serve_main("broken", port=0, models_file=models, log_level="warning")


def test_serve_main_rejects_an_unknown_alias_before_binding() -> None:
    with pytest.raises(ConfigError, match="unknown model 'no-such-model'"):
        serve_main("no-such-model", port=0)
    with pytest.raises(ConfigError, match="max-batch"):
        serve_main("random", port=0, max_batch=0)


# --------------------------------------------------------------------------- shutdown


def test_sigterm_lets_the_request_in_flight_finish(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    started, release = tmp_path / "started.txt", tmp_path / "release"
    models = tmp_path / "models.yaml"
    models.write_text(
        "slow:\n  provider: test-gated\n"
        f"  init_args: {{started_file: {str(started)!r}, release_file: {str(release)!r}}}\n"
    )
    code = (
        "from pathlib import Path\n"
        "from omnieval.models.serve import serve_main\n"
        f"serve_main('slow', port=0, models_file=Path({str(models)!r}), "
        "plugins=['omnieval_testmodels'])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=subprocess_env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        url = None
        while url is None:  # bounded by the test timeout; the server says where it listens
            line = proc.stderr.readline()
            assert line, "the server exited before listening"
            found = re.search(r"on (http://127\.0\.0\.1:\d+);", line)
            url = found.group(1) if found else None
        while requests.get(url + "/health", timeout=30).status_code != 200:
            time.sleep(0.05)
        result: dict[str, Any] = {}

        def slow_request() -> None:
            body = {"model": "slow", "messages": [{"role": "user", "content": PROMPT}]}
            reply = requests.post(url + "/v1/chat/completions", json=body, timeout=120)
            result["status"] = reply.status_code
            result["body"] = reply.json()

        worker = threading.Thread(target=slow_request)
        worker.start()
        # The model reports the request in flight (it is held until `release` exists).
        while not (started.exists() and started.read_text()):
            assert worker.is_alive() and proc.poll() is None, result
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        # Shutting down, the server refuses new work but keeps the held request open.
        with pytest.raises(requests.ConnectionError):
            while True:  # until the listening socket is closed
                requests.get(url + "/health", timeout=5)
                time.sleep(0.02)
        # By default shutdown waits for requests in flight however long they take: hold this one
        # well past the shortest graceful-shutdown timeout uvicorn has (1 s). Load can only make
        # this hold longer, never make the check pass or fail differently.
        time.sleep(2.5)
        assert worker.is_alive() and "status" not in result  # still in flight
        assert proc.poll() is None  # the server waits for it
        release.touch()
        worker.join(120)
        assert result.get("status") == 200, result
        assert result["body"]["choices"][0]["message"]["content"] in {"A", "B", "C"}
        proc.wait(60)
        assert proc.returncode in (0, -signal.SIGTERM)
        rest = proc.stderr.read()
        assert "Application shutdown complete" in rest
        assert started.read_text().count("started") == 1
    finally:
        release.touch()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_media_names_are_content_digests(
    recorder_server: tuple[BackgroundServer, Recorder], media: dict[str, Path]
) -> None:
    server, model = recorder_server
    part = {"type": "input_audio", "input_audio": {"data": b64(media["wav"]), "format": "wav"}}
    assert chat(server, _user(part)).status_code == 200
    audio = model.seen[-1][0].parts[0]
    assert isinstance(audio, AudioPart)
    digest = hashlib.sha256(media["wav"].read_bytes()).hexdigest()[:20]
    assert audio.path.name == f"{digest}.wav"
