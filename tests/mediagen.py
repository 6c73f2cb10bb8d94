"""Small, exactly known test media, written with PyAV (no network, no ffmpeg CLI).

Every generated video frame carries its own index, drawn as a row of black/white bit cells across
the bottom band of the picture, so a test can read back *which* source frame a sampler returned
(`read_frame_index`). The rest of the picture is mid grey, or white at a *flash* (the frame whose
display interval contains a flash time). The audio track is a sine tone per channel (different
tones per channel keep stereo channels apart) plus a short loud burst at every flash time, so
audio-visual synchrony can be checked from the signal alone.

Writers (all return the path they wrote):

- `write_test_video(path, seconds, fps, size, audio_hz=..., sample_rate=..., flash_times=...)`:
  H.264 + AAC in the container named by the suffix (`.mp4` by default).
- `write_lossless_video(path, ...)`: FFV1 video + 16-bit PCM (or FLAC) audio in `.mkv`/`.mov`,
  for tests that need sample-exact audio timing.
- `write_test_audio(path, seconds, sample_rate, tones=..., clicks=...)`: an audio-only file; the
  codec follows the suffix (`.wav`, `.flac`, `.m4a`, `.mp3`, `.ogg`, `.mka`).
- `write_garbage(path)`, `write_truncated(source, path)`, `write_empty(path)`: broken files.

Frame pictures use `frame_image` / `read_frame_index` / `is_flash`; `texture=True` fills the
picture area with a scrolling random texture so decoding costs what real footage costs.

Signal helpers (`audio_signal`, `frame_image`) return exactly what the writers encode, so tests can
compare decoded media against the source.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import TypedDict, Unpack

import av
import numpy as np

#: Height of the bottom band holding the frame-index bit cells, as a fraction of the frame height.
INDEX_BAND = 0.25
#: Number of bit cells; frames 0 .. 2**INDEX_BITS - 1 are distinguishable.
INDEX_BITS = 10
GREY = 96
FLASH = 255

_AUDIO_CODECS = {
    ".wav": "pcm_s16le",
    ".flac": "flac",
    ".m4a": "aac",
    ".aac": "aac",
    ".mp3": "libmp3lame",
    ".ogg": "libopus",
    ".opus": "libopus",
    ".mka": "flac",
    ".mkv": "flac",
    ".mov": "pcm_s16le",
    ".mp4": "aac",
}


def _as_rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def frame_image(
    index: int, size: tuple[int, int], *, flash: bool = False, bits: int = INDEX_BITS
) -> np.ndarray:
    """The RGB picture of frame `index`: grey (white when `flash`) with the index bits below.

    `size` is (width, height). Bit cells run left to right, most significant bit first; a set bit
    is white, a clear bit black.
    """
    width, height = size
    image = np.full((height, width, 3), FLASH if flash else GREY, dtype=np.uint8)
    band_top = height - max(2, round(height * INDEX_BAND))
    for bit in range(bits):
        x0 = bit * width // bits
        x1 = (bit + 1) * width // bits
        on = (index >> (bits - 1 - bit)) & 1
        image[band_top:, x0:x1] = 255 if on else 0
    return image


def read_frame_index(image: np.ndarray, *, bits: int = INDEX_BITS) -> int:
    """Read back the index drawn by `frame_image`, from a decoded (possibly resized) RGB frame."""
    height, width = image.shape[:2]
    band = max(1, round(height * INDEX_BAND))
    # The centre rows of the band, away from the chroma-blurred edge with the picture above.
    rows = image[height - band + band // 3 : height - band // 3 or height]
    value = 0
    for bit in range(bits):
        x0 = bit * width // bits
        x1 = (bit + 1) * width // bits
        margin = max(0, (x1 - x0) // 4)
        cell = rows[:, x0 + margin : x1 - margin]
        value = (value << 1) | int(cell.mean() > 127)
    return value


def is_flash(image: np.ndarray) -> bool:
    """True when the picture area above the index band is white (a flash frame)."""
    height = image.shape[0]
    top = image[: height - max(2, round(height * INDEX_BAND)) - 1]
    return bool(top.mean() > (GREY + FLASH) / 2)


def audio_signal(
    seconds: float,
    sample_rate: int,
    tones: float | Sequence[float] = 440.0,
    *,
    clicks: Sequence[float] = (),
    amplitude: float = 0.3,
    click_seconds: float = 0.01,
    click_amplitude: float = 0.9,
) -> np.ndarray:
    """float32 [channels, n]: one sine per channel plus a burst starting at each click time.

    Each click is `click_seconds` of a 3 kHz sine at `click_amplitude`, starting exactly at the
    sample `round(t * sample_rate)`, added to every channel.
    """
    tone_list = [float(tones)] if isinstance(tones, int | float) else [float(t) for t in tones]
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    out = np.stack([amplitude * np.sin(2 * np.pi * hz * t) for hz in tone_list])
    burst_len = max(1, round(click_seconds * sample_rate))
    burst = click_amplitude * np.sin(2 * np.pi * 3000.0 * np.arange(burst_len) / sample_rate)
    for when in clicks:
        start = round(when * sample_rate)
        stop = min(n, start + burst_len)
        if 0 <= start < n:
            out[:, start:stop] += burst[: stop - start]
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")


def _texture(size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A blocky random texture twice as wide as the frame, scrolled by `_textured_picture`."""
    width, height = size
    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 216, size=(height // 8 + 1, (2 * width) // 8 + 1, 3), dtype=np.uint8)
    return np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)[:height, : 2 * width]


def _textured_picture(image: np.ndarray, texture: np.ndarray, k: int) -> np.ndarray:
    """Replace the picture area (above the index band) by the texture shifted 3 px per frame."""
    height, width = image.shape[:2]
    band_top = height - max(2, round(height * INDEX_BAND))
    shift = (3 * k) % width
    out = image.copy()
    out[:band_top] = texture[:band_top, shift : shift + width]
    return out


def write_test_video(
    path: str | os.PathLike[str],
    seconds: float = 2.0,
    fps: float = 10.0,
    size: tuple[int, int] = (64, 48),
    *,
    audio_hz: float | Sequence[float] | None = 440.0,
    sample_rate: int = 16000,
    flash_times: Sequence[float] = (),
    video_codec: str = "libx264",
    audio_codec: str | None = None,
    pix_fmt: str = "yuv420p",
    gop: int | None = None,
    bframes: bool = True,
    texture: bool = False,
    container_options: dict[str, str] | None = None,
    frame_times: Sequence[float] | None = None,
    rotation: int = 0,
) -> Path:
    """Write a test video and return its path.

    Frame k shows index k (see `frame_image`) over [k/fps, (k+1)/fps); the frame containing each
    of `flash_times` is white above the index band. Unless `audio_hz` is None there is an audio
    track (`audio_signal`): one tone per channel (`audio_hz` may be a sequence, one tone per
    channel, e.g. `(440, 1000)` for stereo) plus a click at each flash time.

    `size` is (width, height), even for yuv420p. The container follows the suffix of `path`; the
    audio codec defaults to the suffix's usual one (AAC for .mp4, FLAC for .mkv, PCM for .mov).
    `gop` is the keyframe interval in frames (x264's default, 250, when None); `bframes=False`
    encodes without B-frames. `texture=True` fills the picture with a scrolling random texture
    so that decoding costs what real footage costs (benchmarks). `container_options` go to the
    muxer (e.g. `{"movflags": "faststart"}` puts the MP4 index first).

    `frame_times` (seconds, increasing, millisecond precision) makes a variable-frame-rate video:
    frame k is shown from frame_times[k] (then `fps` is only the nominal rate). `rotation`
    stores a display rotation (degrees counter-clockwise, as phones do).
    """
    path = Path(path)
    rate = _as_rate(fps)
    if frame_times is None:
        times = [k / float(rate) for k in range(round(seconds * float(rate)))]
        time_base = 1 / rate
    else:
        times = [float(t) for t in frame_times]
        time_base = Fraction(1, 1000)
    n_frames = len(times)
    flash_frames = {bisect.bisect_right(times, t + 1e-9) - 1 for t in flash_times}
    tex = _texture(size) if texture else None
    with av.open(str(path), mode="w", options=container_options or {}) as container:
        stream = container.add_stream(video_codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        if gop is not None:
            stream.codec_context.gop_size = gop
        if video_codec == "libx264":
            options = {"preset": "veryfast"}
            if not bframes:
                options["bf"] = "0"
            stream.codec_context.options = options
        signal = None
        astream = None
        if audio_hz is not None:
            codec = audio_codec or _AUDIO_CODECS.get(path.suffix.lower(), "aac")
            signal = audio_signal(seconds, sample_rate, audio_hz, clicks=flash_times)
            astream = container.add_stream(codec, rate=sample_rate, layout=_layout(len(signal)))
        a_next = 0  # next audio sample to mux; audio is interleaved with the video in time
        for k in range(n_frames):
            image = frame_image(k, size, flash=k in flash_frames)
            if tex is not None and k not in flash_frames:
                image = _textured_picture(image, tex, k)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = round(times[k] / time_base)
            frame.time_base = time_base
            container.mux(stream.encode(frame))
            if astream is not None and signal is not None:
                shown_until = times[k + 1] if k + 1 < n_frames else seconds
                until = min(round(shown_until * sample_rate), signal.shape[1])
                a_next = _mux_audio(container, astream, signal, sample_rate, a_next, until)
        container.mux(stream.encode(None))
        if astream is not None and signal is not None:
            _mux_audio(container, astream, signal, sample_rate, a_next, signal.shape[1])
            container.mux(astream.encode(None))
    return path


class LosslessSignal(TypedDict, total=False):
    """The options `write_lossless_video` passes on to `write_test_video`."""

    audio_hz: float | Sequence[float] | None
    sample_rate: int
    flash_times: Sequence[float]


def write_lossless_video(
    path: str | os.PathLike[str],
    seconds: float = 2.0,
    fps: float = 10.0,
    size: tuple[int, int] = (64, 48),
    *,
    audio_codec: str = "pcm_s16le",
    **signal: Unpack[LosslessSignal],
) -> Path:
    """`write_test_video` with FFV1 video and PCM (or `audio_codec="flac"`) audio, in `.mkv`;
    `signal` is its `audio_hz`, `sample_rate` and `flash_times`.

    Every frame is a keyframe and audio timestamps are exact: use it for timing tests.
    """
    path = Path(path)
    if path.suffix.lower() != ".mkv":
        raise ValueError("write_lossless_video writes Matroska: give a .mkv path")
    return write_test_video(
        path, seconds, fps, size, video_codec="ffv1", audio_codec=audio_codec, **signal
    )


def write_test_audio(
    path: str | os.PathLike[str],
    seconds: float = 2.0,
    sample_rate: int = 16000,
    *,
    tones: float | Sequence[float] = 440.0,
    clicks: Sequence[float] = (),
    codec: str | None = None,
) -> Path:
    """Write `audio_signal(seconds, sample_rate, tones, clicks=clicks)` to an audio-only file.

    The codec follows the suffix: .wav PCM, .flac FLAC, .m4a AAC, .mp3 MP3, .ogg/.opus Opus,
    .mka FLAC; or give `codec`. Opus only takes 48 kHz (and 8/12/16/24 kHz).
    """
    path = Path(path)
    signal = audio_signal(seconds, sample_rate, tones, clicks=clicks)
    codec = codec or _AUDIO_CODECS.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"no default audio codec for {path.suffix!r}; pass codec=")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=sample_rate, layout=_layout(len(signal)))
        _mux_audio(container, stream, signal, sample_rate, 0, signal.shape[1])
        container.mux(stream.encode(None))
    return path


def _mux_audio(
    container: av.container.OutputContainer,
    stream: av.AudioStream,
    signal: np.ndarray,
    sample_rate: int,
    start: int,
    stop: int,
    chunk: int = 1024,
) -> int:
    """Encode and mux signal[:, start:stop] in chunks; return `stop`."""
    for offset in range(start, stop, chunk):
        piece = np.ascontiguousarray(signal[:, offset : min(stop, offset + chunk)])
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=_layout(len(signal)))
        frame.sample_rate = sample_rate
        frame.pts = offset
        frame.time_base = Fraction(1, sample_rate)
        container.mux(stream.encode(frame))
    return stop


# --------------------------------------------------------------------------- broken files


def write_empty(path: str | os.PathLike[str]) -> Path:
    """A 0-byte file."""
    path = Path(path)
    path.write_bytes(b"")
    return path


def write_garbage(path: str | os.PathLike[str], size: int = 4096, seed: int = 0) -> Path:
    """Random bytes under a media-looking name (not decodable by anything)."""
    path = Path(path)
    path.write_bytes(np.random.default_rng(seed).bytes(size))
    return path


def write_truncated(
    source: str | os.PathLike[str], path: str | os.PathLike[str], keep: float = 0.5
) -> Path:
    """Copy the first `keep` fraction of `source`'s bytes to `path` (an interrupted download).

    A truncated MKV, or an MP4 written with `container_options={"movflags": "faststart"}`, still
    opens and promises its full duration; a plain MP4 loses its index (at the end) and no longer
    opens at all.
    """
    data = Path(source).read_bytes()
    path = Path(path)
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path
