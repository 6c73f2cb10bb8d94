"""Transport policies end to end: V-SYNC requests through the `openai` provider reach a real
loopback server as frames + transcript, or as native audio / video (probed from the bytes)."""

from __future__ import annotations

import asyncio
import base64
import io
import re
import threading
import wave
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from omnieval.benchmarks.vsync.synth import generate_vsync
from omnieval.benchmarks.vsync.task import VsyncBenchmark
from omnieval.media import FrameSpec, MediaCache, encode_png, probe, sample_frames
from omnieval.media.asr import Transcript, Word
from omnieval.models.base import PermanentModelError
from omnieval.models.openai_provider import OpenAIChat
from omnieval.models.transport import (
    NO_SPEECH,
    TRANSCRIPT_HEADER,
    MediaPreparer,
    TransportPolicy,
)
from omnieval.models.wire import decode_data_url
from omnieval.types import (
    AudioPart,
    ImagePart,
    Modality,
    Request,
    Sample,
    TextPart,
    TimeWindow,
    VideoPart,
)
from tests.conftest import synth_config
from tests.loopback import LoopbackServer

FRAME_LABEL = re.compile(r"^Frame at (\d+\.\d\d) s:$")
TRANSCRIPT_LINE = re.compile(r"^\[\d+\.\d\d-\d+\.\d\d\] \S")


@pytest.fixture(scope="module")
def vsync(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Sample]:
    out = tmp_path_factory.mktemp("vsync")
    generate_vsync(out, 2, seed=11, config=synth_config("espeak"), workers=1)
    task = VsyncBenchmark(data_dir=out).tasks()[0]
    return task, task.samples()[0]


@pytest.fixture(scope="module")
def server() -> Any:
    with LoopbackServer() as srv:
        yield srv


def _send(model: OpenAIChat, server: LoopbackServer, requests: list[Request]) -> list[dict]:
    """Send requests one after another; return the bodies the server received for them."""
    start = len(server.bodies)

    async def go() -> None:
        try:
            for request in requests:
                await model.generate(request)
        finally:
            await model.close()

    asyncio.run(go())
    return server.bodies[start:]


def _content(body: dict[str, Any]) -> list[dict[str, Any]]:
    content = body["messages"][-1]["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _kinds(body: dict[str, Any]) -> list[str]:
    return [p["type"] for p in _content(body)]


def _video_part(sample: Sample) -> VideoPart:
    part = sample.parts[0]
    assert isinstance(part, VideoPart)
    return part


def _video(sample: Sample) -> Path:
    return _video_part(sample).path


def _asr_words(sample: Sample) -> list[str]:
    return sorted(
        {w for line in sample.metadata["asr_content"].splitlines() for w in line.split()[1:]}
    )


def _chat(
    server: LoopbackServer, tmp_path: Path, name: str, inputs: list[str], **transport: Any
) -> OpenAIChat:
    """An OpenAI-compatible model at the loopback server taking `inputs`, caching under tmp."""
    return OpenAIChat(
        model=name,
        base_url=server.url,
        inputs=inputs,
        transport=transport or None,
        cache_dir=str(tmp_path / "cache"),
    )


# --------------------------------------------------------------------------- frames + transcript


def test_frames_and_transcript_for_a_model_without_audio_or_video(
    vsync: tuple[Any, Sample], server: LoopbackServer, tmp_path: Path
) -> None:
    task, sample = vsync
    asr = {"engine": "pocketsphinx", "grammar_words": _asr_words(sample)}
    model = _chat(server, tmp_path, "gpt-4o", ["text", "image"], asr=asr)
    assert model.policy.video == "frames" and model.policy.audio == "transcript"
    avt, vt, at = _send(model, server, [task.build_request(sample, v) for v in ("avt", "vt", "at")])

    video = _video(sample)
    truth = sample_frames(video, FrameSpec(fps=1.0, max_side=512)).timestamps
    for body, wants_frames, wants_transcript in (
        (avt, True, True),
        (vt, True, False),
        (at, False, True),
    ):
        parts = _content(body)
        images = [i for i, p in enumerate(parts) if p["type"] == "image_url"]
        assert bool(images) == wants_frames
        stamps = []
        for i in images:  # each frame right after its "Frame at X s:" label
            label = parts[i - 1]
            assert label["type"] == "text"
            match = FRAME_LABEL.match(label["text"])
            assert match, label["text"]
            stamps.append(float(match.group(1)))
            mime, jpeg = decode_data_url(parts[i]["image_url"]["url"])
            assert mime == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
        if wants_frames:
            assert stamps == pytest.approx([round(float(t), 2) for t in truth], abs=0.006)
            assert len(stamps) == 4  # a 4 s clip at 1 fps
        # (a content of text parts only is sent as one string, parts joined by blank lines)
        texts = [p["text"] for p in parts if p["type"] == "text"]
        transcripts = [t.split("\n\n")[0] for t in texts if t.startswith(TRANSCRIPT_HEADER)]
        assert len(transcripts) == int(wants_transcript)
        if wants_transcript:
            lines = transcripts[0].splitlines()[1:]
            assert lines and all(TRANSCRIPT_LINE.match(line) for line in lines), lines
        assert "video_url" not in _kinds(body) and "input_audio" not in _kinds(body)
        assert parts[-1]["text"].endswith(sample.metadata["question"])  # the prompt stays last
        assert "mm_processor_kwargs" not in body


def test_frame_limit_spreads_frames_and_a_fake_transcriber_can_be_injected(
    vsync: tuple[Any, Sample], tmp_path: Path
) -> None:
    _, sample = vsync

    class Fake:
        calls: ClassVar[list[Any]] = []

        def transcribe(self, path: Path, window: TimeWindow | None = None) -> Transcript:
            self.calls.append((path, window))
            words = (Word(start=0.5, end=0.9, text="hello"), Word(start=3.1, end=3.4, text="bye"))
            return Transcript(words=words, text="hello bye")

    fake = Fake()
    policy = TransportPolicy(max_frames=2, frame_max_side=64, transcript_segment_s=1.0)
    resolved = policy.resolve(frozenset({Modality.TEXT, Modality.IMAGE}))
    prepared = MediaPreparer(resolved, MediaCache(tmp_path), fake).prepare(
        Request(parts=(_video_part(sample), TextPart(text="q")))
    )
    labels = [p["text"] for p in prepared.parts if p["type"] == "text"]
    assert labels[:2] == ["Frame at 1.00 s:", "Frame at 3.00 s:"]  # centres of two halves
    assert labels[2] == f"{TRANSCRIPT_HEADER}\n[0.50-0.90] hello\n[3.10-3.40] bye"
    assert fake.calls == [(_video(sample), None)]
    images = [p for p in prepared.parts if p["type"] == "image_url"]
    assert all(max(_jpeg_size(p)) <= 64 for p in images)

    class Silent(Fake):
        def transcribe(self, path: Path, window: TimeWindow | None = None) -> Transcript:
            return Transcript()

    silent = MediaPreparer(resolved, MediaCache(tmp_path), Silent()).prepare(
        Request(parts=(AudioPart(path=_video(sample)),))
    )
    assert silent.parts == [{"type": "text", "text": f"{TRANSCRIPT_HEADER}\n{NO_SPEECH}"}]


def _jpeg_size(part: dict[str, Any]) -> tuple[int, int]:
    _, data = decode_data_url(part["image_url"]["url"])
    path = io.BytesIO(data)
    import av

    with av.open(path, "r") as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


# --------------------------------------------------------------------------- native


def test_native_audio_and_video_arrive_and_vt_video_has_no_audio_stream(
    vsync: tuple[Any, Sample], server: LoopbackServer, tmp_path: Path
) -> None:
    task, sample = vsync
    model = _chat(server, tmp_path, "qwen2.5-omni", ["text", "image", "audio", "video"])
    assert model.policy.video == "native" and model.policy.audio == "native"
    avt, vt, at = _send(model, server, [task.build_request(sample, v) for v in ("avt", "vt", "at")])
    source = probe(_video(sample))
    assert source.has_audio

    assert _kinds(avt) == ["video_url", "text"]
    assert avt["mm_processor_kwargs"] == {"use_audio_in_video": True}
    with_audio = _probe_data_url(_content(avt)[0]["video_url"]["url"], tmp_path / "avt.mp4")
    assert with_audio.has_audio and with_audio.has_video

    assert _kinds(vt) == ["video_url", "text"]
    assert vt["mm_processor_kwargs"] == {"use_audio_in_video": False}
    silent = _probe_data_url(_content(vt)[0]["video_url"]["url"], tmp_path / "vt.mp4")
    assert not silent.has_audio and silent.video is not None and source.video is not None
    assert silent.video.frame_count == source.video.frame_count  # remuxed, not re-encoded
    assert silent.video.codec == source.video.codec

    assert _kinds(at) == ["input_audio", "text"]
    assert "mm_processor_kwargs" not in at
    audio = _content(at)[0]["input_audio"]
    assert audio["format"] == "wav"
    with wave.open(io.BytesIO(base64.b64decode(audio["data"]))) as wav:
        assert (
            source.audio is not None and wav.getframerate() == source.audio.sample_rate
        )  # no resampling asked for
        assert wav.getnframes() / wav.getframerate() == pytest.approx(source.duration_s, abs=0.03)


def _probe_data_url(url: str, path: Path) -> Any:
    mime, data = decode_data_url(url)
    assert mime == "video/mp4"
    path.write_bytes(data)
    return probe(path)


def test_native_video_as_file_url_and_resampled_mp3(
    vsync: tuple[Any, Sample], server: LoopbackServer, tmp_path: Path
) -> None:
    task, sample = vsync
    transport = {"video_url_mode": "file", "audio_format": "mp3", "audio_sample_rate": 8000}
    model = _chat(server, tmp_path, "local-omni", ["text", "audio", "video"], **transport)
    avt, vt, at = _send(model, server, [task.build_request(sample, v) for v in ("avt", "vt", "at")])
    original = _content(avt)[0]["video_url"]["url"]
    assert original == Path(_video(sample)).resolve().as_uri()
    remuxed = _content(vt)[0]["video_url"]["url"]
    assert remuxed.startswith("file://") and remuxed != original
    remuxed_path = Path(remuxed[len("file://") :])
    assert remuxed_path.is_relative_to(tmp_path / "cache")
    assert not probe(remuxed_path).has_audio
    audio = _content(at)[0]["input_audio"]
    assert audio["format"] == "mp3"
    mp3 = tmp_path / "at.mp3"
    mp3.write_bytes(base64.b64decode(audio["data"]))
    info = probe(mp3)
    assert info.container == "mp3" and info.audio is not None and info.audio.sample_rate == 8000


def test_native_video_with_transcript_audio_strips_the_track(
    vsync: tuple[Any, Sample], tmp_path: Path
) -> None:
    _, sample = vsync

    class Fake:
        def transcribe(self, path: Path, window: TimeWindow | None = None) -> Transcript:
            return Transcript(words=(Word(start=0.0, end=0.4, text="hi"),), text="hi")

    policy = TransportPolicy(video="native", audio="transcript").resolve(frozenset(Modality))
    prepared = MediaPreparer(policy, MediaCache(tmp_path), Fake()).prepare(
        Request(parts=(_video_part(sample),))
    )
    assert [p["type"] for p in prepared.parts] == ["video_url", "text"]
    assert prepared.extra == {"mm_processor_kwargs": {"use_audio_in_video": False}}
    video = tmp_path / "v.mp4"
    video.write_bytes(decode_data_url(prepared.parts[0]["video_url"]["url"])[1])
    assert not probe(video).has_audio


# --------------------------------------------------------------------------- policies


def test_drop_and_defaults_follow_declared_inputs(
    vsync: tuple[Any, Sample], tmp_path: Path
) -> None:
    _, sample = vsync
    text_only = TransportPolicy().resolve(frozenset({Modality.TEXT}))
    assert (text_only.image, text_only.video, text_only.audio) == ("drop", "drop", "transcript")
    assert text_only.describe()["dropped"] == ["image", "video"]
    assert "frames" not in text_only.describe()

    no_audio = TransportPolicy(audio="drop").resolve(frozenset({Modality.TEXT, Modality.IMAGE}))
    described = no_audio.describe()
    assert described["dropped"] == ["audio"] and "transcript" not in described
    prepared = MediaPreparer(no_audio, MediaCache(tmp_path)).prepare(
        Request(parts=(_video_part(sample), TextPart(text="q")))
    )
    kinds = [p["type"] for p in prepared.parts]
    assert kinds.count("image_url") == 4 and kinds[-1] == "text"
    assert not any(TRANSCRIPT_HEADER in p.get("text", "") for p in prepared.parts)

    secret_asr = TransportPolicy(asr={"engine": "openai", "api_key": "sk-asr-secret"})
    assert "sk-asr-secret" not in str(secret_asr.resolve(frozenset()).describe())


def test_images_from_bytes_and_files_and_bad_media(tmp_path: Path) -> None:
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    png = encode_png(image)
    jpg_path = tmp_path / "x.jpg"
    jpg_path.write_bytes(b"\xff\xd8fake")
    policy = TransportPolicy().resolve(frozenset({Modality.TEXT, Modality.IMAGE}))
    preparer = MediaPreparer(policy, MediaCache(tmp_path / "c"))
    prepared = preparer.prepare(
        Request(parts=(ImagePart(data=png), ImagePart(path=jpg_path), TextPart(text="t")))
    )
    assert decode_data_url(prepared.parts[0]["image_url"]["url"]) == ("image/png", png)
    assert decode_data_url(prepared.parts[1]["image_url"]["url"])[0] == "image/jpeg"
    with pytest.raises(PermanentModelError, match=r"missing\.mp4"):
        preparer.prepare(Request(parts=(VideoPart(path=tmp_path / "missing.mp4"),)))


def test_windowed_native_video_is_refused(vsync: tuple[Any, Sample], tmp_path: Path) -> None:
    _, sample = vsync
    policy = TransportPolicy().resolve(frozenset(Modality))
    part = VideoPart(path=_video(sample), window=TimeWindow(start=1.0, end=2.0))
    with pytest.raises(PermanentModelError, match="frames"):
        MediaPreparer(policy, MediaCache(tmp_path)).prepare(Request(parts=(part,)))


def test_media_preparation_runs_in_a_worker_thread_and_the_loop_stays_free(
    vsync: tuple[Any, Sample], server: LoopbackServer, tmp_path: Path
) -> None:
    task, sample = vsync
    model = OpenAIChat(
        model="m", base_url=server.url, transport={"audio": "drop"}, cache_dir=str(tmp_path)
    )
    real = model._prepare_and_encode
    where: list[str] = []
    loop: asyncio.AbstractEventLoop | None = None

    def spy(request: Request) -> Any:
        # While preparing media, ask the event loop to run a callback and wait for it: this only
        # returns if the loop is free (a preparation on the loop thread would wait forever).
        assert loop is not None
        if threading.current_thread() is threading.main_thread():
            where.append("loop")
        else:
            where.append("worker")
            ran = threading.Event()
            loop.call_soon_threadsafe(ran.set)
            assert ran.wait(30), "the event loop did not run while media was being prepared"
        return real(request)

    model._prepare_and_encode = spy  # type: ignore[method-assign]

    async def go() -> list[Any]:
        nonlocal loop
        loop = asyncio.get_running_loop()
        try:
            return [
                await model.generate(task.build_request(sample, "vt")),
                await model.generate(Request(parts=(TextPart(text="x"),))),
            ]
        finally:
            await model.close()

    responses = asyncio.run(asyncio.wait_for(go(), 60))
    assert [r.error for r in responses] == [None, None]
    assert where == ["worker", "loop"]  # the text-only request needs no thread
