"""The media layer on real files written by tests/mediagen.py."""

from __future__ import annotations

import io
import pickle
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from pydantic import ValidationError

import omnieval.media.frames as frames_mod
from omnieval.media import (
    AudioClip,
    AudioSpec,
    FrameSpec,
    MediaError,
    encode_jpeg,
    encode_png,
    encode_wav,
    load_audio,
    probe,
    sample_frames,
)
from omnieval.types import TimeWindow
from tests.mediagen import (
    audio_signal,
    frame_image,
    is_flash,
    read_frame_index,
    write_truncated,
)


def onset(samples: np.ndarray, threshold: float = 0.6) -> int:
    """Index of the first sample louder than `threshold` (the clicks; tones stay at 0.3)."""
    return int(np.argmax(np.abs(samples) > threshold))


# --------------------------------------------------------------------------- probe


def test_probe_video_and_audio(media_files: dict[str, Path]) -> None:
    info = probe(media_files["mp4"])
    assert info.path == media_files["mp4"]
    assert "mp4" in info.container
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.video is not None and info.audio is not None
    assert (info.video.width, info.video.height) == (64, 48)
    assert info.video.fps == pytest.approx(10.0)
    assert info.video.frame_count == 20
    assert info.video.codec == "h264"
    assert (info.audio.sample_rate, info.audio.channels, info.audio.codec) == (16000, 1, "aac")
    assert info.size_bytes == media_files["mp4"].stat().st_size


def test_probe_audio_only_and_stereo(media_files: dict[str, Path]) -> None:
    wav = probe(media_files["wav"])
    assert wav.video is None and not wav.has_video
    assert wav.audio is not None and wav.audio.codec == "pcm_s16le"
    assert wav.duration_s == pytest.approx(1.5)
    stereo = probe(media_files["stereo"])
    assert stereo.audio is not None and stereo.audio.channels == 2
    assert stereo.audio.sample_rate == 22050


# --------------------------------------------------------------------------- frames


def indices(frames_images: np.ndarray) -> list[int]:
    return [read_frame_index(image) for image in frames_images]


def test_frames_by_fps_pick_the_frame_shown_at_each_grid_time(media_files: dict[str, Path]) -> None:
    frames = sample_frames(media_files["mp4"], FrameSpec(fps=2))
    assert frames.images.shape == (4, 48, 64, 3) and frames.images.dtype == np.uint8
    assert indices(frames.images) == [0, 5, 10, 15]
    assert frames.timestamps == pytest.approx([0.0, 0.5, 1.0, 1.5])
    assert frames.source_fps == pytest.approx(10.0)
    # 3 fps does not divide 10 fps: the grid is 0, 1/3, 2/3, ... but the timestamps returned are
    # those of the frames actually shown then (frame floor(10 t)).
    frames = sample_frames(media_files["mp4"], FrameSpec(fps=3))
    assert indices(frames.images) == [0, 3, 6, 10, 13, 16]
    assert frames.timestamps == pytest.approx([0.0, 0.3, 0.6, 1.0, 1.3, 1.6])


def test_frames_by_count_take_segment_centres(media_files: dict[str, Path]) -> None:
    frames = sample_frames(media_files["mp4"], FrameSpec(count=4))
    # Centres of 4 segments of [0, 2): 0.25, 0.75, 1.25, 1.75 -> frames 2, 7, 12, 17.
    assert indices(frames.images) == [2, 7, 12, 17]
    assert frames.timestamps == pytest.approx([0.2, 0.7, 1.2, 1.7])
    assert frames.timestamps.dtype == np.float64


def test_every_frame_and_the_flash(media_files: dict[str, Path]) -> None:
    frames = sample_frames(media_files["mp4"])
    assert len(frames) == 20
    assert indices(frames.images) == list(range(20))
    flashes = [i for i, image in enumerate(frames.images) if is_flash(image)]
    assert flashes == [12]  # the flash at 1.23 s is in frame 12, shown over [1.2, 1.3)
    assert frames.timestamps[12] == pytest.approx(1.2)


def test_frames_in_a_window(media_files: dict[str, Path]) -> None:
    frames = sample_frames(
        media_files["mp4"], FrameSpec(fps=4, window=TimeWindow(start=0.55, end=1.5))
    )
    assert indices(frames.images) == [5, 8, 10, 13]  # grid 0.55, 0.8, 1.05, 1.3
    assert frames.timestamps == pytest.approx([0.5, 0.8, 1.0, 1.3])
    every = sample_frames(media_files["mp4"], FrameSpec(window=TimeWindow(start=0.55, end=0.9)))
    assert indices(every.images) == [5, 6, 7, 8]


def test_late_windows_and_sparse_grids_on_a_long_video(
    media_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeks: list[float] = []
    real_seek = frames_mod._FrameReader._seek

    def spy(self: frames_mod._FrameReader, target: float) -> None:
        seeks.append(target)
        real_seek(self, target)

    monkeypatch.setattr(frames_mod._FrameReader, "_seek", spy)
    frames = sample_frames(media_files["long"], FrameSpec(fps=1, window=TimeWindow(start=13.45)))
    assert indices(frames.images) == [134, 144, 154, 164, 174, 184, 194]
    assert frames.timestamps == pytest.approx([13.4, 14.4, 15.4, 16.4, 17.4, 18.4, 19.4])
    sparse = sample_frames(media_files["long"], FrameSpec(count=5))
    assert indices(sparse.images) == [20, 60, 100, 140, 180]
    assert sparse.timestamps == pytest.approx([2.0, 6.0, 10.0, 14.0, 18.0])
    assert len(seeks) >= 4  # the window start, then skips over whole keyframe intervals
    # Same answer as a full decode at every frame.
    every = sample_frames(media_files["long"])
    assert len(every) == 200
    np.testing.assert_array_equal(sparse.images, every.images[[20, 60, 100, 140, 180]])


def test_variable_frame_rate_timestamps_are_true(media_files: dict[str, Path]) -> None:
    frames = sample_frames(media_files["vfr"], FrameSpec(fps=4))
    # Frames start at 0, 0.1, 0.35, 0.4, 0.9: the grid 0, .25, .5, .75 falls in frames 0, 1, 3, 3.
    assert indices(frames.images) == [0, 1, 3, 3]
    assert frames.timestamps == pytest.approx([0.0, 0.1, 0.4, 0.4])
    every = sample_frames(media_files["vfr"])
    assert indices(every.images) == [0, 1, 2, 3, 4]
    assert every.timestamps == pytest.approx([0.0, 0.1, 0.35, 0.4, 0.9])


def test_resize_keeps_aspect_and_never_upscales(media_files: dict[str, Path]) -> None:
    half = sample_frames(media_files["big"], FrameSpec(count=3, max_side=80))
    assert half.images.shape == (3, 60, 80, 3)
    assert half.size == (80, 60)
    assert indices(half.images) == [1, 5, 8]
    small = sample_frames(media_files["big"], FrameSpec(count=1, max_pixels=4800))
    h, w = small.images.shape[1:3]
    assert w * h <= 4800 and (w, h) == (80, 60)
    same = sample_frames(media_files["big"], FrameSpec(count=1, max_side=1000, max_pixels=10**6))
    assert same.images.shape[1:3] == (120, 160)
    assert FrameSpec(max_side=100).output_size(640, 360) == (100, 56)
    assert FrameSpec(max_pixels=1000).output_size(640, 360) == (42, 23)


def test_display_rotation_is_applied(media_files: dict[str, Path]) -> None:
    frames = sample_frames(media_files["rotated"], FrameSpec(count=1))
    assert frames.images.shape == (1, 64, 48, 3)  # stored 64x48, shown rotated to 48x64
    upright = np.rot90(frames.images[0], k=-1)
    assert read_frame_index(upright) == 2


def test_frame_spec_validation() -> None:
    with pytest.raises(ValidationError):
        FrameSpec(fps=1, count=3)
    with pytest.raises(ValidationError):
        FrameSpec(fps=0)
    with pytest.raises(ValidationError):
        FrameSpec(count=0)


# --------------------------------------------------------------------------- audio


def test_audio_resampling_and_native_rate(media_files: dict[str, Path]) -> None:
    native = load_audio(media_files["wav"])
    assert native.sample_rate == 16000 and native.samples.shape == (1, 24000)
    assert native.samples.dtype == np.float32 and native.start_s == 0.0
    low = load_audio(media_files["wav"], AudioSpec(sample_rate=8000))
    assert low.sample_rate == 8000 and low.samples.shape == (1, 12000)
    assert onset(low.samples[0]) == pytest.approx(4000, abs=2)  # click at 0.5 s
    high = load_audio(media_files["mp4"], AudioSpec(sample_rate=48000))
    assert high.samples.shape == (1, 96000)  # AAC padding cut at the stream's stated end


def test_stereo_channels_stay_apart(media_files: dict[str, Path]) -> None:
    clip = load_audio(media_files["stereo"], AudioSpec(mono=False))
    assert clip.channels == 2 and clip.sample_rate == 22050
    freqs = np.fft.rfftfreq(clip.num_samples, 1 / clip.sample_rate)
    peaks = [freqs[np.abs(np.fft.rfft(ch)).argmax()] for ch in clip.samples]
    assert peaks == pytest.approx([440.0, 1000.0], abs=2.0)
    mono = load_audio(media_files["stereo"], AudioSpec(mono=True))
    assert mono.channels == 1
    np.testing.assert_allclose(mono.samples[0], clip.samples.mean(axis=0), atol=1e-6)


def test_audio_timing_is_sample_exact_on_pcm(media_files: dict[str, Path]) -> None:
    clip = load_audio(media_files["lossless"], AudioSpec(window=TimeWindow(start=0.5, end=1.5)))
    assert clip.start_s == 0.5 and clip.samples.shape == (1, 16000)
    truth = audio_signal(2.0, 16000, 440.0, clicks=[0.75])[:, 8000:24000]
    np.testing.assert_allclose(clip.samples, truth, atol=1.0 / 16384)
    assert onset(clip.samples[0]) == onset(truth[0])
    clip2 = load_audio(media_files["wav"], AudioSpec(window=TimeWindow(start=0.3)))
    assert clip2.start_s == 0.3
    # The click at 0.5 s is sample 8000 of the file, so sample 8000 - 4800 of the clip.
    assert onset(clip2.samples[0]) == onset(audio_signal(1.5, 16000, clicks=[0.5])[0]) - 4800


def test_audio_timing_on_aac_within_20ms(media_files: dict[str, Path]) -> None:
    for path, click in ((media_files["aac"], 0.5), (media_files["mp4"], 1.23)):
        clip = load_audio(path, AudioSpec(window=TimeWindow(start=0.2)))
        heard = clip.start_s + onset(clip.samples[0]) / clip.sample_rate
        assert heard == pytest.approx(click, abs=0.02)


def test_audio_window_past_the_end_is_an_error(media_files: dict[str, Path]) -> None:
    with pytest.raises(MediaError) as err:
        load_audio(media_files["wav"], AudioSpec(window=TimeWindow(start=5.0)))
    assert str(media_files["wav"]) in str(err.value) and err.value.problem == "window"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", ["missing", "empty", "garbage", "truncated"])
def test_broken_files_raise_media_error_naming_the_path(
    media_files: dict[str, Path], tmp_path: Path, name: str
) -> None:
    path = {
        "missing": tmp_path / "nope.mp4",
        "empty": media_files["empty"],
        "garbage": media_files["garbage"],
        "truncated": write_truncated(media_files["mp4"], tmp_path / "cut.mp4", 0.5),
    }[name]
    for call in (
        lambda: probe(path),
        lambda: sample_frames(path, FrameSpec(fps=1)),
        lambda: load_audio(path),
    ):
        with pytest.raises(MediaError) as err:
            call()
        assert str(path) in str(err.value)
        assert err.value.problem == {"missing": "missing", "empty": "empty"}.get(
            name, "undecodable"
        )
        assert not isinstance(err.value, av.FFmpegError)
        assert "To fix" in str(err.value)


def test_missing_streams(media_files: dict[str, Path]) -> None:
    with pytest.raises(MediaError) as err:
        sample_frames(media_files["wav"], FrameSpec(fps=1))
    assert err.value.problem == "no_video" and str(media_files["wav"]) in str(err.value)
    with pytest.raises(MediaError) as err:
        load_audio(media_files["silent"])
    assert err.value.problem == "no_audio" and str(media_files["silent"]) in str(err.value)
    with pytest.raises(MediaError) as err:
        sample_frames(media_files["mp4"], FrameSpec(window=TimeWindow(start=3.0)))
    assert err.value.problem == "window"


def test_media_error_pickles() -> None:
    err = MediaError("/x/y.mp4", "undecodable", "bad bytes")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, MediaError)
    assert (back.path, back.problem, str(back)) == (err.path, err.problem, str(err))


# --------------------------------------------------------------------------- encode


def _decode_image(data: bytes, codec: str) -> np.ndarray:
    ctx = av.CodecContext.create(codec, "r")
    frame = ctx.decode(av.Packet(data))[0]
    return frame.to_ndarray(format="rgb24")


def test_encode_png_is_lossless_and_jpeg_close() -> None:
    image = frame_image(345, (66, 50))
    image[:10, :10] = (200, 30, 90)
    png = encode_png(image)
    assert png.startswith(b"\x89PNG")
    np.testing.assert_array_equal(_decode_image(png, "png"), image)
    jpeg = encode_jpeg(image)
    assert jpeg.startswith(b"\xff\xd8") and jpeg.endswith(b"\xff\xd9")
    back = _decode_image(jpeg, "mjpeg")
    assert back.shape == image.shape
    assert np.abs(back.astype(int) - image).mean() < 6
    assert read_frame_index(back) == 345
    assert len(encode_jpeg(image, quality=20)) < len(encode_jpeg(image, quality=95))
    with pytest.raises(ValueError):
        encode_jpeg(image.astype(np.float32))


def test_encode_wav_round_trip() -> None:
    samples = audio_signal(0.5, 8000, (440.0, 880.0))
    data = encode_wav(AudioClip(samples=samples, sample_rate=8000))
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2).T
    np.testing.assert_allclose(pcm / 32767.0, samples, atol=1 / 32767)
