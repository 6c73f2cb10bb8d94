"""What a media file holds: container, duration, first video and first audio stream.

Also the small helpers every reader shares: opening a file with errors translated, picking the
stream to read, and the file's timeline (see `timeline_origin`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
from av.container import InputContainer

from omnieval.media.errors import MediaError, check_file, translate_av_errors
from omnieval.types import Frozen


class VideoStreamInfo(Frozen):
    """The first video stream (cover art in audio files does not count as video)."""

    index: int
    width: int
    height: int
    fps: float
    frame_count: int | None = None
    codec: str
    duration_s: float | None = None


class AudioStreamInfo(Frozen):
    """The first audio stream."""

    index: int
    sample_rate: int
    channels: int
    codec: str
    duration_s: float | None = None


class MediaInfo(Frozen):
    """Probe result. Times are seconds on the file's timeline (see `timeline_origin`)."""

    path: Path
    container: str
    duration_s: float
    size_bytes: int
    video: VideoStreamInfo | None = None
    audio: AudioStreamInfo | None = None

    @property
    def has_video(self) -> bool:
        return self.video is not None

    @property
    def has_audio(self) -> bool:
        return self.audio is not None


@contextmanager
def open_input(path: str | os.PathLike[str]) -> Iterator[InputContainer]:
    """Open a media file for reading; missing / empty / unreadable files raise `MediaError`."""
    p = check_file(path)
    with translate_av_errors(p, "opening the file"):
        container = av.open(str(p), mode="r")
    try:
        if not any(s.type in ("video", "audio") for s in container.streams):
            raise MediaError(p, "undecodable", "the file has neither a video nor an audio stream")
        yield container
    finally:
        container.close()


def video_stream(container: InputContainer) -> av.VideoStream | None:
    """The first real video stream (attached pictures such as cover art are skipped)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def audio_stream(container: InputContainer) -> av.AudioStream | None:
    return container.streams.audio[0] if container.streams.audio else None


def timeline_origin(container: InputContainer) -> float:
    """Seconds of stream time that the media calls zero.

    Times in this package are measured from the start of the file, as players show them: the
    container's start time when it is positive (MPEG-TS files often start at 1.4 s), else the
    streams' own zero (MP4 / MKV / WAV start at 0; a slightly negative start from audio encoder
    priming is not a shift of the timeline).
    """
    start = container.start_time
    if start is None or start <= 0:
        return 0.0
    return float(start) / av.time_base


def stream_end(stream: av.VideoStream | av.AudioStream, origin: float) -> float | None:
    """End time of a stream from its own header (start + duration), or None when not stated."""
    if stream.duration is None or stream.time_base is None:
        return None
    start = stream.start_time or 0
    return float((start + stream.duration) * stream.time_base) - origin


def stream_duration(stream: av.VideoStream | av.AudioStream) -> float | None:
    """A stream's own stated duration in seconds, or None."""
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def media_duration(container: InputContainer, origin: float) -> float:
    """Duration in seconds: from the container header, else the streams, else the last packet."""
    if container.duration is not None and container.duration > 0:
        start = container.start_time if container.start_time and container.start_time > 0 else 0
        return max(0.0, float(container.duration + start) / av.time_base - origin)
    ends = [
        end
        for s in container.streams
        if isinstance(s, av.VideoStream | av.AudioStream)
        and (end := stream_end(s, origin)) is not None
    ]
    if ends:
        return max(0.0, max(ends))
    return _scan_duration(container.name, origin)


def _scan_duration(name: str, origin: float) -> float:
    """Read every packet (no decoding) of a second handle on the file: the latest packet end,
    or, for raw streams without timestamps, the video packet count over the frame rate."""
    last = 0.0
    video_packets = 0
    with av.open(name) as scan:
        video = video_stream(scan)
        fps = frame_rate(video) if video is not None else 0.0
        for packet in scan.demux():
            if video is not None and packet.stream.index == video.index and packet.size:
                video_packets += 1
            if packet.pts is None or packet.time_base is None:
                continue
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base) - origin
            last = max(last, end)
    if last == 0.0 and video_packets and fps:
        last = video_packets / fps
    return last


def frame_rate(stream: av.VideoStream) -> float:
    """Frames per second of a video stream (average, else guessed, else nominal; 0 if unknown)."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 0.0


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Read a file's header (no decoding): container, duration, first video and audio stream."""
    p = Path(path)
    with open_input(p) as container, translate_av_errors(p, "reading the header"):
        return container_info(p, container)


def container_info(p: Path, container: av.container.InputContainer) -> MediaInfo:
    """`MediaInfo` of an open container (what `probe` returns)."""
    origin = timeline_origin(container)
    video = None
    if (vs := video_stream(container)) is not None:
        cc = vs.codec_context
        video = VideoStreamInfo(
            index=vs.index,
            width=cc.width,
            height=cc.height,
            fps=frame_rate(vs),
            frame_count=vs.frames or None,
            codec=cc.name,
            duration_s=stream_duration(vs),
        )
    audio = None
    if (aus := audio_stream(container)) is not None:
        acc = aus.codec_context
        audio = AudioStreamInfo(
            index=aus.index,
            sample_rate=acc.sample_rate,
            channels=acc.layout.nb_channels,
            codec=acc.name,
            duration_s=stream_duration(aus),
        )
    return MediaInfo(
        path=p,
        container=container.format.name,
        duration_s=media_duration(container, origin),
        size_bytes=p.stat().st_size,
        video=video,
        audio=audio,
    )
