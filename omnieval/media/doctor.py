"""Pre-flight check of every media file a set of samples reads.

Each distinct file is checked once, in a thread pool: it must exist, be non-empty, open, decode a
first frame in each video and audio stream, and decode its last second (which catches truncated
files whose header still promises the full length). A file used as a video part must have a video
stream, and one used as an audio part an audio stream. Problems come back sorted by path, each
with the ids of the samples that use the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Literal

import av
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from omnieval.media.errors import MediaError, translate_av_errors
from omnieval.media.probe import (
    MediaInfo,
    audio_stream,
    container_info,
    media_duration,
    open_input,
    timeline_origin,
)
from omnieval.media.riff import wav_shortfall
from omnieval.types import AudioPart, Frozen, ImagePart, Sample, VideoPart

ProblemKind = Literal["missing", "empty", "undecodable", "no_video", "no_audio"]

#: Give up looking for a stream's first frame after this many packets.
_MAX_HEAD_PACKETS = 2000
#: The tail check decodes from this many seconds before the stated end.
_TAIL_S = 1.0
#: The last decoded frame must end within this many seconds of the stated duration
#: (plus 5% of it: headers round, and audio and video tracks rarely end together).
_TAIL_SLACK_S = 1.5


class MediaProblem(Frozen):
    """One unusable media file and the samples that need it."""

    path: Path
    problem: ProblemKind
    detail: str
    sample_ids: tuple[str, ...]


def _decodable_streams(container: av.container.InputContainer) -> list[av.stream.Stream]:
    streams: list[av.stream.Stream] = [
        s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    ]
    streams.extend(container.streams.audio)
    return streams


def check_media_file(
    path: str | os.PathLike[str], *, need_video: bool = False, need_audio: bool = False
) -> MediaError | None:
    """The `MediaError` describing what is wrong with one file, or None when it is usable."""
    p = Path(path)
    short = wav_shortfall(p)
    if short is not None:
        return MediaError(
            p,
            "undecodable",
            f"the WAV header promises {short[0]:,} bytes of audio but the file holds "
            f"{short[1]:,} (truncated file?)",
        )
    try:
        with open_input(p) as container, translate_av_errors(p, "decoding"):
            _check_decoding(p, container, need_video, need_audio)
    except MediaError as err:
        return err
    return None


def probe_and_check(
    path: str | os.PathLike[str], *, need_video: bool = False, need_audio: bool = False
) -> MediaInfo:
    """`probe(path)` and `check_media_file`'s decoding checks with one open of the file (what
    `omnieval serve` runs on every media part); raises the `MediaError`."""
    p = Path(path)
    with open_input(p) as container, translate_av_errors(p, "decoding"):
        info = container_info(p, container)
        _check_decoding(p, container, need_video, need_audio)
    return info


def _check_decoding(
    path: Path, container: av.container.InputContainer, need_video: bool, need_audio: bool
) -> None:
    """The streams a use needs are there, and every stream decodes at its head and its tail."""
    streams = _decodable_streams(container)
    kinds = {s.type for s in streams}
    if need_video and "video" not in kinds:
        raise MediaError(path, "no_video", "used as a video but has no video stream")
    if need_audio and audio_stream(container) is None:
        raise MediaError(path, "no_audio", "used as audio but has no audio stream")
    _check_head(path, container, streams)
    _check_tail(path, container, streams)


def _check_head(
    path: Path, container: av.container.InputContainer, streams: list[av.stream.Stream]
) -> None:
    """Every stream decodes a first frame."""
    waiting = {s.index for s in streams}
    for packets, packet in enumerate(container.demux(streams), start=1):
        if packet.stream.index in waiting and packet.decode():
            waiting.discard(packet.stream.index)
        if not waiting or packets >= _MAX_HEAD_PACKETS:
            break
    if waiting:
        names = ", ".join(f"{s.type} stream #{s.index}" for s in streams if s.index in waiting)
        raise MediaError(path, "undecodable", f"no frame could be decoded from the {names}")


def _check_tail(
    path: Path, container: av.container.InputContainer, streams: list[av.stream.Stream]
) -> None:
    """The last second decodes, and the media really lasts as long as its header says."""
    origin = timeline_origin(container)
    duration = media_duration(container, origin)
    if duration <= _TAIL_S:
        return
    lead = next((s for s in streams if s.type == "video"), streams[0])
    if lead.time_base is None:
        return
    target = duration - _TAIL_S + origin
    last_end: float | None = None
    try:
        container.seek(int(target / lead.time_base), stream=lead, backward=True)
    except av.FFmpegError:
        return  # not seekable (raw stream): the head check is all we can afford
    with translate_av_errors(path, "decoding the last second (truncated file?)"):
        for packet in container.demux(streams):
            for frame in packet.decode():
                if not isinstance(frame, av.VideoFrame | av.AudioFrame) or frame.time is None:
                    continue
                tb = frame.time_base
                length = float(frame.duration * tb) if frame.duration and tb is not None else 0.0
                end = float(frame.time) - origin + length
                last_end = end if last_end is None else max(last_end, end)
    if last_end is None:
        raise MediaError(
            path,
            "undecodable",
            f"nothing decodes in the last second before {duration:.2f} s (truncated file?)",
        )
    if last_end < duration - _TAIL_SLACK_S - 0.05 * duration:
        raise MediaError(
            path,
            "undecodable",
            f"the media stops at {last_end:.2f} s but its header says {duration:.2f} s "
            "(truncated file?)",
        )


def _needs(samples: Iterable[Sample]) -> dict[Path, tuple[list[str], bool, bool]]:
    """Per distinct file (in order of first use): sample ids, needs video, needs audio."""
    found: dict[Path, tuple[list[str], bool, bool]] = {}
    for sample in samples:
        for part in sample.parts:
            if not isinstance(part, VideoPart | AudioPart | ImagePart) or part.path is None:
                continue
            path = Path(part.path)
            ids, video, audio = found.get(path, ([], False, False))
            if sample.id not in ids:
                ids.append(sample.id)
            video = video or isinstance(part, VideoPart | ImagePart)
            audio = audio or isinstance(part, AudioPart)
            found[path] = (ids, video, audio)
    return found


def find_media_problems(
    samples: Iterable[Sample], workers: int = 4, progress: bool = False
) -> list[MediaProblem]:
    """Check every media file the samples read; return the problems, sorted by path.

    `workers` files are checked at once (decoding releases the GIL). `progress` shows a rich
    progress bar on stderr.
    """
    needs = _needs(samples)
    problems: list[MediaProblem] = []

    def record(path: Path, err: MediaError | None) -> None:
        if err is None:
            return
        kinds: dict[str, ProblemKind] = {
            "missing": "missing",
            "empty": "empty",
            "no_video": "no_video",
            "no_audio": "no_audio",
        }
        problem = kinds.get(err.problem, "undecodable")
        problems.append(
            MediaProblem(
                path=path, problem=problem, detail=err.detail, sample_ids=tuple(needs[path][0])
            )
        )

    bar = (
        Progress(
            TextColumn("checking media"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        if progress
        else None
    )
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {
            pool.submit(check_media_file, path, need_video=video, need_audio=audio): path
            for path, (_, video, audio) in needs.items()
        }
        if bar is None:
            for future in as_completed(futures):
                record(futures[future], future.result())
        else:
            with bar:
                task = bar.add_task("media", total=len(futures))
                for future in as_completed(futures):
                    record(futures[future], future.result())
                    bar.advance(task)
    return sorted(problems, key=lambda p: str(p.path))
