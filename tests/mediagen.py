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

Signal helpers (`audio_signal`, `frame_image`) return exactly what the writers encode, so tests can
compare decoded media against the source.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

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


def _write_audio_stream(
    container: av.container.OutputContainer,
    codec: str,
    signal: np.ndarray,
    sample_rate: int,
) -> None:
    channels = signal.shape[0]
    stream = container.add_stream(codec, rate=sample_rate, layout=_layout(channels))
    return_stream = stream  # noqa: F841 - kept for readability of the encode loop below
    chunk = 1024
    for offset in range(0, signal.shape[1], chunk):
        piece = np.ascontiguousarray(signal[:, offset : offset + chunk])
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=_layout(channels))
        frame.sample_rate = sample_rate
        frame.pts = offset
        frame.time_base = Fraction(1, sample_rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


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
) -> Path:
    """Write a video whose frame k shows index k (see `frame_image`) and, unless `audio_hz` is
    None, an audio track with one tone per channel (`audio_hz` may be a sequence: one tone per
    channel) plus a click at each of `flash_times`.

    `size` is (width, height) and must be even for yuv420p. The container follows the suffix of
    `path`; the audio codec defaults to the suffix's usual one (AAC for .mp4). `gop` sets the
    keyframe interval in frames (the encoder default, 250 for x264, when None). Frame k is shown
    over [k/fps, (k+1)/fps); a flash at time t whitens the frame floor(t * fps).
    """
    path = Path(path)
    rate = _as_rate(fps)
    n_frames = int(round(seconds * float(rate)))
    flash_frames = {int(np.floor(t * float(rate) + 1e-9)) for t in flash_times}
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(video_codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        options: dict[str, str] = {}
        if gop is not None:
            stream.codec_context.gop_size = gop
        if video_codec == "libx264":
            options["preset"] = "ultrafast" if not bframes else "veryfast"
            if not bframes:
                options["bf"] = "0"
        stream.codec_context.options = options
        audio_stream_signal = None
        if audio_hz is not None:
            codec = audio_codec or _AUDIO_CODECS.get(path.suffix.lower(), "aac")
            audio_stream_signal = audio_signal(seconds, sample_rate, audio_hz, clicks=flash_times)
            channels = audio_stream_signal.shape[0]
            astream = container.add_stream(codec, rate=sample_rate, layout=_layout(channels))
        else:
            astream = None
        # Interleave roughly in time so the muxer buffers little.
        a_chunk = 1024
        a_next = 0
        for k in range(n_frames):
            image = frame_image(k, size, flash=k in flash_frames)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = k
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
            if astream is not None and audio_stream_signal is not None:
                until = round((k + 1) / float(rate) * sample_rate)
                while a_next < min(until, audio_stream_signal.shape[1]):
                    _mux_audio_chunk(container, astream, audio_stream_signal, a_next, a_chunk,
                                     sample_rate)
                    a_next += a_chunk
        container.mux(stream.encode(None))
        if astream is not None and audio_stream_signal is not None:
            while a_next < audio_stream_signal.shape[1]:
                _mux_audio_chunk(container, astream, audio_stream_signal, a_next, a_chunk,
                                 sample_rate)
                a_next += a_chunk
            container.mux(astream.encode(None))
    return path


def _mux_audio_chunk(
    container: av.container.OutputContainer,
    stream: av.AudioStream,
    signal: np.ndarray,
    offset: int,
    chunk: int,
    sample_rate: int,
) -> None:
    piece = np.ascontiguousarray(signal[:, offset : offset + chunk])
    frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=_layout(signal.shape[0]))
    frame.sample_rate = sample_rate
    frame.pts = offset
    frame.time_base = Fraction(1, sample_rate)
    container.mux(stream.encode(frame))
