"""Transport policies: how each modality of a request reaches a model over the wire.

A `TransportPolicy` says, per modality, whether media goes natively (images as data URLs,
audio as `input_audio`, video as a `video_url`), in a form the model can read instead (video as
sampled frames each preceded by its true timestamp, audio as a timestamped ASR transcript), or
is dropped. Unset modes follow the model's declared inputs (`resolve`). The resolved policy's
`describe()` is part of the model fingerprint, hence of every trial key and of the report.

`MediaPreparer.prepare(request)` turns a request into OpenAI wire content parts (see `wire`),
reading media through the media layer and its cache; it is blocking (decoding, encoding, ASR)
and meant to run in a worker thread.
"""

from __future__ import annotations

import importlib
import math
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import Field, model_validator

from omnieval.media import (
    FrameSpec,
    MediaCache,
    MediaError,
    encode_jpeg,
    probe,
    sample_frames,
)
from omnieval.media.prepare import AudioPolicy, ChannelChoice, audio_payload, video_copy
from omnieval.models.base import PermanentModelError, PreflightError, TransientModelError
from omnieval.models.wire import (
    WirePart,
    audio_part,
    data_url,
    image_part,
    text_part,
    video_part,
)
from omnieval.redaction import is_secret_key
from omnieval.types import (
    AudioPart,
    ChannelLayout,
    Frozen,
    ImagePart,
    Modality,
    Request,
    TextPart,
    TimeWindow,
    VideoPart,
)

ImageMode = Literal["data_url", "drop"]
AudioMode = Literal["native", "transcript", "drop"]
VideoMode = Literal["native", "frames", "drop"]

TRANSCRIPT_HEADER = "Audio transcript (timestamps in seconds):"
NO_SPEECH = "(no speech recognised)"


class TransportPolicy(Frozen):
    """Per-modality transport for one model. `None` modes are filled in by `resolve`.

    - `image`: `data_url` (base64 in an `image_url` part) or `drop`;
    - `audio`: `native` (`input_audio`, `audio_format` wav or mp3, resampled only when
      `audio_sample_rate` is set; channels as `audio_channels` says: `keep` (default),
      `downmix`, `left`, `right` or an index (`audio_mono: true` is `downmix`); wav samples
      16-bit or, with `audio_sample_format: f32`, lossless 32-bit float), `transcript` (ASR with
      `asr` settings, a text part of `[start-end] words` lines) or `drop`;
    - `video`: `native` (a `video_url` part: the file as a data URL, or a `file://` URL when
      `video_url_mode` is `file`; a video whose audio is not part of the input is remuxed
      without its audio stream), `frames` (`frames_fps` frames per second, at most `max_frames`
      spread evenly over the clip, longest side `frame_max_side`, JPEG `jpeg_quality`, each after
      a "Frame at 1.00 s:" text part) or `drop`.
    """

    image: ImageMode | None = None
    audio: AudioMode | None = None
    video: VideoMode | None = None
    audio_format: Literal["wav", "mp3"] = "wav"
    #: wav sample format: `s16` (what APIs expect) or `f32` (lossless, for servers that take it)
    audio_sample_format: Literal["s16", "f32"] = "s16"
    audio_sample_rate: int | None = Field(default=None, ge=1)
    audio_channels: ChannelChoice = "keep"
    #: the older spelling of `audio_channels: downmix`
    audio_mono: bool = False
    video_url_mode: Literal["data_url", "file"] = "data_url"
    #: with native video, send vLLM's `mm_processor_kwargs: {use_audio_in_video: ...}`
    video_audio_flag: bool = True
    frames_fps: float = Field(default=1.0, gt=0)
    max_frames: int = Field(default=8, ge=1)
    frame_max_side: int | None = Field(default=512, ge=1)
    jpeg_quality: int = Field(default=85, ge=1, le=100)
    #: put a "Frame at 1.00 s:" text part before each frame (false: the images alone, which
    #: loses when things happened; the wiring probe's timing path catches it)
    frame_timestamps: bool = True
    transcript_segment_s: float = Field(default=2.0, gt=0)
    asr: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _mono_means_downmix(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("audio_mono"):
            channels = data.get("audio_channels", "keep")
            if channels not in ("keep", "downmix"):
                raise ValueError(
                    f"audio_mono: true contradicts audio_channels: {channels!r}; "
                    "give only audio_channels"
                )
            data = {**data, "audio_channels": "downmix"}
        return data

    def audio_policy(self) -> AudioPolicy:
        """The media preparer's settings for native audio."""
        return AudioPolicy(
            channels=self.audio_channels,
            sample_rate=self.audio_sample_rate,
            codec=self.audio_format,
            sample_format=self.audio_sample_format,
        )

    def resolve(self, inputs: frozenset[Modality]) -> TransportPolicy:
        """Fill unset modes from the model's declared native inputs: what it takes goes native;
        video otherwise goes as frames (dropped if the model takes no images either), audio as a
        transcript, images are dropped."""
        image: ImageMode = self.image or ("data_url" if Modality.IMAGE in inputs else "drop")
        video: VideoMode
        if self.video is not None:
            video = self.video
        elif Modality.VIDEO in inputs:
            video = "native"
        else:
            video = "frames" if image == "data_url" else "drop"
        audio: AudioMode = self.audio or ("native" if Modality.AUDIO in inputs else "transcript")
        return self.model_copy(update={"image": image, "video": video, "audio": audio})

    @property
    def dropped(self) -> list[str]:
        """Modalities this (resolved) policy removes from every request."""
        modes = {"image": self.image, "audio": self.audio, "video": self.video}
        return [name for name, mode in modes.items() if mode == "drop"]

    def describe(self) -> dict[str, Any]:
        """The resolved modes and the settings they use (nothing unused, nothing secret).

        Native audio reads e.g. `"native wav s16 16k mono-downmix"`: the channel policy is in
        the `audio` value, which the leaderboard prints next to the scores."""
        audio: str | None = self.audio
        if audio == "native":
            audio = f"native {self.audio_policy().describe()}"
        out: dict[str, Any] = {"image": self.image, "audio": audio, "video": self.video}
        if self.video == "frames":
            out["frames"] = {
                "fps": self.frames_fps,
                "max_frames": self.max_frames,
                "max_side": self.frame_max_side,
                "jpeg_quality": self.jpeg_quality,
            }
            if not self.frame_timestamps:  # only when off, so existing fingerprints keep
                out["frames"]["timestamps"] = False
        if self.video == "native":
            out["video_native"] = {
                "url": self.video_url_mode,
                "audio_flag": self.video_audio_flag,
            }
        if self.audio == "native":
            out["audio_native"] = {
                "format": self.audio_format,
                "sample_format": self.audio_sample_format,
                "sample_rate": self.audio_sample_rate,
                "channels": self.audio_channels,
            }
        if self.audio == "transcript":
            asr = {k: v for k, v in (self.asr or {}).items() if not is_secret_key(k)}
            asr.pop("cache_dir", None)
            out["transcript"] = {"segment_s": self.transcript_segment_s, "asr": asr}
        out["dropped"] = self.dropped
        return out


class TranscriptLike(Protocol):
    def timestamped(self, segment_s: float = 2.0) -> str: ...


class TranscriberLike(Protocol):
    """What `omnieval.media.asr.get_transcriber` returns."""

    def transcribe(self, path: Path, window: TimeWindow | None = None) -> Any: ...


@dataclass
class PreparedContent:
    """A request's user content as wire parts, plus top-level body fields it needs, and a
    compact account of what the transport made of each media part (`rendering`)."""

    parts: list[WirePart] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    #: `frames` ({name, timestamps}), `transcript` ({name, window, text}), `audio` ({name, sent}),
    #: `video` ({name, sent}), `images` ({name, sent}), `dropped` ({kind, name, why}): only the
    #: keys that occur, in request order; it becomes `Response.rendering`
    rendering: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def note(self, key: str, **entry: Any) -> None:
        self.rendering.setdefault(key, []).append(entry)


def _name(path: Path | str | None) -> str:
    return Path(path).name if path is not None else "inline"


def _window(window: TimeWindow | None) -> list[float | None] | None:
    return [window.start, window.end] if window is not None else None


def needs_media_work(request: Request) -> bool:
    """Whether preparing `request` reads files (worth a worker thread) or is pure Python."""
    return any(not isinstance(p, TextPart) and getattr(p, "path", None) for p in request.parts)


class MediaPreparer:
    """Turns requests into wire content for one resolved policy (blocking; thread-safe)."""

    def __init__(
        self,
        policy: TransportPolicy,
        cache: MediaCache | None = None,
        transcriber: TranscriberLike | None = None,
    ) -> None:
        if policy.image is None or policy.audio is None or policy.video is None:
            raise ValueError("MediaPreparer needs a resolved policy (TransportPolicy.resolve)")
        self.policy = policy
        self.cache = cache if cache is not None else MediaCache()
        self._transcriber = transcriber

    def prepare(self, request: Request) -> PreparedContent:
        """Wire parts for every part of `request`, in order. Media problems raise
        `PermanentModelError` naming the file; a transient ASR failure `TransientModelError`."""
        out = PreparedContent()
        for part in request.parts:
            try:
                if isinstance(part, TextPart):
                    out.parts.append(text_part(part.text))
                elif isinstance(part, ImagePart):
                    self._image(part, out)
                elif isinstance(part, AudioPart):
                    self._audio(part.path, part.window, out, part.layout, part.channel)
                else:
                    self._video(part, out)
            except MediaError as err:
                raise PermanentModelError(str(err)) from None
        return out

    # ------------------------------------------------------------------ images

    def _image(self, part: ImagePart, out: PreparedContent) -> None:
        if self.policy.image == "drop":
            out.note("dropped", kind="image", name=_name(part.path), why="transport image: drop")
            return
        if part.data is not None:
            out.parts.append(image_part(part.data, part.mime))
            out.note("images", name="inline", sent=f"data_url {part.mime}")
            return
        if part.path is None:
            raise PermanentModelError("an image part has neither data nor a path")
        path = Path(part.path)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise PermanentModelError(f"{path}: cannot read the image: {err}") from None
        guessed = mimetypes.guess_type(path.name)[0]
        out.parts.append(image_part(data, guessed or part.mime))
        out.note("images", name=path.name, sent=f"data_url {guessed or part.mime}")

    # ------------------------------------------------------------------ audio

    def _audio(
        self,
        path: Path,
        window: TimeWindow | None,
        out: PreparedContent,
        layout: ChannelLayout | None = None,
        channel: int | str | None = None,
    ) -> None:
        mode = self.policy.audio
        if mode == "native":
            payload = audio_payload(
                path,
                self.policy.audio_policy(),
                window=window,
                layout=layout,
                channel=channel,
                cache=self.cache,
            )
            out.parts.append(audio_part(payload.data, payload.format))
            out.note(
                "audio",
                name=_name(path),
                window=_window(window),
                sent=f"{payload.format} {payload.channels} channel(s) "
                f"{payload.layout.value} ({self.policy.audio_policy().describe()})",
            )
        elif mode == "transcript":
            text = self.transcript_text(path, window)
            out.parts.append(text_part(text))
            out.note("transcript", name=_name(path), window=_window(window), text=text)
        else:
            out.note("dropped", kind="audio", name=_name(path), why="transport audio: drop")

    def transcript_text(self, path: Path, window: TimeWindow | None) -> str:
        transcript = self._transcribe(path, window)
        lines = transcript.timestamped(self.policy.transcript_segment_s).strip()
        return f"{TRANSCRIPT_HEADER}\n{lines or NO_SPEECH}"

    def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        """When audio will travel as a transcript (`inputs`, the modalities to be sent, hold
        audio), build the ASR engine now (its optional extra imported, its model loaded); raise
        `PreflightError` saying what to install or fix."""
        if self.policy.audio != "transcript" or self._transcriber is not None:
            return
        if Modality.AUDIO not in inputs:
            return
        try:
            asr = importlib.import_module("omnieval.media.asr")
        except ImportError as err:
            raise PreflightError(
                "the audio transport 'transcript' needs omnieval.media.asr "
                f"(pip install 'omnieval[asr]'): {err}"
            ) from None
        try:
            transcriber = asr.get_transcriber(self.policy.asr, cache=self.cache)
            check = getattr(getattr(transcriber, "engine", None), "preflight", None)
            if check is not None:
                check()
        except ValueError as err:
            raise PreflightError(f"transport asr settings: {err}") from None
        except (asr.AsrError, ImportError) as err:
            raise PreflightError(f"the transport's ASR engine cannot be built: {err}") from None
        self._transcriber = transcriber

    def _transcribe(self, path: Path, window: TimeWindow | None) -> TranscriptLike:
        transcriber = self._transcriber
        asr: Any = None
        try:
            asr = importlib.import_module("omnieval.media.asr")
        except ImportError:
            if transcriber is None:
                raise PermanentModelError(
                    "the audio transport 'transcript' needs omnieval.media.asr "
                    "(pip install 'omnieval[asr]')"
                ) from None
        if transcriber is None:
            try:
                transcriber = asr.get_transcriber(self.policy.asr, cache=self.cache)
            except ValueError as err:
                raise PermanentModelError(f"transport asr settings: {err}") from None
            self._transcriber = transcriber
        try:
            result: TranscriptLike = transcriber.transcribe(path, window)
        except Exception as err:
            if asr is not None and isinstance(err, asr.AsrError):
                if err.transient:
                    raise TransientModelError(f"ASR: {err}", err.retry_after_s) from None
                raise PermanentModelError(f"ASR: {err}") from None
            raise
        return result

    # ------------------------------------------------------------------ video

    def _video(self, part: VideoPart, out: PreparedContent) -> None:
        info = probe(part.path)
        has_audio = part.with_audio and info.has_audio
        mode = self.policy.video
        if mode == "native":
            audio_rides_along = has_audio and self.policy.audio == "native"
            self._native_video(part, info.has_audio and not audio_rides_along, out)
            if self.policy.video_audio_flag:
                kwargs = out.extra.setdefault("mm_processor_kwargs", {})
                kwargs["use_audio_in_video"] = (
                    kwargs.get("use_audio_in_video", False) or audio_rides_along
                )
            if has_audio and not audio_rides_along:
                self._audio(part.path, part.window, out)  # transcript (or nothing, if dropped)
            return
        if mode == "frames":
            self._frames(part, info.duration_s, out)
        else:
            out.note("dropped", kind="video", name=_name(part.path), why="transport video: drop")
        if has_audio:
            self._audio(part.path, part.window, out)

    def _native_video(self, part: VideoPart, strip_audio: bool, out: PreparedContent) -> None:
        if part.window is not None and (part.window.start > 0 or part.window.end is not None):
            raise PermanentModelError(
                f"{part.path}: a native video part with a time window cannot be sent without "
                "re-encoding; use the 'frames' video transport for windowed clips"
            )
        path = Path(part.path)
        if strip_audio:
            path = video_copy(path, keep_audio=False, cache=self.cache)
        sent = "without its audio" if strip_audio else "as is"
        if self.policy.video_url_mode == "file":
            out.parts.append(video_part(path.resolve().as_uri()))
            out.note("video", name=_name(part.path), sent=f"file url, {sent}")
            return
        try:
            data = path.read_bytes()
        except OSError as err:
            raise PermanentModelError(f"{path}: cannot read the video: {err}") from None
        mime = _VIDEO_MIME.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        out.parts.append(video_part(data_url(mime or "video/mp4", data)))
        out.note("video", name=_name(part.path), sent=f"data_url {mime or 'video/mp4'}, {sent}")

    def _frames(self, part: VideoPart, duration_s: float, out: PreparedContent) -> None:
        window = part.window
        start = window.start if window else 0.0
        end = min(duration_s, window.end) if window and window.end is not None else duration_s
        grid = max(1, math.ceil((end - start) * self.policy.frames_fps - 1e-6))
        if grid > self.policy.max_frames:
            spec = FrameSpec(
                count=self.policy.max_frames, window=window, max_side=self.policy.frame_max_side
            )
        else:
            spec = FrameSpec(
                fps=self.policy.frames_fps, window=window, max_side=self.policy.frame_max_side
            )
        frames = sample_frames(part.path, spec, cache=self.cache)
        out.note(
            "frames",
            name=_name(part.path),
            window=_window(window),
            timestamps=[round(float(t), 3) for t in frames.timestamps],
            **({} if self.policy.frame_timestamps else {"timestamps_sent": False}),
        )
        for image, t in zip(frames.images, frames.timestamps, strict=True):
            if self.policy.frame_timestamps:
                out.parts.append(text_part(f"Frame at {float(t):.2f} s:"))
            jpeg = encode_jpeg(np.asarray(image), self.policy.jpeg_quality)
            out.parts.append(image_part(jpeg, "image/jpeg"))


_VIDEO_MIME = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
}
