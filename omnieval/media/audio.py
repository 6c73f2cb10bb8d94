"""Load audio (from an audio file or a video's audio track) as float32, resampled, windowed.

Timing: sample i of a clip is at `start_s + i / sample_rate` seconds on the file's timeline. The
decoder's first frame gives the time of the first decoded sample and later samples are counted
from it, so the clip is sample-exact for PCM / FLAC. Encoder priming (AAC, MP3, Opus) is removed
by FFmpeg when the container records it (MP4 edit lists, LAME headers, Ogg pre-skip), and the
trailing padding is cut at the stream's stated duration when the container states one (and the
overrun is padding-sized: MPEG-TS durations are only estimates).
"""

from __future__ import annotations

import math
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
from pydantic import Field

from omnieval.media.cache import read_through
from omnieval.media.errors import MediaError, translate_av_errors
from omnieval.media.probe import (
    audio_stream,
    media_duration,
    open_input,
    stream_end,
    timeline_origin,
)
from omnieval.types import Frozen, TimeWindow

if TYPE_CHECKING:
    from omnieval.media.cache import MediaCache

#: Decode from the beginning (exact sample counting) unless the window starts later than this;
#: beyond it, seek (timestamps after a seek are as precise as the container's, e.g. 1 ms in MKV).
_SEEK_AFTER_S = 60.0
#: After a seek, start decoding at least this much before the window start.
_SEEK_MARGIN_S = 1.0
#: Trailing encoder padding is at most two codec frames (AAC: 1024 samples each; MP3: 1152).
_MAX_PADDING_SAMPLES = 2 * 1152


class AudioSpec(Frozen):
    """How to load audio: target `sample_rate` (None keeps the file's), `mono` (average the
    channels) or not (keep them all), and an optional [start, end) `window` in seconds."""

    sample_rate: int | None = Field(default=None, ge=1)
    mono: bool = True
    window: TimeWindow | None = None


@dataclass(frozen=True, eq=False)
class AudioClip:
    """`samples` float32 [channels, n] in [-1, 1]; sample 0 is at `start_s` seconds."""

    samples: np.ndarray
    sample_rate: int
    start_s: float = 0.0

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def times(self) -> np.ndarray:
        """Time in seconds of every sample."""
        return self.start_s + np.arange(self.num_samples, dtype=np.float64) / self.sample_rate

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "samples": self.samples,
            "sample_rate": np.array(self.sample_rate, dtype=np.int64),
            "start_s": np.array(self.start_s, dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> AudioClip:
        return cls(
            samples=arrays["samples"],
            sample_rate=int(arrays["sample_rate"]),
            start_s=float(arrays["start_s"]),
        )


def load_audio(
    path: str | os.PathLike[str],
    spec: AudioSpec | None = None,
    cache: MediaCache | None = None,
) -> AudioClip:
    """Decode the audio `spec` asks for. With a `cache`, a repeat call reads it from disk.

    Raises `MediaError` when the file is missing, empty, undecodable or has no audio stream, or
    when the window starts after the end of the media.
    """
    spec = spec or AudioSpec()
    p = Path(path)
    return read_through(cache, p, "audio", spec, _decode_audio, AudioClip.from_arrays)


class _FrameBatch:
    """Joins consecutive decoded frames into ~0.5 s frames: the resampler costs tens of
    microseconds per call, which dominates when fed 1024-sample AAC frames one at a time."""

    def __init__(self, target_samples: int = 24_000) -> None:
        self.target = target_samples
        self.frames: list[av.AudioFrame] = []
        self.samples = 0

    def push(self, frame: av.AudioFrame) -> list[av.AudioFrame]:
        out: list[av.AudioFrame] = []
        if self.frames and _shape(self.frames[0]) != _shape(frame):
            out = self.flush()
        self.frames.append(frame)
        self.samples += frame.samples
        if self.samples >= self.target:
            out.extend(self.flush())
        return out

    def flush(self) -> list[av.AudioFrame]:
        frames, self.frames, self.samples = self.frames, [], 0
        if len(frames) <= 1:
            return frames
        head = frames[0]
        joined = np.concatenate([f.to_ndarray() for f in frames], axis=1)
        big = av.AudioFrame.from_ndarray(joined, format=head.format.name, layout=head.layout.name)
        big.sample_rate = head.sample_rate
        big.pts = head.pts
        big.time_base = head.time_base
        return [big]


def _shape(frame: av.AudioFrame) -> tuple[str, str, int]:
    return (frame.format.name, frame.layout.name, frame.sample_rate)


def _decode_audio(path: Path, spec: AudioSpec) -> AudioClip:
    with (
        ExitStack() as stack,
        open_input(path) as container,
        translate_av_errors(path, "decoding audio"),
    ):
        stream = audio_stream(container)
        if stream is None:
            raise MediaError(path, "no_audio", "the file has no audio stream")
        origin = timeline_origin(container)
        start = spec.window.start if spec.window else 0.0
        end = spec.window.end if spec.window and spec.window.end is not None else math.inf
        declared_end = stream_end(stream, origin)
        native_rate = stream.codec_context.sample_rate
        if start < 0 or end <= start:
            raise MediaError(
                path,
                "window",
                f"the audio window [{start:g}, {end:g}) s is empty or outside the audio",
            )
        if start > 0 and start >= media_duration(container, origin):
            raise MediaError(
                path,
                "window",
                f"the audio window starts at {start:g} s, after the end of the media "
                f"({media_duration(container, origin):.3f} s)",
            )
        rate = spec.sample_rate or native_rate
        stream.codec_context.thread_type = "AUTO"
        if start > _SEEK_AFTER_S and stream.time_base is not None:
            target = start - _SEEK_MARGIN_S + origin
            try:
                container.seek(int(target / stream.time_base), stream=stream, backward=True)
            except av.FFmpegError:  # not seekable (raw stream): read again from the start
                container = stack.enter_context(av.open(str(path)))
                stream = audio_stream(container)
                assert stream is not None

        resampler = av.AudioResampler(format="fltp", rate=rate)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        batch = _FrameBatch()
        for frame in container.decode(stream):
            if first_time is None and frame.time is not None:
                first_time = float(frame.time) - origin
            for big in batch.push(frame):
                chunks.extend(out.to_ndarray() for out in resampler.resample(big))
            if frame.time is not None and float(frame.time) - origin > end + 0.5:
                break
        for big in batch.flush():
            chunks.extend(out.to_ndarray() for out in resampler.resample(big))
        chunks.extend(out.to_ndarray() for out in resampler.resample(None))

    if not chunks:
        raise MediaError(path, "undecodable", "no audio could be decoded")
    first = first_time if first_time is not None else 0.0
    samples = np.concatenate(chunks, axis=1) if len(chunks) > 1 else chunks[0]
    if declared_end is not None and native_rate:
        # Encoder padding (AAC, MP3) runs past the stream's stated end by under two codec
        # frames; cut it. A bigger overrun means the stated end is only an estimate (MPEG-TS).
        overrun = first + samples.shape[1] / rate - declared_end
        if 0 < overrun <= _MAX_PADDING_SAMPLES / native_rate:
            end = min(end, declared_end)
    lo = max(0, round((start - first) * rate))
    hi = samples.shape[1] if math.isinf(end) else max(lo, round((end - first) * rate))
    samples = samples[:, lo:hi]
    if spec.mono and samples.shape[0] > 1:
        samples = samples.mean(axis=0, keepdims=True)
    start_s = first + lo / rate
    if abs(start_s - start) < 1e-6:  # float noise only: the window start is sample-exact
        start_s = start
    return AudioClip(
        samples=np.ascontiguousarray(samples, dtype=np.float32),
        sample_rate=rate,
        start_s=start_s,
    )
