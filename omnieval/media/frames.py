"""Sample video frames at a rate or a count, with their true presentation timestamps.

Frame k of a video is shown over [pts_k, pts_{k+1}). For each *grid time* t (t = start + k/fps,
or the centres of `count` equal segments of the window) we return the frame whose interval
contains t, and the frame's own pts, not t. Frames are decoded in order with the decoder's
threads; only the chosen frames are converted to RGB arrays (and resized by swscale on the way).
The decoder seeks to the window start, and jumps ahead over whole keyframe intervals when the
next grid time lies beyond the next keyframe (sparse sampling of long videos).
"""

from __future__ import annotations

import bisect
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
from pydantic import Field, model_validator

from omnieval.media.cache import read_through
from omnieval.media.errors import MediaError, translate_av_errors
from omnieval.media.probe import (
    frame_rate,
    media_duration,
    open_input,
    timeline_origin,
    video_stream,
)
from omnieval.types import Frozen, TimeWindow

if TYPE_CHECKING:
    from av.container import InputContainer

    from omnieval.media.cache import MediaCache

#: Skip ahead by seeking only when it saves at least this much decoding (seconds).
_MIN_SEEK_GAIN_S = 1.0
#: After a seek that lands past its target, retry this much earlier, doubling each time.
_SEEK_BACKOFF_S = 1.0
_EPS = 1e-9


class FrameSpec(Frozen):
    """Which frames to take from a video, and how large.

    Give `fps` (frames per second of media time) or `count` (evenly spaced over the window), or
    neither for every frame. `window` limits sampling to [start, end) seconds. `max_side` and
    `max_pixels` shrink frames (keeping the aspect ratio, never enlarging).
    """

    fps: float | None = Field(default=None, gt=0)
    count: int | None = Field(default=None, ge=1)
    window: TimeWindow | None = None
    max_side: int | None = Field(default=None, ge=1)
    max_pixels: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_rule(self) -> FrameSpec:
        if self.fps is not None and self.count is not None:
            raise ValueError("give FrameSpec.fps or FrameSpec.count, not both")
        return self

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) after applying `max_side` and `max_pixels` to a width x height frame."""
        scale = 1.0
        if self.max_side is not None:
            scale = min(scale, self.max_side / max(width, height))
        if self.max_pixels is not None:
            scale = min(scale, math.sqrt(self.max_pixels / (width * height)))
        if scale >= 1.0:
            return width, height
        w = max(1, math.floor(width * scale + _EPS))
        h = max(1, math.floor(height * scale + _EPS))
        return w, h


@dataclass(frozen=True, eq=False)
class Frames:
    """Sampled frames: `images` uint8 [N, H, W, 3] RGB, `timestamps` float64 [N] seconds (the
    true presentation time of each frame), and the source's frame rate."""

    images: np.ndarray
    timestamps: np.ndarray
    source_fps: float

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        return int(self.images.shape[2]), int(self.images.shape[1])

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "images": self.images,
            "timestamps": self.timestamps,
            "source_fps": np.array(self.source_fps, dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Frames:
        return cls(
            images=arrays["images"],
            timestamps=arrays["timestamps"],
            source_fps=float(arrays["source_fps"]),
        )


def sample_frames(
    path: str | os.PathLike[str],
    spec: FrameSpec | None = None,
    cache: MediaCache | None = None,
) -> Frames:
    """Decode the frames `spec` asks for. With a `cache`, a repeat call reads them from disk.

    Raises `MediaError` when the file is missing, empty, undecodable or has no video stream, or
    when the window lies outside the video.
    """
    spec = spec or FrameSpec()
    p = Path(path)
    return read_through(cache, p, "frames", spec, _decode_frames, Frames.from_arrays)


def grid_times(spec: FrameSpec, start: float, end: float) -> np.ndarray | None:
    """The grid times `spec` asks for within [start, end); None means every frame."""
    if spec.fps is not None:
        n = max(0, math.ceil((end - start) * spec.fps - 1e-6))
        return start + np.arange(n, dtype=np.float64) / spec.fps
    if spec.count is not None:
        seg = (end - start) / spec.count
        return start + (np.arange(spec.count, dtype=np.float64) + 0.5) * seg
    return None


def _decode_frames(path: Path, spec: FrameSpec) -> Frames:
    with open_input(path) as container, translate_av_errors(path, "decoding video"):
        stream = video_stream(container)
        if stream is None:
            raise MediaError(path, "no_video", "the file has no video stream")
        origin = timeline_origin(container)
        duration = media_duration(container, origin)
        start = spec.window.start if spec.window else 0.0
        end = duration
        if spec.window is not None and spec.window.end is not None:
            end = min(end, spec.window.end)
        if start < 0 or end <= start:
            raise MediaError(
                path,
                "window",
                f"the frame window [{start:g}, {end:g}) s is empty or outside the video "
                f"(duration {duration:.3f} s)",
            )
        stream.thread_type = "AUTO"
        fps = frame_rate(stream)
        reader = _FrameReader(path, container, stream, origin, spec, fps)
        grid = grid_times(spec, start, end)
        if grid is None and (spec.window is None or spec.window.end is None):
            end = math.inf  # every frame to the last one, even past a header's rounded duration
        return reader.run(start, end, grid)


class _FrameReader:
    """One pass over a video stream, picking the frames that contain the grid times."""

    def __init__(
        self,
        path: Path,
        container: InputContainer,
        stream: av.VideoStream,
        origin: float,
        spec: FrameSpec,
        fps: float,
    ) -> None:
        self.path = path
        self.container = container
        self.stream = stream
        self.origin = origin
        self.spec = spec
        self.fps = fps
        self.arrays: list[np.ndarray] = []
        self.array_times: list[float] = []
        self.picks: list[int] = []  # per grid time, index into self.arrays
        self.can_seek = True
        self.reopened: list[InputContainer] = []  # closed by `run`
        self._index_size = -1
        self._keyframes: list[float] = []

    # ------------------------------------------------------------------ conversion

    def _convert(self, frame: av.VideoFrame, time: float) -> int:
        rotation = int(frame.rotation or 0) % 360
        width, height = frame.width, frame.height
        if rotation in (90, 270):
            w, h = self.spec.output_size(height, width)
            w, h = h, w  # size before rotating back
        else:
            w, h = self.spec.output_size(width, height)
        image: np.ndarray
        # reformat() then to_ndarray() is ~30x cheaper than to_ndarray(format=...) in PyAV 18
        if (w, h) == (width, height):
            image = frame.reformat(format="rgb24").to_ndarray()
        else:
            image = frame.reformat(
                format="rgb24", width=w, height=h, interpolation="AREA"
            ).to_ndarray()
        if rotation:
            image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
        self.arrays.append(image)
        self.array_times.append(time)
        return len(self.arrays) - 1

    # ------------------------------------------------------------------ seeking

    def _keyframe_times(self) -> list[float]:
        """Keyframe times from the demuxer's index (decode times: a little early with B-frames).
        Recomputed only when the index grew (MKV reads its cues at the first seek)."""
        entries = self.stream.index_entries
        tb = self.stream.time_base
        if tb is None:
            return []
        if len(entries) != self._index_size:
            self._index_size = len(entries)
            self._keyframes = [
                float(e.timestamp * tb) - self.origin for e in entries if e.is_keyframe
            ]
        return self._keyframes

    def _seek(self, target: float) -> bool:
        """Seek to the keyframe at or before `target` (True). A file that cannot seek (raw
        streams) is opened again and read from its start (False), and never seeked again."""
        tb = self.stream.time_base
        if tb is not None:
            offset = max(0.0, target + self.origin)
            try:
                self.container.seek(int(offset / tb), stream=self.stream, backward=True)
                return True
            except av.FFmpegError:
                pass
        self.can_seek = False
        self.container = av.open(str(self.path))
        self.reopened.append(self.container)
        stream = video_stream(self.container)
        assert stream is not None  # the same file had one a moment ago
        stream.thread_type = "AUTO"
        self.stream = stream
        return False

    # ------------------------------------------------------------------ main loop

    def run(self, start: float, end: float, grid: np.ndarray | None) -> Frames:
        try:
            return self._run(start, end, grid)
        finally:
            for container in self.reopened:
                container.close()

    def _run(self, start: float, end: float, grid: np.ndarray | None) -> Frames:
        targets: list[float] = [] if grid is None else grid.tolist()
        every = grid is None
        ti = 0  # next unassigned grid time
        pending: tuple[av.VideoFrame, float] | None = None
        pending_index: int | None = None  # converted array of the pending frame
        keyframes = self._keyframe_times()
        seek_target: float | None = None
        if start > _EPS:
            k = bisect.bisect_right(keyframes, start + _EPS) - 1
            # With an index, seek only when a later keyframe than the first one precedes start.
            if not keyframes or k > 0:
                seek_target = start
        backoff = _SEEK_BACKOFF_S
        jump_blocked_until = -math.inf  # no skip-ahead seeks to grid times up to this one
        last_time: float | None = None
        decoded_any = False

        while True:
            restarted = False
            check_overshoot = None
            if seek_target is not None:
                pending, pending_index = None, None
                if self._seek(seek_target):
                    check_overshoot = seek_target
            for frame in self.container.decode(self.stream):
                decoded_any = True
                if frame.pts is not None and frame.time is not None:
                    time = float(frame.time) - self.origin
                elif last_time is not None:
                    time = last_time + (1.0 / self.fps if self.fps else 0.0)
                else:
                    time = 0.0
                if check_overshoot is not None:
                    if time > check_overshoot + _EPS and check_overshoot > 0:
                        # Landed past the target (B-frame delay, imprecise index): retry earlier.
                        jump_blocked_until = max(jump_blocked_until, check_overshoot)
                        seek_target = max(0.0, check_overshoot - backoff)
                        backoff *= 2
                        restarted = True
                        break
                    check_overshoot = None
                    backoff = _SEEK_BACKOFF_S
                last_time = time

                if every:
                    # Keep every frame whose display interval overlaps [start, end).
                    if pending is not None and time > start + _EPS and pending[1] < end - _EPS:
                        self.picks.append(self._convert(*pending))
                    pending = (frame, time)
                    if time >= end - _EPS:
                        pending = None
                        break
                    continue

                # Grid times before this frame belong to the pending frame (or to this one if
                # nothing came before: the video starts late).
                while ti < len(targets) and targets[ti] < time - _EPS:
                    if pending is None:
                        break
                    if pending_index is None:
                        pending_index = self._convert(*pending)
                    self.picks.append(pending_index)
                    ti += 1
                if pending is None:
                    index = None
                    while ti < len(targets) and targets[ti] < time - _EPS:
                        if index is None:
                            index = self._convert(frame, time)
                        self.picks.append(index)
                        ti += 1
                    pending, pending_index = (frame, time), index
                else:
                    pending, pending_index = (frame, time), None
                if ti >= len(targets):
                    break
                # Jump ahead when a whole keyframe interval lies before the next grid time.
                nxt = targets[ti]
                keyframes = self._keyframe_times()
                k = bisect.bisect_right(keyframes, nxt + _EPS) - 1
                if (
                    self.can_seek
                    and nxt > jump_blocked_until
                    and k >= 0
                    and keyframes[k] - time >= _MIN_SEEK_GAIN_S
                ):
                    # At most one skip-ahead per grid time: if the demuxer lands us back
                    # before `time`, we simply decode forward from there.
                    jump_blocked_until = nxt
                    seek_target = nxt
                    restarted = True
                    break
            if not restarted:
                break

        if not decoded_any:
            raise MediaError(self.path, "undecodable", "no video frame could be decoded")
        if every:
            if pending is not None and pending[1] < end - _EPS:
                self.picks.append(self._convert(*pending))
        elif ti < len(targets):
            if pending is None:
                raise MediaError(
                    self.path,
                    "window",
                    f"no video frame found at or after {targets[ti]:.3f} s",
                )
            index = pending_index if pending_index is not None else self._convert(*pending)
            self.picks.extend([index] * (len(targets) - ti))
        return self._result()

    def _result(self) -> Frames:
        if not self.picks:
            w, h = self.spec.output_size(
                self.stream.codec_context.width or 1, self.stream.codec_context.height or 1
            )
            images = np.zeros((0, h, w, 3), dtype=np.uint8)
            times = np.zeros(0, dtype=np.float64)
        else:
            images = np.stack([self.arrays[i] for i in self.picks])
            times = np.array([self.array_times[i] for i in self.picks], dtype=np.float64)
        return Frames(images=images, timestamps=times, source_fps=self.fps)
