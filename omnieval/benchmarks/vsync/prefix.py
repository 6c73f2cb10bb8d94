"""The prefix [0, t) of a video as a file of its own, cut through the media layer and cached.

V-SYNC Level 2/3 questions are asked "at time t": a model must see the conversation up to t and
nothing after it. Sending the whole file with a time window would trust every transport to honour
the window; instead the prefix is written as a new mp4 holding only the frames shown before t and
the audio samples before t, so no transport, transcriber or remote API can reach beyond t.

The prefix is re-encoded (H.264 yuv420p, CRF 18, single-threaded, so the bytes are reproducible;
AAC at the source's rate and channel count): stream copy would cut at packet boundaries, and a
B-frame before t can depend on a frame after t. Frames are written at the source's average
frame rate. The file lives in the media cache directory under a key of the source's content
digest and t (rounded to the millisecond), written once (atomic rename); later calls return it.
Threads asking for the same prefix at once wait for one cut (a lock per key): the runner builds
these requests in worker threads (`Task.builds_media`), never on its event loop.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

import av
import numpy as np

from omnieval.media import AudioClip, AudioSpec, MediaCache, MediaError, load_audio
from omnieval.media.digest import file_digest
from omnieval.media.errors import translate_av_errors
from omnieval.types import TimeWindow

PREFIX_VERSION = "1"
_AUDIO_BLOCK = 1024
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def prefix_key(path: Path, end_s: float) -> str:
    """The cache key of the prefix [0, end_s) of `path` (content digest, not path)."""
    text = f"vsync-prefix:{PREFIX_VERSION}:{round(end_s * 1000)}:{file_digest(path)}"
    return hashlib.sha256(text.encode()).hexdigest()


def video_prefix(
    path: str | os.PathLike[str], end_s: float, cache: MediaCache | None = None
) -> Path:
    """An mp4 with only what `path` shows and sounds during [0, end_s); cached (see module doc).

    Raises `MediaError` naming the file when it cannot be read or has no video stream, and
    ValueError for a non-positive `end_s`.
    """
    source = Path(path)
    if end_s <= 0:
        raise ValueError(f"{source}: a prefix needs t > 0, got {end_s}")
    cache = cache if cache is not None else MediaCache()
    key = prefix_key(source, end_s)
    target = cache.directory / key[:2] / f"{key}.mp4"
    if target.is_file():
        return target
    with _lock_for(key):
        if target.is_file():  # cut by another thread while this one waited
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".mp4", dir=target.parent)
        os.close(fd)
        try:
            _write_prefix(source, end_s, Path(tmp))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target


def _write_prefix(source: Path, end_s: float, out: Path) -> None:
    with translate_av_errors(source, "cutting the video prefix"), av.open(str(source)) as src:
        if not src.streams.video:
            raise MediaError(source, "no_video", "the file has no video stream")
        clip = (
            load_audio(source, AudioSpec(mono=False, window=TimeWindow(start=0.0, end=end_s)))
            if src.streams.audio
            else None
        )
        zero = src.start_time / 1e6 if src.start_time and src.start_time > 0 else 0.0
        stream = src.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or 25
        with av.open(str(out), "w", format="mp4") as sink:
            video = sink.add_stream("libx264", rate=rate)
            video.width = stream.codec_context.width
            video.height = stream.codec_context.height
            video.pix_fmt = "yuv420p"
            video.options = {"crf": "18", "preset": "veryfast", "threads": "1"}
            sound = _audio_stream(sink, clip) if clip is not None else None
            written = 0
            for frame in src.decode(stream):
                if frame.time is None:
                    continue
                if frame.time - zero >= end_s - 1e-9:
                    break
                image = av.VideoFrame.from_ndarray(
                    frame.to_ndarray(format="yuv420p"), format="yuv420p"
                )
                image.pts = written
                sink.mux(video.encode(image))
                written += 1
            if written == 0:
                raise MediaError(source, "window", f"no frame is shown before t={end_s:g} s")
            sink.mux(video.encode(None))
            if sound is not None and clip is not None:
                _write_audio(clip, sound, sink)


def _audio_stream(sink: av.container.OutputContainer, clip: AudioClip) -> av.AudioStream:
    sound = sink.add_stream("aac", rate=clip.sample_rate)
    sound.layout = "mono" if clip.channels == 1 else "stereo"
    sound.options = {"aac_coder": "fast"}
    return sound


def _write_audio(
    clip: AudioClip, sound: av.AudioStream, sink: av.container.OutputContainer
) -> None:
    samples = np.clip(clip.samples[:2], -1.0, 1.0).astype(np.float32)
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    lead = max(0, round(clip.start_s * clip.sample_rate))
    if lead:
        samples = np.concatenate([np.zeros((samples.shape[0], lead), np.float32), samples], 1)
    for start in range(0, samples.shape[1], _AUDIO_BLOCK):
        chunk = np.ascontiguousarray(samples[:, start : start + _AUDIO_BLOCK])
        block = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        block.sample_rate = clip.sample_rate
        block.pts = start
        sink.mux(sound.encode(block))
    sink.mux(sound.encode(None))


__all__ = ["PREFIX_VERSION", "prefix_key", "video_prefix"]
