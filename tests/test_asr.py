"""ASR: pocketsphinx on real espeak-ng speech, an OpenAI-compatible transcription endpoint on
127.0.0.1 that speaks the real wire format, and the per-digest transcript cache."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import Awaitable, Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiohttp import web

from omnieval.media import MediaCache
from omnieval.media.asr import (
    AsrError,
    CachedTranscriber,
    Transcriber,
    Transcript,
    TranscriptCache,
    Word,
    get_transcriber,
)
from omnieval.types import TimeWindow
from tests.app_server import AppServer

SENTENCE = "seven green birds flew over quiet hills while my friend bought fresh bread"
SPOKEN = SENTENCE.split()
LINE = re.compile(r"^\[(\d+\.\d\d)-(\d+\.\d\d)\] \S.*$")

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (Debian: apt-get install -y espeak-ng); it makes the speech",
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian: apt-get install -y espeak-ng)")
    path = tmp_path_factory.mktemp("speech") / "sentence.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), SENTENCE], check=True)
    return path


@pytest.fixture(scope="module")
def speech_video(speech_wav: Path) -> Path:
    """The same speech as the AAC track of an H.264 mp4 (a grey picture at 5 fps)."""
    path = speech_wav.with_name("sentence.mp4")
    with wave.open(str(speech_wav)) as src:
        rate = src.getframerate()
        pcm = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    seconds = len(pcm) / rate
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=5)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=rate)
        audio.layout = "mono"
        for i in range(int(seconds * 5) + 1):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 96, np.uint8), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 5)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for start in range(0, len(pcm), 1024):
            chunk = pcm[start : start + 1024].reshape(1, -1)
            aframe = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            aframe.sample_rate = rate
            aframe.pts = start
            aframe.time_base = Fraction(1, rate)
            out.mux(audio.encode(aframe))
        out.mux(audio.encode(None))
    return path


def _grammar_spec() -> dict[str, Any]:
    return {"engine": "pocketsphinx", "grammar_words": SPOKEN}


def _duration(path: Path) -> float:
    with wave.open(str(path)) as src:
        return src.getnframes() / src.getframerate()


def _check_words(transcript: Transcript, lo: float, hi: float) -> None:
    words = transcript.words
    assert words, "no words recognised"
    assert {w.text for w in words} <= set(SPOKEN)
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    for prev, word in itertools.pairwise(words):
        assert word.start >= prev.end - 1e-6
    for word in words:
        assert lo - 0.05 <= word.start < word.end <= hi + 0.05
    recall = len({w.text for w in words}) / len(set(SPOKEN))
    assert recall >= 0.5, transcript.text
    assert transcript.text == " ".join(w.text for w in words)


# --------------------------------------------------------------------------- pocketsphinx


@needs_espeak
def test_pocketsphinx_with_a_word_grammar_finds_the_words_in_time(
    speech_wav: Path, tmp_path: Path
) -> None:
    transcript = get_transcriber(_grammar_spec(), cache=tmp_path).transcribe(speech_wav)
    _check_words(transcript, 0.0, _duration(speech_wav))
    lines = transcript.timestamped(2.0).splitlines()
    assert lines and all(LINE.match(line) for line in lines)
    assert " ".join(line.split("] ", 1)[1] for line in lines) == transcript.text


@needs_espeak
def test_pocketsphinx_reads_the_audio_track_of_a_video_and_honours_a_window(
    speech_wav: Path, speech_video: Path, tmp_path: Path
) -> None:
    asr = get_transcriber(_grammar_spec(), cache=tmp_path)
    whole = asr.transcribe(speech_video)
    _check_words(whole, 0.0, _duration(speech_wav))
    window = TimeWindow(start=1.5, end=3.5)
    part = asr.transcribe(speech_video, window)
    assert part.words
    for word in part.words:  # times stay on the file's timeline
        assert 1.5 - 0.02 <= word.start < word.end <= 3.5 + 0.02
    assert part.words[0].start >= whole.words[0].start


def test_pocketsphinx_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="grammar_wordz"):
        get_transcriber({"engine": "pocketsphinx", "grammar_wordz": ["a"]}, cache=tmp_path)
    with pytest.raises(ValueError, match="unknown ASR engine 'whisperx'"):
        get_transcriber({"engine": "whisperx"}, cache=tmp_path)
    with pytest.raises(ValueError, match="either"):
        get_transcriber(
            {"engine": "pocketsphinx", "grammar_words": ["red"], "jsgf": "#JSGF V1.0;"},
            cache=tmp_path,
        )


# --------------------------------------------------------------------------- cache


def _count_calls(transcriber: Transcriber) -> list[tuple[str, TimeWindow | None]]:
    assert isinstance(transcriber, CachedTranscriber)
    calls: list[tuple[str, TimeWindow | None]] = []
    engine = transcriber.engine
    real = engine.transcribe

    def counting(path: Path, window: TimeWindow | None = None) -> Transcript:
        calls.append((Path(path).name, window))
        return real(path, window)

    engine.transcribe = counting  # type: ignore[method-assign]
    return calls


@needs_espeak
def test_a_second_transcription_of_the_same_audio_reads_the_cache(
    speech_wav: Path, tmp_path: Path
) -> None:
    cache = MediaCache(tmp_path / "cache")
    asr = get_transcriber(_grammar_spec(), cache=cache)
    calls = _count_calls(asr)
    first = asr.transcribe(speech_wav)
    assert asr.transcribe(speech_wav) == first
    renamed = tmp_path / "renamed.wav"  # the key is the content digest, not the name
    shutil.copyfile(speech_wav, renamed)
    assert asr.transcribe(renamed) == first
    assert asr.transcribe(speech_wav, TimeWindow(start=0.0)) == first  # the whole file
    assert len(calls) == 1

    asr.transcribe(speech_wav, TimeWindow(start=1.0, end=2.0))  # another window: a new entry
    assert len(calls) == 2

    again = get_transcriber(_grammar_spec(), cache=cache)  # a new transcriber, same disk
    again_calls = _count_calls(again)
    assert again.transcribe(speech_wav) == first
    assert again_calls == []

    other = get_transcriber({"engine": "pocketsphinx", "grammar_words": SPOKEN[:6]}, cache=cache)
    other_calls = _count_calls(other)
    other.transcribe(speech_wav)  # other settings: other entry
    assert len(other_calls) == 1
    entries = sorted((tmp_path / "cache").glob("*/*.asr.json"))
    assert len(entries) == 3
    stored = json.loads(entries[0].read_text())
    assert stored["engine"]["engine"] == "pocketsphinx" and "transcript" in stored
    assert not list((tmp_path / "cache").glob("*/.tmp-*"))
    cache.clear()
    assert not list((tmp_path / "cache").glob("*/*.asr.json"))


class _SlowEngine:
    """A stand-in engine for the cache's concurrency behaviour (not for recognition)."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        return {"engine": "slow-test"}

    def transcribe(self, path: Path, window: TimeWindow | None = None) -> Transcript:
        with self.lock:
            self.calls += 1
        time.sleep(0.2)
        return Transcript(words=(Word(start=0.5, end=0.9, text="hello"),), text="hello")


def test_concurrent_transcriptions_of_one_file_run_the_engine_once(tmp_path: Path) -> None:
    audio = tmp_path / "tone.wav"
    _write_tone(audio, 1.0)
    engine = _SlowEngine()
    asr = CachedTranscriber(engine, TranscriptCache(tmp_path / "cache"))
    results: list[Transcript] = []
    threads = [
        threading.Thread(target=lambda: results.append(asr.transcribe(audio))) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert engine.calls == 1 and len(results) == 6 and len(set(results)) == 1


def test_a_damaged_cache_entry_is_a_miss(tmp_path: Path) -> None:
    audio = tmp_path / "tone.wav"
    _write_tone(audio, 1.0)
    engine = _SlowEngine()
    cache = TranscriptCache(tmp_path / "cache")
    asr = CachedTranscriber(engine, cache)
    asr.transcribe(audio)
    (entry,) = (tmp_path / "cache").glob("*/*.asr.json")
    entry.write_text("{not json")
    assert asr.transcribe(audio).text == "hello"
    assert engine.calls == 2
    assert json.loads(entry.read_text())["transcript"]["text"] == "hello"


def test_timestamped_groups_words_into_segments() -> None:
    words = (
        Word(start=0.0, end=0.4, text="hello"),
        Word(start=0.5, end=1.2, text="there"),
        Word(start=1.3, end=2.1, text="general"),
        Word(start=2.2, end=2.9, text="kenobi"),
        Word(start=5.0, end=5.5, text="later"),
    )
    transcript = Transcript(words=words, text="hello there general kenobi later")
    assert transcript.timestamped(2.0) == (
        "[0.00-1.20] hello there\n[1.30-2.90] general kenobi\n[5.00-5.50] later"
    )
    assert transcript.timestamped(10.0) == (
        "[0.00-2.90] hello there general kenobi\n[5.00-5.50] later"
    )
    assert Transcript(text="no times").timestamped() == "no times"
    assert Transcript().timestamped() == ""


# --------------------------------------------------------------------------- OpenAI-compatible


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_KEY = "sk-test-0123456789abcdef"


class TranscriptionService:
    """`POST /v1/audio/transcriptions` as OpenAI serves it (multipart in, verbose_json out)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_with: list[tuple[int, dict[str, str]]] = []
        self.delay_s = 0.0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        audio = upload.file.read()
        fields = {k: str(v) for k, v in form.items() if k != "file"}
        fields["timestamp_granularities[]"] = ",".join(
            str(v) for v in form.getall("timestamp_granularities[]", [])
        )
        with wave.open(io.BytesIO(audio)) as wav:
            rate, channels, frames = wav.getframerate(), wav.getnchannels(), wav.getnframes()
        self.received.append(
            {
                "auth": request.headers.get("Authorization"),
                "fields": fields,
                "filename": upload.filename,
                "content_type": upload.content_type,
                "rate": rate,
                "channels": channels,
                "seconds": frames / rate,
            }
        )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_with:
            status, headers = self.fail_with.pop(0)
            body = {"error": {"message": f"denied for {request.headers.get('Authorization')}"}}
            return web.json_response(body, status=status, headers=headers)
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        seconds = frames / rate
        return web.json_response(
            {
                "task": "transcribe",
                "language": "english",
                "duration": seconds,
                "text": " Hello there, world.",
                "words": [
                    {"word": "Hello", "start": 0.1, "end": 0.4},
                    {"word": "there,", "start": 0.45, "end": 0.7},
                    {"word": "world.", "start": 0.8, "end": min(1.2, seconds)},
                ],
            }
        )


@pytest.fixture
def transcription_server() -> Iterator[tuple[str, TranscriptionService]]:
    service = TranscriptionService()
    app = web.Application()
    app.router.add_post("/v1/audio/transcriptions", service.handle)
    with AppServer(app) as server:
        yield server.url + "/v1", service


def _write_tone(path: Path, seconds: float, rate: int = 22_050) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(pcm[:, None], 2, axis=1).tobytes())
    return path


def _openai_spec(base_url: str) -> dict[str, Any]:
    return {"engine": "openai", "base_url": base_url, "model": "whisper-1", "api_key": API_KEY}


def test_openai_engine_speaks_the_transcription_wire_format(
    transcription_server: tuple[str, TranscriptionService], tmp_path: Path
) -> None:
    base_url, service = transcription_server
    audio = _write_tone(tmp_path / "tone.wav", 3.0)
    asr = get_transcriber(_openai_spec(base_url), cache=tmp_path / "cache")
    transcript = asr.transcribe(audio, TimeWindow(start=1.0, end=2.5))
    (seen,) = service.received
    assert seen["auth"] == f"Bearer {API_KEY}"
    assert seen["fields"] == {
        "model": "whisper-1",
        "response_format": "verbose_json",
        "timestamp_granularities[]": "word",
    }
    assert seen["filename"] == "audio.wav" and seen["content_type"] == "audio/wav"
    assert (seen["rate"], seen["channels"]) == (16_000, 1)
    assert seen["seconds"] == pytest.approx(1.5, abs=0.01)
    assert transcript.text == "Hello there, world."
    assert [(w.text, w.start, w.end) for w in transcript.words] == [
        ("Hello", 1.1, 1.4),
        ("there,", 1.45, 1.7),
        ("world.", 1.8, 2.2),
    ]
    assert asr.transcribe(audio, TimeWindow(start=1.0, end=2.5)) == transcript
    assert len(service.received) == 1  # cached
    stored = next((tmp_path / "cache").glob("*/*.asr.json")).read_text()
    assert API_KEY not in stored


def test_openai_engine_retries_rate_limits_and_hides_the_key(
    transcription_server: tuple[str, TranscriptionService], tmp_path: Path
) -> None:
    base_url, service = transcription_server
    audio = _write_tone(tmp_path / "tone.wav", 1.0)
    service.fail_with = [(429, {"Retry-After": "0"}), (503, {})]
    spec = _openai_spec(base_url) | {"retry_base_s": 0.01}
    asr = get_transcriber(spec, cache=tmp_path / "cache")
    assert asr.transcribe(audio).text == "Hello there, world."
    assert len(service.received) == 3

    service.fail_with = [(500, {})] * 5
    spec = spec | {"max_retries": 1}
    with pytest.raises(AsrError) as failed:
        get_transcriber(spec, cache=tmp_path / "other").transcribe(audio)
    assert failed.value.transient and "HTTP 500" in str(failed.value)
    assert API_KEY not in str(failed.value) and "***" in str(failed.value)

    service.fail_with = [(400, {})]
    with pytest.raises(AsrError) as bad:
        get_transcriber(spec, cache=tmp_path / "third").transcribe(audio)
    assert not bad.value.transient and "HTTP 400" in str(bad.value)
    assert API_KEY not in str(bad.value)
    assert API_KEY not in repr(get_transcriber(spec, cache=tmp_path))


def test_openai_engine_times_out_and_reports_unreachable_servers(
    transcription_server: tuple[str, TranscriptionService], tmp_path: Path
) -> None:
    base_url, service = transcription_server
    audio = _write_tone(tmp_path / "tone.wav", 1.0)
    service.delay_s = 60.0  # only the client's 0.3 s timeout can end the call within the test
    spec = _openai_spec(base_url) | {"timeout_s": 0.3, "max_retries": 0}
    with pytest.raises(AsrError, match=r"no answer within 0\.3 s") as slow:
        get_transcriber(spec, cache=tmp_path / "a").transcribe(audio)
    assert slow.value.transient

    closed = _openai_spec("http://127.0.0.1:9/v1") | {"max_retries": 0, "timeout_s": 2}
    with pytest.raises(AsrError) as refused:
        get_transcriber(closed, cache=tmp_path / "b").transcribe(audio)
    assert refused.value.transient and "127.0.0.1:9" in str(refused.value)
