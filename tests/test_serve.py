"""`omnieval serve` on a real uvicorn server on 127.0.0.1: the official `openai` client, media
parts, V-SYNC `/analyze` and the errors a request can get (tests/test_serve_lifecycle.py: auth,
body limits, model loading, graceful shutdown and the V-SYNC solver served)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
import requests

from omnieval import registry
from omnieval.media import encode_png
from omnieval.models.base import Model
from omnieval.models.reference import RandomChoice
from omnieval.models.serve import BackgroundServer, LocalMediaPolicy
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.types import AudioPart, ImagePart, TextPart, VideoPart
from tests.mediagen import write_garbage, write_test_audio, write_test_video
from tests.serve_helpers import PROMPT, Recorder, b64, chat, client, data_url, error_message, start


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


PROMPT_PART = {"type": "text", "text": PROMPT}


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


# --------------------------------------------------------------------------- media names


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
