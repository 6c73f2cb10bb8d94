"""Encode frames and clips to bytes for transport: JPEG / PNG via PyAV's image encoders, WAV
(16-bit PCM or 32-bit float) via the standard library, MP3 via PyAV's LAME."""

from __future__ import annotations

import io
import os
import struct
from fractions import Fraction
from typing import Literal

import av
import numpy as np

from omnieval.media.audio import AudioClip
from omnieval.media.errors import translate_av_errors

# FFmpeg's MJPEG quantiser tables are the MPEG-1 intra matrix times qscale / 8; libjpeg's are
# its standard table times S / 100 (S = 5000 / quality below 50, else 200 - 2 * quality).
# Matching the tables' mean step gives qscale ~= 13.6 * S / 100.
_QSCALE_PER_S = 0.136


def _jpeg_qscale(quality: int) -> int:
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    s = 5000 / quality if quality < 50 else 200 - 2 * quality
    return int(min(31, max(1, round(_QSCALE_PER_S * s))))


def _as_image(image: np.ndarray) -> tuple[np.ndarray, str]:
    """Validate an image array; return it contiguous with its PyAV pixel format."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        return np.ascontiguousarray(arr), "gray"
    if arr.ndim == 3 and arr.shape[2] == 3:
        return np.ascontiguousarray(arr), "rgb24"
    if arr.ndim == 3 and arr.shape[2] == 4:
        return np.ascontiguousarray(arr), "rgba"
    raise ValueError(f"images must be [H, W], [H, W, 3] (RGB) or [H, W, 4], got {arr.shape}")


def _encode_one(codec: str, frame: av.VideoFrame, pix_fmt: str, options: dict[str, str]) -> bytes:
    ctx = av.CodecContext.create(codec, "w")
    assert isinstance(ctx, av.VideoCodecContext)
    ctx.width = frame.width
    ctx.height = frame.height
    ctx.pix_fmt = pix_fmt
    ctx.time_base = Fraction(1, 1)
    ctx.options = options
    if frame.format.name != pix_fmt:
        frame = frame.reformat(format=pix_fmt)
    packets = list(ctx.encode(frame)) + list(ctx.encode(None))
    return b"".join(bytes(p) for p in packets)


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes (baseline, 4:2:0) of a uint8 RGB [H, W, 3] (or grey [H, W]) image; an alpha
    channel is dropped.

    `quality` is 1..100 on roughly libjpeg's scale (85: visually lossless for most content).
    """
    arr, fmt = _as_image(image)
    if fmt == "rgba":
        arr, fmt = np.ascontiguousarray(arr[..., :3]), "rgb24"
    q = str(_jpeg_qscale(quality))
    frame = av.VideoFrame.from_ndarray(arr, format=fmt)
    return _encode_one("mjpeg", frame, "yuvj420p", {"qmin": q, "qmax": q})


def encode_png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of a uint8 RGB [H, W, 3], RGBA [H, W, 4] or grey [H, W] image."""
    arr, fmt = _as_image(image)
    frame = av.VideoFrame.from_ndarray(arr, format=fmt)
    return _encode_one("png", frame, fmt, {})


def encode_wav(clip: AudioClip, sample_format: Literal["s16", "f32"] = "s16") -> bytes:
    """WAV bytes of a clip: 16-bit PCM (default) or 32-bit IEEE float (`f32`, lossless).

    16-bit samples are scaled by 32768 (clipped to the int16 range), the inverse of how
    decoders turn int16 into float, so a decoded 16-bit source survives the round trip exactly.
    """
    samples = np.asarray(clip.samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None, :]
    channels = samples.shape[0]
    if sample_format == "f32":
        payload = np.ascontiguousarray(samples.T).astype("<f4").tobytes()
        return _riff_wav(payload, channels, int(clip.sample_rate), format_tag=3, sample_bytes=4)
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    payload = np.ascontiguousarray(pcm.T).tobytes()
    return _riff_wav(payload, channels, int(clip.sample_rate), format_tag=1, sample_bytes=2)


def _riff_wav(
    payload: bytes, channels: int, sample_rate: int, format_tag: int, sample_bytes: int
) -> bytes:
    block = channels * sample_bytes
    fmt = struct.pack(
        "<HHIIHH", format_tag, channels, sample_rate, sample_rate * block, block, 8 * sample_bytes
    )
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def encode_mp3(clip: AudioClip, source: str | os.PathLike[str] = "<clip>") -> bytes:
    """MP3 bytes (LAME, PyAV's bundled FFmpeg) of a mono or stereo clip; `source` names the
    file in errors. More than two channels is a `ValueError` (MP3 holds at most two)."""
    samples = np.ascontiguousarray(clip.samples, dtype=np.float32)
    if samples.shape[0] > 2:
        raise ValueError(f"mp3 holds at most 2 channels, not {samples.shape[0]}")
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    buf = io.BytesIO()
    with translate_av_errors(source, "encoding mp3"), av.open(buf, "w", format="mp3") as sink:
        stream = sink.add_stream("libmp3lame", rate=clip.sample_rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
        frame.sample_rate = clip.sample_rate
        for packet in stream.encode(frame):
            sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)
    return buf.getvalue()
