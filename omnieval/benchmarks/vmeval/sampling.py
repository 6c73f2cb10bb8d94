"""Upstream's multi-frame sampling (VMEvalKit `FrameSampler`), reproduced index for index.

Frames are drawn from the last `last_seconds` of the video: the window starts at frame
`int(max(0, duration - min(last_seconds, duration)) * fps)` with `duration = total / fps`.

- `uniform`: all window frames when there are at most n, else `int(start + i * step)` with
  `step = (total - start) / n`, the last index forced to the final frame;
- `keyframe`: frames whose mean absolute grey-level difference from the previous window frame
  exceeds `threshold` (30) and lie at least `min_interval` (5) frames after the last keyframe
  (the window's first frame is never one), plus the final frame; the last n of them;
- `hybrid`: uniform points with the integer step `max(1, (total - start) // n)`, the last forced
  to the final frame, each replaced by the nearest unused keyframe within `step // 2` (a tie
  goes to the keyframe met first in upstream's set iteration), then sorted.

Grey levels are OpenCV's fixed-point BT.601 conversion, so the keyframes are upstream's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from omnieval.benchmarks.vmeval.video import VideoReadError

STRATEGIES = ("uniform", "keyframe", "hybrid")


@dataclass(frozen=True)
class SampledFrame:
    image: np.ndarray
    index: int
    timestamp: float
    is_keyframe: bool


def gray(rgb: np.ndarray) -> np.ndarray:
    """OpenCV's RGB -> grey for 8-bit images: (9798 R + 19235 G + 3735 B + 2^14) >> 15."""
    r = rgb[..., 0].astype(np.int32)
    g = rgb[..., 1].astype(np.int32)
    b = rgb[..., 2].astype(np.int32)
    return ((r * 9798 + g * 19235 + b * 3735 + (1 << 14)) >> 15).astype(np.uint8)


def window_start(total: int, fps: float, last_seconds: float) -> int:
    duration = total / fps
    sample_duration = min(last_seconds, duration)
    return int(max(0.0, duration - sample_duration) * fps)


def uniform_indices(start: int, total: int, n: int) -> list[int]:
    span = total - start
    if span <= n:
        return list(range(start, total))
    step = span / n
    indices = [int(start + i * step) for i in range(n)]
    if indices[-1] != total - 1:
        indices[-1] = total - 1
    return indices


def detect_keyframes(
    grays: Iterable[np.ndarray], start: int, threshold: float = 30.0, min_interval: int = 5
) -> list[int]:
    """Keyframe indices among window frames `grays` (frame `start + i` is the i-th), read once
    in order (only the previous frame is kept)."""
    found: list[int] = []
    last = -min_interval
    previous: np.ndarray | None = None
    for i, current in enumerate(grays):
        index = start + i
        if previous is not None:
            diff = np.abs(current.astype(np.int16) - previous.astype(np.int16))
            if float(np.mean(diff)) > threshold and index - last >= min_interval:
                found.append(index)
                last = index
        previous = current
    return found


def keyframe_indices(keyframes: Sequence[int], total: int, n: int) -> list[int]:
    chosen = list(keyframes)
    if total - 1 not in chosen:
        chosen.append(total - 1)
    return chosen[-n:] if len(chosen) > n else chosen


def hybrid_indices(
    start: int, total: int, n: int, keyframes: Sequence[int]
) -> list[tuple[int, bool]]:
    step = max(1, (total - start) // n)
    points = [int(start + i * step) for i in range(n)]
    points[-1] = total - 1
    # a set iterated as upstream iterates it, so that ties between two keyframes at the same
    # distance go the same way (CPython's set order, deterministic for the same history)
    free = set(keyframes)
    chosen: list[tuple[int, bool]] = []
    for point in points:
        taken = [c for c, _ in chosen]
        near = [k for k in free if abs(k - point) <= step // 2 and k not in taken]
        if near:
            pick = min(near, key=lambda k: abs(k - point))
            chosen.append((pick, True))
            free.discard(pick)
        else:
            chosen.append((point, False))
    return sorted(chosen, key=lambda pair: pair[0])


def sample_indices(
    frames: Sequence[np.ndarray],
    fps: float,
    n: int = 5,
    last_seconds: float = 3.0,
    strategy: str = "hybrid",
    threshold: float = 30.0,
    min_interval: int = 5,
) -> list[tuple[int, bool]]:
    """(frame index, is keyframe) pairs chosen by `strategy` over decoded RGB `frames`."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown sampling strategy {strategy!r}; use one of {STRATEGIES}")
    total = len(frames)
    if total == 0 or fps <= 0:
        raise ValueError("the video has no frames or no frame rate")
    start = window_start(total, fps, last_seconds)
    if strategy == "uniform":
        return [(i, False) for i in uniform_indices(start, total, n)]
    grays = [gray(f) for f in frames[start:]]
    keys = detect_keyframes(grays, start, threshold, min_interval)
    if strategy == "keyframe":
        return [(i, True) for i in keyframe_indices(keys, total, n)]
    return hybrid_indices(start, total, n, keys)


def _decoded(path: Path) -> Iterator[av.VideoFrame]:
    try:
        with av.open(str(path)) as container:
            yield from container.decode(container.streams.video[0])
    except (av.error.FFmpegError, IndexError) as err:
        raise VideoReadError(f"cannot decode video {path}: {err}") from err


def _rate(path: Path) -> float:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return float(stream.average_rate or stream.guessed_rate or 0)
    except (av.error.FFmpegError, IndexError) as err:
        raise VideoReadError(f"cannot decode video {path}: {err}") from err


def sample_video(
    path: Path, n: int = 5, last_seconds: float = 3.0, strategy: str = "hybrid"
) -> list[SampledFrame]:
    """`sample_indices` on a video file without holding it in memory: one pass counts the
    frames, one converts only the window's frames to grey (keyframe strategies), one keeps the
    chosen frames."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown sampling strategy {strategy!r}; use one of {STRATEGIES}")
    fps = _rate(path)
    total = sum(1 for _ in _decoded(path))
    if total == 0 or fps <= 0:
        raise VideoReadError(f"video {path} has no frames or no frame rate")
    start = window_start(total, fps, last_seconds)
    if strategy == "uniform":
        picks = [(i, False) for i in uniform_indices(start, total, n)]
    else:
        grays = (
            gray(frame.to_ndarray(format="rgb24"))
            for i, frame in enumerate(_decoded(path))
            if i >= start
        )
        keys = detect_keyframes(grays, start)
        if strategy == "keyframe":
            picks = [(i, True) for i in keyframe_indices(keys, total, n)]
        else:
            picks = hybrid_indices(start, total, n, keys)
    wanted = {i for i, _ in picks}
    images = {
        i: frame.to_ndarray(format="rgb24")
        for i, frame in enumerate(_decoded(path))
        if i in wanted
    }
    return [
        SampledFrame(images[i], i, i / fps, key) for i, key in picks if i in images
    ]
