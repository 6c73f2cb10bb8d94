"""A `Request` as chat-template messages plus the media arrays a transformers processor takes.

Messages follow the transformers multimodal chat convention: a list of `{"role", "content"}`
dicts whose content is a list of typed items (`{"type": "text", "text": ...}`, `{"type":
"audio"}`, `{"type": "image"}`, `{"type": "video"}`). Media items are bare placeholders: the
template writes the model's placeholder tokens for them, and the decoded media travel beside the
text, in the order the template writes their placeholders:

- audio: float32 at the processor's sampling rate, one array per audio slot, prepared by the
  media preparer (`omnieval.media.prepare`) under the model's channel policy
  (`audio_channels`): `downmix` (default; a 1-D mono array, what the supported processors
  take), `left` / `right` / an index (1-D, one channel), or `keep` ([channels, n] when the
  file has more than one channel; for processors that take channels apart);
- images: uint8 RGB [H, W, 3] decoded with PyAV (a path or in-memory bytes);
- videos: uint8 RGB [T, H, W, 3] frames sampled at `video_fps`, at most `max_frames` spread
  evenly over the clip when it is longer (`sample_frames`); the effective rate is kept per video.

A video's own audio track (when the part says `with_audio`) travels one of two ways, chosen by
the family adapter: `interleave` (no placeholder of its own; the processor interleaves it with
the video's frames, as Qwen Omni's `use_audio_in_video` does) or `separate` (an audio
placeholder right after the video). A model that takes no audio fails such a request rather
than silently losing a modality. A video without an audio stream is simply silent.

The channel policy is part of the model's fingerprint (its `transport.audio` string), so a
downmix is shown next to the model's scores.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import av
import numpy as np

from omnieval.media import FrameSpec, MediaError, probe, sample_frames
from omnieval.media.errors import translate_av_errors
from omnieval.media.prepare import AudioPolicy, ChannelChoice, prepare_audio
from omnieval.media.probe import open_input
from omnieval.models.base import PermanentModelError
from omnieval.types import (
    AudioPart,
    ChannelLayout,
    ImagePart,
    Modality,
    Request,
    TextPart,
    TimeWindow,
    VideoPart,
)

VideoAudio = Literal["interleave", "separate"]


@dataclass(frozen=True)
class MediaOptions:
    """How media parts are decoded for one model."""

    audio_sample_rate: int = 16000
    audio_channels: ChannelChoice = "downmix"
    video_fps: float = 2.0
    max_frames: int = 32
    video_max_pixels: int | None = None
    video_audio: VideoAudio = "separate"
    inputs: frozenset[Modality] = frozenset(Modality)

    def audio_policy(self) -> AudioPolicy:
        return AudioPolicy(channels=self.audio_channels, sample_rate=self.audio_sample_rate)


@dataclass
class Conversation:
    """One request ready for a processor: messages, and its media in placeholder order.

    `audio_from_video[i]` is the index (into `videos`) of the video whose track audio slot `i`
    is, for interleaved video audio, or None for a standalone audio slot.
    """

    messages: list[dict[str, Any]]
    audios: list[np.ndarray] = field(default_factory=list)
    audio_from_video: list[int | None] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    videos: list[np.ndarray] = field(default_factory=list)
    video_fps: list[float] = field(default_factory=list)
    video_timestamps: list[np.ndarray] = field(default_factory=list)

    @property
    def interleaved(self) -> bool:
        """True when some video's audio is to be interleaved with its frames."""
        return any(index is not None for index in self.audio_from_video)


def build_conversation(
    request: Request, options: MediaOptions, system: str | None = None
) -> Conversation:
    """Decode `request`'s media and lay it out as chat messages.

    `system` is used when the request has none. Raises `PermanentModelError` when the request
    holds a modality the model does not take, and `MediaError` when a file cannot be used.
    """
    _check_modalities(request, options)
    content: list[dict[str, Any]] = []
    conv = Conversation(messages=[])
    texts: list[str] = []

    def flush_text() -> None:
        if texts:
            content.append({"type": "text", "text": "\n\n".join(texts)})
            texts.clear()

    # A video's audio is interleaved only when every video of the request brings audio along;
    # otherwise the request's video audio goes as separate slots (the Qwen processors apply
    # interleaving to all videos of a call or to none).
    video_tracks = [_video_audio(p, options) for p in request.parts if isinstance(p, VideoPart)]
    interleave = (
        options.video_audio == "interleave"
        and bool(video_tracks)
        and all(track is not None for track in video_tracks)
    )
    tracks = iter(video_tracks)
    for part in request.parts:
        if isinstance(part, TextPart):
            texts.append(part.text)
            continue
        flush_text()
        if isinstance(part, AudioPart):
            conv.audios.append(_audio(part.path, part.window, options, part.layout, part.channel))
            conv.audio_from_video.append(None)
            content.append({"type": "audio"})
        elif isinstance(part, ImagePart):
            conv.images.append(decode_image(part))
            content.append({"type": "image"})
        elif isinstance(part, VideoPart):
            frames, fps, stamps = _frames(part, options)
            conv.videos.append(frames)
            conv.video_fps.append(fps)
            conv.video_timestamps.append(stamps)
            content.append({"type": "video"})
            track = next(tracks)
            if track is None:
                continue
            conv.audios.append(track)
            if interleave:
                conv.audio_from_video.append(len(conv.videos) - 1)
            else:
                conv.audio_from_video.append(None)
                content.append({"type": "audio"})
    flush_text()

    system = request.system if request.system is not None else system
    if system:
        conv.messages.append({"role": "system", "content": [{"type": "text", "text": system}]})
    conv.messages.append({"role": "user", "content": content})
    return conv


def _check_modalities(request: Request, options: MediaOptions) -> None:
    # A video's audio track is an input too: a model without audio input fails the request
    # rather than silently losing a modality.
    wanted = request.modalities()
    missing = sorted(m.value for m in wanted - options.inputs)
    if missing:
        video_audio = any(isinstance(p, VideoPart) and p.with_audio for p in request.parts)
        hint = (
            " (a video part with with_audio=True brings its audio track along; set"
            " with_audio=False or choose a transport policy that drops it)"
            if "audio" in missing and video_audio
            else ""
        )
        takes = ", ".join(sorted(m.value for m in options.inputs))
        raise PermanentModelError(
            f"the request holds {', '.join(missing)} input, which this model does not take "
            f"(it takes {takes}){hint}"
        )


def _audio(
    path: Any,
    window: TimeWindow | None,
    options: MediaOptions,
    layout: ChannelLayout | None = None,
    channel: int | str | None = None,
) -> np.ndarray:
    """One channel as a 1-D array; several (policy `keep`) as [channels, n]."""
    prepared = prepare_audio(
        path, options.audio_policy(), window=window, layout=layout, channel=channel
    )
    samples = prepared.clip.samples
    if samples.shape[0] == 1:
        return np.ascontiguousarray(samples[0], dtype=np.float32)
    return np.ascontiguousarray(samples, dtype=np.float32)


def _video_audio(part: VideoPart, options: MediaOptions) -> np.ndarray | None:
    """The video's audio track as one slot, or None when it has none (or is not wanted)."""
    if not part.with_audio:
        return None
    try:
        return _audio(part.path, part.window, options)
    except MediaError as err:
        if err.problem == "no_audio":
            return None
        raise


def _frames(part: VideoPart, options: MediaOptions) -> tuple[np.ndarray, float, np.ndarray]:
    """Frames at `video_fps`, or `max_frames` spread evenly when that would be more."""
    info = probe(part.path)
    start = part.window.start if part.window else 0.0
    end = info.duration_s
    if part.window is not None and part.window.end is not None:
        end = min(end, part.window.end)
    span = max(end - start, 0.0)
    wanted = math.ceil(span * options.video_fps - 1e-6)
    if wanted > options.max_frames and span > 0:
        spec = FrameSpec(
            count=options.max_frames, window=part.window, max_pixels=options.video_max_pixels
        )
        fps = options.max_frames / span
    else:
        spec = FrameSpec(
            fps=options.video_fps, window=part.window, max_pixels=options.video_max_pixels
        )
        fps = options.video_fps
    frames = sample_frames(part.path, spec)
    if len(frames) == 0:
        raise MediaError(part.path, "window", "no video frame was sampled from the window")
    return frames.images, fps, frames.timestamps


def decode_image(part: ImagePart) -> np.ndarray:
    """The first picture of an image part as uint8 RGB [H, W, 3] (PyAV decodes PNG, JPEG, ...)."""
    if part.path is not None:
        with open_input(part.path) as container, translate_av_errors(part.path, "decoding image"):
            return _first_picture(container, str(part.path))
    if part.data is None:
        raise PermanentModelError("an image part has neither a path nor data")
    try:
        with av.open(io.BytesIO(part.data), mode="r") as container:
            return _first_picture(container, f"in-memory {part.mime} image")
    except (av.FFmpegError, OSError, EOFError) as err:
        raise PermanentModelError(
            f"in-memory {part.mime} image ({len(part.data)} bytes) cannot be decoded: {err}"
        ) from err


def _first_picture(container: Any, name: str) -> np.ndarray:
    if not container.streams.video:
        raise PermanentModelError(f"{name}: no picture found in the image")
    for frame in container.decode(video=0):
        return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
    raise PermanentModelError(f"{name}: no picture could be decoded")
