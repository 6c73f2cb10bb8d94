"""Writing and reading the videos of the vmeval tasks (PyAV, H.264 in mp4)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


class VideoReadError(ValueError):
    """A video cannot be decoded (names the file)."""


def write_video(
    path: Path,
    frames: Sequence[np.ndarray],
    fps: int = 8,
    crf: int = 18,
    size: tuple[int, int] | None = None,
) -> Path:
    """Encode RGB frames as H.264 (yuv420p) mp4; `size` (w, h) rescales while encoding."""
    if not frames:
        raise ValueError(f"{path}: no frames to write")
    h, w = frames[0].shape[:2]
    out_w, out_h = size if size is not None else (w, h)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = out_w, out_h
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "ultrafast", "tune": "stillimage"}
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            if (out_w, out_h) != (w, h):
                frame = frame.reformat(width=out_w, height=out_h)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class DecodedVideo:
    frames: list[np.ndarray]
    fps: float

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps if self.fps else 0.0


def read_video(path: Path, keep_last: int | None = None) -> DecodedVideo:
    """Every frame as RGB (or only the last `keep_last`), with the stream's frame rate."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or 0
            decoded: list[av.VideoFrame] = []
            for frame in container.decode(stream):
                decoded.append(frame)
                if keep_last is not None and len(decoded) > keep_last:
                    decoded.pop(0)  # only the frames kept are converted to RGB
            frames = [frame.to_ndarray(format="rgb24") for frame in decoded]
    except (av.error.FFmpegError, IndexError) as err:
        raise VideoReadError(f"cannot decode video {path}: {err}") from err
    if not frames:
        raise VideoReadError(f"video {path} has no frames")
    return DecodedVideo(frames, float(rate))


#: how far before the end `last_frames` seeks (then decodes forward from the keyframe before it)
TAIL_SECONDS = 1.0


def last_frames(path: Path, count: int = 3) -> list[np.ndarray]:
    """The last `count` frames as RGB. A long video is not decoded from its start: the reader
    seeks to the keyframe before its last second and decodes from there (a video whose tail
    yields fewer frames than asked is decoded whole)."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration is not None and stream.time_base is not None
                else None
            )
            if duration is None or duration <= 2 * TAIL_SECONDS or stream.time_base is None:
                tail: list[av.VideoFrame] = []
            else:
                target = int((duration - TAIL_SECONDS) / stream.time_base)
                container.seek(target, stream=stream, backward=True, any_frame=False)
                tail = []
                for frame in container.decode(stream):
                    tail.append(frame)
                    if len(tail) > count:
                        tail.pop(0)
    except (av.error.FFmpegError, IndexError) as err:
        raise VideoReadError(f"cannot decode video {path}: {err}") from err
    if len(tail) == count:
        return [frame.to_ndarray(format="rgb24") for frame in tail]
    return read_video(path, keep_last=count).frames
