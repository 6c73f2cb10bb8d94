"""The `gemini` provider: the real google-genai SDK against a loopback server on 127.0.0.1 that
speaks Gemini's REST protocol (`models/{model}:generateContent`, inline base64 media)."""

from __future__ import annotations

import asyncio
import base64
import builtins
import io
import sys
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiohttp import web

from omnieval.media import MediaCache, encode_png, probe
from omnieval.media.prepare import video_copy
from omnieval.models.base import PermanentModelError, TransientModelError
from omnieval.models.gemini_provider import GeminiModel
from omnieval.types import (
    AudioPart,
    ChannelLayout,
    GenerationParams,
    ImagePart,
    Request,
    TextPart,
    TimeWindow,
    VideoPart,
)
from tests.mediagen import write_test_audio, write_test_video

API_KEY = "AIza-test-secret-0123456789"

# google-genai subclasses aiohttp.ClientSession, which aiohttp frowns upon; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
)


class FakeGemini:
    """`POST /{version}/models/{model}:generateContent` as the Gemini API answers it.

    The model name picks the behaviour: `rate-limited` (429 with Retry-After and RetryInfo),
    `quota-body-only` (429 with RetryInfo only), `bad-request` (400), `overloaded` (503),
    `slow` (answers after 60 s: only a client timeout ends the call in a test); anything else
    answers "B".
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        model, _, action = request.match_info["target"].partition(":")
        if action != "generateContent":
            return _error(404, "NOT_FOUND", f"unknown action {action!r}")
        if request.headers.get("x-goog-api-key") != API_KEY:
            return _error(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."
            )
        body = await request.json()
        self.requests.append(
            {
                "version": request.match_info["version"],
                "model": model,
                "body": body,
                "media": [_decode_inline(part) for part in body["contents"][0]["parts"]],
            }
        )
        if model == "rate-limited":
            return _error(429, "RESOURCE_EXHAUSTED", "quota", retry_delay="7s", retry_after="3")
        if model == "quota-body-only":
            return _error(429, "RESOURCE_EXHAUSTED", "quota", retry_delay="12.5s")
        if model == "bad-request":
            return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        if model == "overloaded":
            return _error(503, "UNAVAILABLE", "The model is overloaded.")
        if model == "slow":
            await asyncio.sleep(60.0)
        return web.json_response(
            {
                "candidates": [
                    {
                        "content": {
                            "role": "model",
                            "parts": [{"text": "thinking...", "thought": True}, {"text": "B"}],
                        },
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": 1234,
                    "candidatesTokenCount": 1,
                    "thoughtsTokenCount": 20,
                    "totalTokenCount": 1255,
                },
                "modelVersion": model,
            }
        )


def _error(
    code: int,
    status: str,
    message: str,
    retry_delay: str | None = None,
    retry_after: str | None = None,
) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if retry_delay:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        ]
    headers = {"Retry-After": retry_after} if retry_after else None
    return web.json_response({"error": error}, status=code, headers=headers)


def _decode_inline(part: dict[str, Any]) -> dict[str, Any]:
    """What an inline part holds, as the service would see it (either JSON casing)."""
    if "text" in part:
        return {"text": part["text"]}
    blob = part.get("inlineData") or part["inline_data"]
    mime = blob.get("mimeType") or blob["mime_type"]
    # proto3 JSON `bytes`: standard or URL-safe base64 (the SDK sends URL-safe), padded or not
    text = blob["data"].replace("-", "+").replace("_", "/")
    data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    seen: dict[str, Any] = {"mime": mime, "bytes": data}
    metadata = part.get("videoMetadata") or part.get("video_metadata")
    if metadata:
        seen["video_metadata"] = metadata
    if mime.startswith(("video/", "audio/")):
        with av.open(io.BytesIO(data)) as container:
            seen["streams"] = sorted(s.type for s in container.streams)
    if mime == "audio/wav":
        with wave.open(io.BytesIO(data)) as wav:
            seen["wav"] = (wav.getframerate(), wav.getnchannels(), wav.getnframes())
    return seen


def serve(test: Callable[[str, FakeGemini], Awaitable[None]]) -> None:
    """Run `test(base_url, fake)` with the fake service listening on 127.0.0.1."""

    async def main() -> None:
        fake = FakeGemini()
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/{version}/models/{target}", fake.handle)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = int(runner.addresses[0][1])
        try:
            await asyncio.wait_for(test(f"http://127.0.0.1:{port}", fake), 30)
        finally:
            await runner.cleanup()

    asyncio.run(main())


def _model(base_url: str, name: str = "gemini-test", **kwargs: Any) -> GeminiModel:
    return GeminiModel(model=name, api_key=API_KEY, base_url=base_url, **kwargs)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gemini-media")
    return {
        "video": write_test_video(root / "clip.mp4", seconds=2.0, fps=10),
        "wav": write_test_audio(root / "tone.wav", seconds=1.0, sample_rate=16000),
        "stereo": write_test_audio(root / "stereo.flac", 1.0, 22050, tones=(300.0, 500.0)),
        "mkv": write_test_video(root / "clip.mkv", seconds=1.0, fps=10, audio_codec="flac"),
    }


def test_a_request_goes_out_as_gemini_inline_parts_and_the_answer_comes_back(
    media: dict[str, Path],
) -> None:
    png = encode_png(np.full((8, 8, 3), 200, np.uint8))
    request = Request(
        parts=(
            TextPart(text="Look and listen."),
            ImagePart(data=png, mime="image/png"),
            AudioPart(path=media["wav"]),
            AudioPart(path=media["video"], window=TimeWindow(start=0.5, end=1.5)),
            VideoPart(path=media["video"], with_audio=True),
            VideoPart(path=media["video"], with_audio=False),
            VideoPart(path=media["video"], window=TimeWindow(start=0.5, end=1.5)),
            TextPart(text="Answer with a letter."),
        ),
        system="You are a careful judge.",
        generation=GenerationParams(temperature=0.2, top_p=0.9, max_tokens=64, seed=7),
    )

    async def run(url: str, fake: FakeGemini) -> None:
        model = _model(url)
        try:
            response = await model.generate(request)
        finally:
            await model.close()
        assert response.text == "B"  # the thought part is not part of the answer
        assert response.finish_reason == "STOP"
        assert response.usage is not None
        assert (response.usage.input_tokens, response.usage.output_tokens) == (1234, 21)
        assert response.latency_s > 0

        (seen,) = fake.requests
        assert seen["model"] == "gemini-test"
        body = seen["body"]
        assert body["systemInstruction"]["parts"] == [{"text": "You are a careful judge."}]
        assert body["generationConfig"] == {
            "temperature": 0.2,
            "topP": 0.9,
            "maxOutputTokens": 64,
            "seed": 7,
        }
        parts = seen["media"]
        assert parts[0] == {"text": "Look and listen."} and parts[-1]["text"].startswith("Answer")
        image, wav, track, full, silent, windowed = parts[1:7]
        assert image["mime"] == "image/png" and image["bytes"] == png
        assert wav["mime"] == "audio/wav" and wav["bytes"] == media["wav"].read_bytes()
        assert track["mime"] == "audio/wav" and track["streams"] == ["audio"]
        rate, channels, frames = track["wav"]
        native = probe(media["video"]).audio
        assert native is not None  # the track keeps the file's rate and channels (no downmix)
        assert (rate, channels) == (native.sample_rate, native.channels)
        assert frames == pytest.approx(native.sample_rate, abs=40)
        assert full["mime"] == "video/mp4" and full["bytes"] == media["video"].read_bytes()
        assert full["streams"] == ["audio", "video"]
        assert silent["mime"] == "video/mp4" and silent["streams"] == ["video"]
        assert len(silent["bytes"]) < len(full["bytes"])
        assert windowed["bytes"] == full["bytes"]
        offsets = windowed["video_metadata"]
        assert offsets.get("startOffset", offsets.get("start_offset")) == "0.500s"
        assert offsets.get("endOffset", offsets.get("end_offset")) == "1.500s"

    serve(run)


def test_video_without_audio_is_remuxed_not_reencoded(
    media: dict[str, Path], tmp_path: Path
) -> None:
    copy = video_copy(media["video"], keep_audio=False, container="mp4", cache=MediaCache(tmp_path))
    silent = copy.read_bytes()
    with av.open(str(media["video"])) as src, av.open(io.BytesIO(silent), "r") as out:
        assert [s.type for s in out.streams] == ["video"]
        src_packets = [bytes(p) for p in src.demux(video=0) if p.size]
        out_packets = [bytes(p) for p in out.demux(video=0) if p.size]
    assert out_packets == src_packets


def test_stereo_audio_and_other_containers(media: dict[str, Path]) -> None:
    request = Request(
        parts=(
            AudioPart(path=media["stereo"], layout=ChannelLayout.STEREO),
            AudioPart(path=media["stereo"], channel="left"),  # one channel: decoded to wav
            VideoPart(path=media["mkv"]),  # not a container Gemini takes: remuxed to mp4
            TextPart(text="?"),
        )
    )

    async def run(url: str, fake: FakeGemini) -> None:
        model = _model(url, video_fps=4)
        try:
            await model.generate(request)
        finally:
            await model.close()
        stereo, mono, mkv = fake.requests[0]["media"][:3]
        assert stereo["mime"] == "audio/flac" and stereo["bytes"] == media["stereo"].read_bytes()
        assert mono["mime"] == "audio/wav" and mono["wav"][:2] == (22_050, 1)
        assert mkv["mime"] == "video/mp4" and mkv["streams"] == ["audio", "video"]
        assert mkv["video_metadata"] == {"fps": 4.0}

    serve(run)


def test_rate_limits_and_server_errors_are_transient_with_retry_after() -> None:
    request = Request(parts=(TextPart(text="hi"),))

    async def run(url: str, fake: FakeGemini) -> None:
        for name, expected in (("rate-limited", 3.0), ("quota-body-only", 12.5)):
            model = _model(url, name)
            with pytest.raises(TransientModelError) as limited:
                await model.generate(request)
            await model.close()
            assert limited.value.retry_after_s == expected
            assert "429" in str(limited.value) and API_KEY not in str(limited.value)
        model = _model(url, "overloaded")
        with pytest.raises(TransientModelError, match="503"):
            await model.generate(request)
        await model.close()
        assert len(fake.requests) == 3  # the SDK's own retries are off

    serve(run)


def test_bad_requests_are_permanent_and_never_show_the_key() -> None:
    request = Request(parts=(TextPart(text="hi"),))

    async def run(url: str, fake: FakeGemini) -> None:
        model = _model(url, "bad-request")
        with pytest.raises(PermanentModelError, match="400 INVALID_ARGUMENT") as bad:
            await model.generate(request)
        await model.close()
        assert API_KEY not in str(bad.value)
        wrong = GeminiModel(model="gemini-test", api_key="wrong-key", base_url=url)
        with pytest.raises(PermanentModelError, match="API key not valid") as denied:
            await wrong.generate(request)
        await wrong.close()
        assert "wrong-key" not in str(denied.value)

    serve(run)


def test_timeouts_and_refused_connections_are_transient() -> None:
    request = Request(parts=(TextPart(text="hi"),))

    async def run(url: str, fake: FakeGemini) -> None:
        model = _model(url, "slow", timeout_s=0.5)
        # The fake answers after 60 s and the whole test is cut at 30 s: only the client's own
        # 0.5 s timeout can end this call with a TransientModelError.
        with pytest.raises(TransientModelError):
            await model.generate(request)
        await model.close()
        refused = _model("http://127.0.0.1:9")
        with pytest.raises(TransientModelError, match="connection"):
            await refused.generate(request)
        await refused.close()

    serve(run)


def test_fingerprint_and_repr_hold_no_secret() -> None:
    model = GeminiModel(model="gemini-2.5-flash", api_key=API_KEY, temperature=0.0, video_fps=2.0)
    assert model.fingerprint() == {
        "provider": "gemini",
        "model": "gemini-2.5-flash",
        "temperature": 0.0,
        "video_fps": 2.0,
        "transport": {
            "image": "native",
            "audio": "native source native-rate channels-kept",
            "video": "native",
            "dropped": [],
        },
    }
    assert API_KEY not in repr(model) and API_KEY not in str(model.fingerprint())
    mono = GeminiModel(model="gemini-2.5-flash", api_key=API_KEY, audio_channels="downmix")
    assert mono.fingerprint()["transport"]["audio"] == "native source native-rate mono-downmix"


def test_too_much_inline_media_is_refused_before_sending(media: dict[str, Path]) -> None:
    model = GeminiModel(model="g", api_key=API_KEY, max_inline_mb=0.001)
    with pytest.raises(PermanentModelError, match=r"clip\.mp4.*max_inline_mb"):
        model.build_parts(Request(parts=(VideoPart(path=media["video"]),)))


def test_a_missing_sdk_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_genai(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("google.genai") or (name == "google" and "genai" in str(args[2:])):
            raise ImportError("No module named 'google.genai'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_genai)
    monkeypatch.delitem(sys.modules, "google.genai", raising=False)
    with pytest.raises(ImportError, match=r"omnieval\[gemini\]"):
        GeminiModel(model="g", api_key=API_KEY)
