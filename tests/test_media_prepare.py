"""The one media preparer (`omnieval.media.prepare`): probed channel layouts, channel policies, and
every provider (openai over a real loopback server, `omnieval serve` in process, hf's message
builder) keeping a stereo file's two channels apart unless its policy says otherwise.

The test audio has different content per channel (440 Hz left, 880 Hz right), so a downmix or a
swapped channel shows up as the wrong dominant frequency."""

from __future__ import annotations

import asyncio
import base64
import io
import wave
from pathlib import Path

import numpy as np
import pytest

from omnieval.media import MediaCache, MediaError
from omnieval.media.prepare import (
    AudioPolicy,
    audio_payload,
    prepare_audio,
    probe_layout,
)
from omnieval.models.base import Model, ModelCapabilities
from omnieval.models.hf.messages import MediaOptions, build_conversation
from omnieval.models.openai_provider import OpenAIChat
from omnieval.models.serve import BackgroundServer
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.runner.keys import TrialKeyer
from omnieval.types import (
    AudioPart,
    ChannelLayout,
    GenerationParams,
    Modality,
    Request,
    Response,
    TextPart,
)
from tests.loopback import LoopbackServer
from tests.mediagen import write_test_audio, write_test_video

RATE = 16_000


def dominant_hz(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[int(np.argmax(spectrum))])


def wav_channels(data: bytes) -> tuple[int, list[float]]:
    """(sample rate, dominant frequency of each channel) of 16-bit PCM or float WAV bytes."""
    if data[20:22] == b"\x03\x00":  # IEEE float: the stdlib wave module reads PCM only
        channels = int.from_bytes(data[22:24], "little")
        rate = int.from_bytes(data[24:28], "little")
        pcm = np.frombuffer(data[44:], "<f4").reshape(-1, channels).T
    else:
        with wave.open(io.BytesIO(data)) as reader:
            channels, rate = reader.getnchannels(), reader.getframerate()
            raw = reader.readframes(reader.getnframes())
        pcm = np.frombuffer(raw, "<i2").reshape(-1, channels).T / 32768.0
    return rate, [dominant_hz(pcm[c], rate) for c in range(channels)]


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("prepare")
    return {
        "stereo": write_test_audio(root / "lr.wav", 1.0, RATE, tones=(440.0, 880.0)),
        "stereo_flac": write_test_audio(root / "lr.flac", 1.0, RATE, tones=(440.0, 880.0)),
        "mono": write_test_audio(root / "mono.wav", 1.0, RATE, tones=660.0),
        "six": write_test_audio(
            root / "six.flac", 0.5, RATE, tones=(200.0, 300.0, 400.0, 500.0, 600.0, 700.0)
        ),
        "video": write_test_video(root / "clip.mp4", 1.0, fps=10.0, audio_hz=(440.0, 880.0)),
    }


# --------------------------------------------------------------------------- probing, policies


def test_layouts_are_probed_not_defaulted(audio: dict[str, Path]) -> None:
    assert AudioPart(path=audio["mono"]).layout is None  # nothing assumed
    mono, stereo, six = (probe_layout(audio[k]) for k in ("mono", "stereo", "six"))
    assert (mono.channels, mono.layout) == (1, ChannelLayout.MONO)
    assert (stereo.channels, stereo.layout) == (2, ChannelLayout.STEREO)
    assert (six.channels, six.layout) == (6, ChannelLayout.MULTICHANNEL)
    binaural = probe_layout(audio["stereo"], ChannelLayout.BINAURAL)
    assert binaural.layout is ChannelLayout.BINAURAL
    with pytest.raises(MediaError, match="declares a mono layout but the audio has 2") as err:
        probe_layout(audio["stereo"], ChannelLayout.MONO)
    assert err.value.problem == "channels"


def test_six_channels_are_kept_apart(audio: dict[str, Path]) -> None:
    prepared = prepare_audio(audio["six"], AudioPolicy())
    assert prepared.clip.channels == 6 and prepared.layout is ChannelLayout.MULTICHANNEL
    found = [dominant_hz(prepared.clip.samples[c], RATE) for c in range(6)]
    assert found == pytest.approx([200, 300, 400, 500, 600, 700], abs=2)
    fifth = prepare_audio(audio["six"], AudioPolicy(channels=4))
    assert fifth.clip.channels == 1 and dominant_hz(fifth.clip.samples[0], RATE) == pytest.approx(
        600, abs=2
    )
    with pytest.raises(MediaError, match="mp3 holds at most 2 channels"):
        audio_payload(audio["six"], AudioPolicy(codec="mp3"))


@pytest.mark.parametrize(("channel", "hz"), [("left", 440.0), ("right", 880.0), (1, 880.0)])
def test_channel_selection_yields_that_channels_tone(
    audio: dict[str, Path], channel: str | int, hz: float
) -> None:
    by_policy = prepare_audio(audio["stereo"], AudioPolicy(channels=channel))  # type: ignore[arg-type]
    by_part = prepare_audio(audio["stereo"], AudioPolicy(), channel=channel)
    for prepared in (by_policy, by_part):
        assert prepared.clip.channels == 1 and prepared.layout is ChannelLayout.MONO
        assert dominant_hz(prepared.clip.samples[0], RATE) == pytest.approx(hz, abs=2)
    payload = audio_payload(audio["stereo"], AudioPolicy(), channel=channel)
    assert wav_channels(payload.data)[1] == pytest.approx([hz], abs=2)
    with pytest.raises(MediaError, match="channel 2"):
        prepare_audio(audio["stereo"], AudioPolicy(channels=2))


def test_downmix_mixes_both_tones_and_keep_keeps_binaural(audio: dict[str, Path]) -> None:
    mixed = prepare_audio(audio["stereo"], AudioPolicy(channels="downmix")).clip.samples[0]
    spectrum = np.abs(np.fft.rfft(mixed))
    freqs = np.fft.rfftfreq(len(mixed), 1 / RATE)
    peaks = sorted(float(f) for f in freqs[np.argsort(spectrum)[-2:]])
    assert peaks == pytest.approx([440, 880], abs=2)
    kept = prepare_audio(audio["stereo"], AudioPolicy(), layout=ChannelLayout.BINAURAL)
    assert kept.clip.channels == 2 and kept.layout is ChannelLayout.BINAURAL


def test_source_codec_sends_the_file_itself_only_when_nothing_changes(
    audio: dict[str, Path],
) -> None:
    flac = audio["stereo_flac"]
    same = audio_payload(flac, AudioPolicy(codec="source"))
    assert same.data == flac.read_bytes() and same.mime == "audio/flac" and same.channels == 2
    left = audio_payload(flac, AudioPolicy(codec="source", channels="left"))
    assert left.format == "wav" and wav_channels(left.data)[1] == pytest.approx([440], abs=2)
    resampled = audio_payload(flac, AudioPolicy(codec="source", sample_rate=8000))
    assert resampled.format == "wav" and wav_channels(resampled.data)[0] == 8000


# --------------------------------------------------------------------------- providers


def test_openai_provider_sends_stereo_with_both_channels(
    audio: dict[str, Path], tmp_path: Path
) -> None:
    request = Request(parts=(AudioPart(path=audio["stereo"]), TextPart(text="which ear?")))

    async def run(url: str, transport: dict[str, object]) -> None:
        model = OpenAIChat(
            model="m",
            base_url=url,
            inputs=["text", "audio"],
            transport=transport,
            cache_dir=str(tmp_path),
        )
        try:
            await model.generate(request)
        finally:
            await model.close()

    with LoopbackServer() as server:
        asyncio.run(run(server.url, {}))
        asyncio.run(run(server.url, {"audio_channels": "downmix"}))
        asyncio.run(run(server.url, {"audio_channels": "right"}))
        sent = [
            base64.b64decode(
                next(p for p in body["messages"][-1]["content"] if p["type"] == "input_audio")[
                    "input_audio"
                ]["data"]
            )
            for body in server.bodies
        ]
    rate, kept = wav_channels(sent[0])
    assert rate == RATE and kept == pytest.approx([440, 880], abs=2)
    assert len(wav_channels(sent[1])[1]) == 1
    assert wav_channels(sent[2])[1] == pytest.approx([880], abs=2)


class ChannelRecorder(Model):
    """Records, for each audio part it receives, the part's layout and each channel's tone."""

    name = "channel-recorder"
    capabilities = ModelCapabilities(inputs=frozenset(Modality))

    def __init__(self) -> None:
        self.seen: list[tuple[ChannelLayout | None, list[float]]] = []

    async def generate(self, request: Request) -> Response:
        for part in request.parts:
            if isinstance(part, AudioPart):
                clip = prepare_audio(part.path, AudioPolicy(), layout=part.layout).clip
                tones = [
                    dominant_hz(clip.samples[c], clip.sample_rate) for c in range(clip.channels)
                ]
                self.seen.append((part.layout, tones))
        return Response(text="A")


def test_serve_keeps_a_stereo_part_stereo_end_to_end(
    audio: dict[str, Path], tmp_path: Path
) -> None:
    recorder = ChannelRecorder()
    request = Request(parts=(AudioPart(path=audio["stereo"]), TextPart(text="which ear?")))

    async def ask(url: str) -> None:
        model = OpenAIChat(
            model="rec",
            base_url=url + "/v1",
            inputs=["text", "audio"],
            transport={"audio_sample_format": "f32"},
            cache_dir=str(tmp_path),
        )
        try:
            await model.generate(request)
        finally:
            await model.close()

    with BackgroundServer(create_app(recorder, ServeOptions(alias="rec"))) as server:
        asyncio.run(ask(server.url))
    ((layout, tones),) = recorder.seen
    assert layout is ChannelLayout.STEREO
    assert tones == pytest.approx([440, 880], abs=2)


def test_hf_message_builder_keeps_channels_only_when_its_policy_says_so(
    audio: dict[str, Path],
) -> None:
    request = Request(parts=(AudioPart(path=audio["stereo"]), TextPart(text="?")))
    kept = build_conversation(request, MediaOptions(audio_channels="keep"))
    (both,) = kept.audios
    assert both.shape == (2, RATE)
    assert [dominant_hz(both[c], RATE) for c in range(2)] == pytest.approx([440, 880], abs=2)
    (mixed,) = build_conversation(request, MediaOptions()).audios  # default: downmix
    assert mixed.ndim == 1 and mixed.shape == (RATE,)
    (right,) = build_conversation(request, MediaOptions(audio_channels="right")).audios
    assert right.ndim == 1 and dominant_hz(right, RATE) == pytest.approx(880, abs=2)


def test_downmix_changes_the_fingerprint_and_the_trial_key() -> None:
    def model(**transport: object) -> OpenAIChat:
        return OpenAIChat(
            model="m",
            base_url="http://127.0.0.1:9/v1",
            inputs=["text", "audio"],
            transport=transport,
        )

    kept, mixed = model(), model(audio_channels="downmix")
    legacy = model(audio_mono=True)  # the older spelling means the same
    assert kept.fingerprint()["transport"]["audio"] == "native wav s16 native-rate channels-kept"
    assert mixed.fingerprint()["transport"]["audio"] == "native wav s16 native-rate mono-downmix"
    assert legacy.fingerprint() == mixed.fingerprint()

    def key(m: OpenAIChat) -> str:
        keyer = TrialKeyer({"alias": "m", **m.fingerprint()}, {"task": "t"}, GenerationParams())
        return keyer.key("sample-digest", "avt")

    assert key(kept) != key(mixed)
    with pytest.raises(ValueError, match="audio_mono: true contradicts"):
        model(audio_mono=True, audio_channels="left")


def test_a_videos_audio_track_keeps_its_channels_through_the_preparer(
    audio: dict[str, Path], tmp_path: Path
) -> None:
    payload = audio_payload(audio["video"], AudioPolicy(), cache=MediaCache(tmp_path))
    assert payload.channels == 2 and payload.layout is ChannelLayout.STEREO
    assert wav_channels(payload.data)[1] == pytest.approx([440, 880], abs=3)


def test_vsync_http_refuses_a_channel_selection_it_cannot_honour(audio: dict[str, Path]) -> None:
    from omnieval.models.base import PermanentModelError
    from omnieval.models.vsync_http import VsyncHttp

    whole = Request(parts=(AudioPart(path=audio["stereo"]), TextPart(text="?")))
    assert VsyncHttp.form_fields(whole)[1]["use_video"] == "false"
    left = Request(parts=(AudioPart(path=audio["stereo"], channel="left"), TextPart(text="?")))
    with pytest.raises(PermanentModelError, match="channel selection"):
        VsyncHttp.form_fields(left)


def test_the_channel_policy_is_printed_next_to_the_scores() -> None:
    from omnieval.report.leaderboard import model_summary

    model = OpenAIChat(
        model="m",
        base_url="http://127.0.0.1:9/v1",
        inputs=["text", "audio"],
        transport={"audio_channels": "downmix", "audio_sample_rate": 16000},
    )
    summary = model_summary(model.fingerprint())
    assert "audio native wav s16 16k mono-downmix" in summary


def test_hf_fingerprint_names_its_channel_policy(tmp_path_factory: pytest.TempPathFactory) -> None:
    pytest.importorskip("torch", reason="needs torch (CPU: pip install torch==2.13.0)")
    pytest.importorskip("transformers", reason='needs pip install "omnieval[hf]"')
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HOME", str(tmp_path_factory.getbasetemp() / "hf-home"))
    from omnieval.models.hf import HFModel
    from tests import hf_tiny

    model, processor = hf_tiny.tiny_qwen2_audio(seed=0)
    default = HFModel.from_objects(model, processor)
    kept = HFModel.from_objects(model, processor, audio_channels="keep")
    assert default.fingerprint()["transport"]["audio"] == "native array 16k mono-downmix"
    assert kept.fingerprint()["transport"]["audio"] == "native array 16k channels-kept"
    with pytest.raises(ValueError, match="audio_channels must be"):
        HFModel.from_objects(model, processor, audio_channels="both")
