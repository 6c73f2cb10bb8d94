"""The generated V-SYNC edition: layout, fields, streams, determinism, speech engines, rendering."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from omnieval.benchmarks.vsync.loader import load_vsync
from omnieval.benchmarks.vsync.synth import (
    GENERATOR_VERSION,
    SYNC_OPTIONS,
    SYNC_QUESTION,
    VsyncSynthConfig,
    frame_rms,
    generate_vsync,
)
from omnieval.benchmarks.vsync.synth_render import (
    FaceGeom,
    NoiseBank,
    face_geometry,
    luma,
    render_mouths,
)
from omnieval.benchmarks.vsync.synth_speech import (
    SAMPLE_RATE,
    VOCABULARY,
    WORD_RMS,
    SpeechError,
    draw_voices,
    resample,
    resolve_engine,
    smooth_length,
    synth_words,
)
from omnieval.media import AudioSpec, FrameSpec, load_audio, probe, sample_frames

HAS_ESPEAK = shutil.which("espeak-ng") is not None
FORMANT = VsyncSynthConfig(speech="formant", sync_share=0.5)
_ASR_LINE = re.compile(r"^\[(\d+\.\d\d)-(\d+\.\d\d)\] (.+)$")


def _items(dataset: Path) -> list[dict[str, Any]]:
    data = json.loads(dataset.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vsync-synth")
    generate_vsync(out, 10, seed=3, config=FORMANT, workers=2)
    return out


# --------------------------------------------------------------------------- layout and fields


def test_layout_and_fields(edition: Path) -> None:
    level = edition / "data" / "level_1"
    items = _items(level / "dataset.json")
    assert len(items) == 10
    assert {i["category"] for i in items} == {"who-is-speaking", "sync"}
    assert len({i["id"] for i in items}) == 10
    for item in items:
        assert set(item) == {
            "id",
            "video_path",
            "question",
            "options",
            "correct_answer",
            "asr_content",
            "category",
            "synth",
        }
        assert (level / "videos" / item["video_path"]).is_file()
        letters = [o.split(". ", 1)[0] for o in item["options"]]
        assert letters == list("ABCD"[: len(letters)])
        assert item["correct_answer"] in letters
        synth = item["synth"]
        assert synth["generator_version"] == GENERATOR_VERSION
        assert synth["seed"] == 3 and synth["task"] == item["category"]
        assert "ABCD"[synth["answer_index"]] == item["correct_answer"]
        for line in filter(None, item["asr_content"].split("\n")):
            m = _ASR_LINE.match(line)
            assert m, line
            assert float(m.group(1)) < float(m.group(2))
            assert "position" not in line and "person" not in line
        if item["category"] == "who-is-speaking":
            n = synth["n_speakers"]
            assert 2 <= n <= 4 and len(item["options"]) == n
            m = re.fullmatch(r"Who is speaking at (\d+\.\d) s\?", item["question"])
            assert m and float(m.group(1)) == synth["t"]
            assert item["options"][0].endswith("(far left)")
            assert item["options"][-1].endswith("(far right)")
            assert "offset_ms" not in synth
            # t lies inside the answer's turn, away from its edges
            start, end, speaker = next(
                turn for turn in synth["turns"] if turn[0] <= synth["t"] < turn[1]
            )
            assert speaker == synth["answer_index"]
            assert start + 0.3 - 1e-6 <= synth["t"] <= end - 0.3 + 1e-6
            assert all(line.endswith("[speech]") for line in item["asr_content"].split("\n"))
        else:
            assert item["question"] == SYNC_QUESTION
            assert [o.split(". ", 1)[1] for o in item["options"]] == list(SYNC_OPTIONS)
            offset = synth["offset_ms"]
            assert offset in FORMANT.sync_offsets_ms
            expected = "A" if offset < 0 else ("B" if offset == 0 else "C")
            assert item["correct_answer"] == expected
            assert synth["style"] in ("face", "flash")


def test_official_loader_reads_the_edition(edition: Path) -> None:
    level = edition / "data" / "level_1"
    samples = load_vsync(level / "dataset.json", level / "videos")
    assert len(samples) == 10
    assert {s.category for s in samples} == {"who-is-speaking", "sync"}


def test_edition_json_makes_it_reproducible(edition: Path) -> None:
    meta = json.loads((edition / "edition.json").read_text(encoding="utf-8"))
    assert meta["generator_version"] == GENERATOR_VERSION
    assert meta["seed"] == 3 and meta["n"] == 10
    assert VsyncSynthConfig(**meta["config"]) == FORMANT
    assert meta["speech_engine"] == "formant"
    assert sum(meta["counts"].values()) == 10


def test_streams_are_h264_and_aac(edition: Path) -> None:
    videos = edition / "data" / "level_1" / "videos"
    for path in sorted(videos.glob("*.mp4"))[:3]:
        info = probe(path)
        assert info.video is not None and info.audio is not None
        assert info.video.codec == "h264" and info.audio.codec == "aac"
        assert (info.video.width, info.video.height) == (FORMANT.width, FORMANT.height)
        assert info.video.fps == pytest.approx(FORMANT.fps)
        assert info.audio.sample_rate == SAMPLE_RATE and info.audio.channels == 1
        assert abs(info.duration_s - FORMANT.clip_seconds) < 0.1
        with av.open(str(path)) as container:
            assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert not list(videos.glob("*.part"))


# --------------------------------------------------------------------------- determinism


def _decoded(out: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    videos = out / "data" / "level_1" / "videos"
    return [
        (
            sample_frames(path, FrameSpec(count=5)).images,
            load_audio(path, AudioSpec(sample_rate=SAMPLE_RATE)).samples,
        )
        for path in sorted(videos.glob("*.mp4"))
    ]


def test_same_seed_same_edition_whatever_the_workers(edition: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_vsync(again, 10, seed=3, config=FORMANT, workers=1)
    for name in ("data/level_1/dataset.json", "edition.json"):
        assert (again / name).read_bytes() == (edition / name).read_bytes()
    for (f1, a1), (f2, a2) in zip(_decoded(edition), _decoded(again), strict=True):
        assert np.array_equal(f1, f2)
        assert np.array_equal(a1, a2)


def test_different_seed_differs_and_prefixes_are_stable(edition: Path, tmp_path: Path) -> None:
    other = generate_vsync(tmp_path / "other", 3, seed=4, config=FORMANT, workers=1)
    first = _items(edition / "data" / "level_1" / "dataset.json")
    assert [i["question"] for i in _items(other)] != [i["question"] for i in first[:3]]
    prefix = generate_vsync(tmp_path / "prefix", 3, seed=3, config=FORMANT, workers=1)
    assert _items(prefix) == first[:3]
    # regenerating into the same place leaves no video of the earlier edition behind
    generate_vsync(tmp_path / "other", 2, seed=5, config=FORMANT, workers=1)
    videos = tmp_path / "other" / "data" / "level_1" / "videos"
    assert sorted(p.name for p in videos.iterdir()) == ["vsync-s5-00000.mp4", "vsync-s5-00001.mp4"]


def test_progress_is_reported_per_clip(tmp_path: Path) -> None:
    seen: list[int] = []
    generate_vsync(tmp_path / "p", 3, seed=1, config=FORMANT, workers=1, on_progress=seen.append)
    assert seen == [1, 2, 3]


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="n_speakers_min"):
        VsyncSynthConfig(n_speakers_min=4, n_speakers_max=3)
    with pytest.raises(ValueError, match="turn_seconds_min"):
        VsyncSynthConfig(turn_seconds_min=0.5)
    with pytest.raises(ValueError, match="quarter"):
        VsyncSynthConfig(sync_offsets_ms=(0, 1500))
    with pytest.raises(ValueError):
        VsyncSynthConfig(unknown_knob=1)  # type: ignore[call-arg]


def test_who_only_and_sync_only_editions(tmp_path: Path) -> None:
    cfg = VsyncSynthConfig(speech="formant", sync_share=0.0, n_speakers_min=4, n_speakers_max=4)
    items = _items(generate_vsync(tmp_path / "who", 4, seed=2, config=cfg, workers=1))
    assert all(i["category"] == "who-is-speaking" and len(i["options"]) == 4 for i in items)
    cfg = VsyncSynthConfig(speech="formant", sync_share=1.0, sync_styles=("flash",))
    items = _items(generate_vsync(tmp_path / "sync", 3, seed=2, config=cfg, workers=1))
    assert all(i["synth"]["style"] == "flash" and i["asr_content"] == "" for i in items)


# --------------------------------------------------------------------------- speech engines


def test_formant_speech_is_voiced_babble() -> None:
    rng = np.random.default_rng(0)
    voices = draw_voices("formant", 4, rng)
    assert len({round(v.f0) for v in voices}) == 4
    for voice in voices:
        words = synth_words(voice, 3, rng)
        for word in words:
            assert word.text == "[speech]"
            assert 0.1 < word.seconds < 1.2
            assert np.sqrt(np.mean(word.samples.astype(np.float64) ** 2)) == pytest.approx(
                WORD_RMS, rel=0.05
            )
            assert np.all(np.isfinite(word.samples))


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not on PATH")
def test_espeak_speech_has_real_words(tmp_path: Path) -> None:
    assert resolve_engine("auto") == "espeak"
    rng = np.random.default_rng(0)
    voice = draw_voices("espeak", 1, rng)[0]
    words = synth_words(voice, 5, rng)
    assert len(words) == 5 and all(w.text in VOCABULARY for w in words)
    assert all(0.05 < w.seconds < 1.5 for w in words)

    cfg = VsyncSynthConfig(speech="espeak", sync_share=0.0)
    items = _items(generate_vsync(tmp_path / "espeak", 3, seed=5, config=cfg, workers=1))
    meta = json.loads((tmp_path / "espeak" / "edition.json").read_text(encoding="utf-8"))
    assert meta["speech_engine"] == "espeak" and meta["espeak_version"]
    for item in items:
        assert item["synth"]["speech_engine"] == "espeak"
        for line in item["asr_content"].split("\n"):
            m = _ASR_LINE.match(line)
            assert m and all(word in VOCABULARY for word in m.group(3).split())
        # distinct voices per speaker
        assert len(set(item["synth"]["voices"])) == item["synth"]["n_speakers"]


def test_espeak_mode_without_espeak_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert resolve_engine("auto") == "formant"
    with pytest.raises(SpeechError, match="espeak-ng"):
        resolve_engine("espeak")


def test_resample_is_band_limited_and_fast_sizes() -> None:
    t = np.arange(int(0.3 * 22_050)) / 22_050
    x = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    y = resample(x, 22_050, SAMPLE_RATE)
    assert len(y) == round(len(x) * SAMPLE_RATE / 22_050)
    ref = np.sin(2 * np.pi * 440 * np.arange(len(y)) / SAMPLE_RATE)
    assert np.abs(y[400:-400] - ref[400:-400]).max() < 1e-3
    assert smooth_length(8011) == 8064  # 2^7 * 3^2 * 7


# --------------------------------------------------------------------------- rendering


def test_mouth_darkness_follows_the_opening() -> None:
    rng = np.random.default_rng(1)
    base = np.full((90, 160, 3), 180.0, np.float32)
    geom: FaceGeom = face_geometry(0, 1, 160, 90, rng)
    openings = np.linspace(0.0, 1.0, 21)[None, :]
    frames = render_mouths(base, [geom], openings, 1.0, NoiseBank(90, 160, 21, 0.0, rng))
    dark = np.clip(80.0 - luma(frames.astype(np.float32)), 0, None).sum(axis=(1, 2))
    assert dark[0] == pytest.approx(0.0, abs=1.0)
    assert np.all(np.diff(dark) >= 0)
    assert np.corrcoef(openings[0], dark)[0, 1] > 0.98


def test_frame_rms_uses_display_intervals() -> None:
    x = np.zeros(SAMPLE_RATE, np.float32)
    x[640:1280] = 0.5  # exactly frame 1 at 25 fps
    rms = frame_rms(x, SAMPLE_RATE, 25, 25)
    assert rms[1] == pytest.approx(0.5) and rms[0] == 0 and rms[2] == 0
