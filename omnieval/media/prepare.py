"""The one media preparer: what every provider and `omnieval serve` send a model is made here.

A provider states *how* it wants audio with an `AudioPolicy` (sample rate, which channels,
container / codec) and asks for a part's payload; the channel layout always comes from probing
the file, never from a default:

```python
from omnieval.media.prepare import AudioPolicy, audio_payload, prepare_audio

policy = AudioPolicy(channels="keep", sample_rate=16000, codec="wav")
payload = audio_payload(part.path, policy, window=part.window, layout=part.layout,
                        channel=part.channel, cache=cache)  # bytes, format, mime, layout
prepared = prepare_audio(part.path, policy)  # float32 [channels, n], for local models
path = video_copy(video.path, keep_audio=False, cache=cache)  # remuxed, not re-encoded
```

Channel handling, in order: the part's own `channel` (a sample that is about one ear of a
binaural file), then the policy's `channels`: `keep` (every channel as it is), `downmix` (the
mean of the channels), `left` / `right` / an index (one channel). `AudioPolicy.describe()` is a
short string such as `"wav s16 16k channels-kept"` that providers put into their fingerprint, so a
downmix enters the trial keys and is shown next to the scores.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import av
import numpy as np
from pydantic import Field

from omnieval.media.audio import AudioClip, AudioSpec, load_audio
from omnieval.media.cache import MediaCache
from omnieval.media.digest import file_digest
from omnieval.media.encode import encode_mp3, encode_wav
from omnieval.media.errors import MediaError, translate_av_errors
from omnieval.media.probe import probe
from omnieval.types import ChannelLayout, Frozen, TimeWindow

#: keep every channel, average them (`downmix`), or take one (`left`, `right`, an index)
ChannelChoice = Literal["keep", "downmix", "left", "right"] | Annotated[int, Field(ge=0)]
#: Bump when remuxing changes the bytes it writes.
_REMUX_VERSION = 1

#: Audio files whose own bytes a `codec="source"` policy sends unchanged, with their MIME type.
SOURCE_AUDIO_MIME = {
    ".wav": "audio/wav",
    ".mp3": "audio/mp3",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".aac": "audio/aac",
    ".aiff": "audio/aiff",
    ".aif": "audio/aiff",
}
_MUXER = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}


class AudioPolicy(Frozen):
    """How one model wants audio: `channels`, `sample_rate` (None keeps the file's), `codec`
    (`wav`, `mp3`, or `source`: the file's own bytes when nothing has to change and the file is
    an audio file of a known type, else wav) and the wav `sample_format` (`s16` or `f32`)."""

    channels: ChannelChoice = "keep"
    sample_rate: int | None = Field(default=None, ge=1)
    codec: Literal["wav", "mp3", "source"] = "wav"
    sample_format: Literal["s16", "f32"] = "s16"

    def channel_label(self) -> str:
        if self.channels == "keep":
            return "channels-kept"
        if self.channels == "downmix":
            return "mono-downmix"
        if isinstance(self.channels, int):
            return f"channel-{self.channels}-only"
        return f"{self.channels}-channel-only"

    def describe(self, codec: bool = True) -> str:
        """e.g. `"wav s16 16k channels-kept"`, `"source native-rate mono-downmix"` (without the
        codec, for models that take arrays: `"16k mono-downmix"`)."""
        rate = "native-rate" if self.sample_rate is None else _khz(self.sample_rate)
        text = f"{rate} {self.channel_label()}"
        if not codec:
            return text
        name = f"wav {self.sample_format}" if self.codec == "wav" else self.codec
        return f"{name} {text}"


@dataclass(frozen=True)
class ProbedLayout:
    """The audio channels of a file: how many, and how they are to be read."""

    channels: int
    layout: ChannelLayout


@dataclass(frozen=True)
class PreparedAudio:
    """Decoded audio after channel handling; `source` is the file's probed layout."""

    clip: AudioClip
    source: ProbedLayout
    layout: ChannelLayout


@dataclass(frozen=True)
class AudioPayload:
    """Bytes for the wire: `format` (`wav`, `mp3`, `flac`, ...), `mime`, the layout they hold."""

    data: bytes
    format: str
    mime: str
    layout: ChannelLayout
    channels: int


def layout_for(channels: int) -> ChannelLayout:
    if channels <= 1:
        return ChannelLayout.MONO
    return ChannelLayout.STEREO if channels == 2 else ChannelLayout.MULTICHANNEL


def probe_layout(
    path: str | os.PathLike[str], declared: ChannelLayout | None = None
) -> ProbedLayout:
    """The file's audio channel count, with `declared` (e.g. binaural) checked against it.

    Raises `MediaError` when the file has no audio, or holds a channel count the declared
    layout cannot have (mono: 1, stereo / binaural: 2, multichannel: 3 or more). The count is
    memoised per process by (path, size, mtime), as file digests are: opening a file with
    FFmpeg costs ~2 to 30 ms."""
    return checked_layout(_channel_count(Path(path)), declared, path)


def checked_layout(
    count: int, declared: ChannelLayout | None, path: str | os.PathLike[str]
) -> ProbedLayout:
    """`ProbedLayout` of a signal with `count` channels, checked against a declared layout."""
    if declared is None:
        return ProbedLayout(count, layout_for(count))
    fits = {
        ChannelLayout.MONO: count == 1,
        ChannelLayout.STEREO: count == 2,
        ChannelLayout.BINAURAL: count == 2,
        ChannelLayout.MULTICHANNEL: count > 2,
    }[declared]
    if not fits:
        raise MediaError(
            path,
            "channels",
            f"the part declares a {declared.value} layout but the audio has {count} channel(s)",
        )
    return ProbedLayout(count, declared)


_COUNTS: dict[tuple[str, int, int], tuple[int, bool, int]] = {}
_COUNTS_LOCK = threading.Lock()


def _stream_facts(path: Path) -> tuple[int, bool, int]:
    """(audio channels, has video, audio sample rate) of a file, memoised by (path, size,
    mtime); `MediaError` when it has no audio stream."""
    try:
        stat = path.stat()
    except OSError:
        stat = None
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns) if stat else None
    if memo is not None:
        with _COUNTS_LOCK:
            hit = _COUNTS.get(memo)
        if hit is not None:
            return hit
    info = probe(path)
    if info.audio is None:
        raise MediaError(path, "no_audio", "the file has no audio stream")
    facts = (int(info.audio.channels), info.video is not None, int(info.audio.sample_rate))
    if memo is not None:
        with _COUNTS_LOCK:
            if len(_COUNTS) > 100_000:
                _COUNTS.clear()
            _COUNTS[memo] = facts
    return facts


def _channel_count(path: Path) -> int:
    return _stream_facts(path)[0]


def _index(choice: int | str, channels: int, path: str | os.PathLike[str], who: str) -> int:
    index = {"left": 0, "right": 1}.get(choice, choice) if isinstance(choice, str) else choice
    assert isinstance(index, int)
    if index >= channels:
        raise MediaError(
            path,
            "channels",
            f"{who} asks for channel {choice!r} but the audio has {channels} channel(s)",
        )
    return index


def select_channels(
    samples: np.ndarray,
    policy_channels: ChannelChoice,
    part_channel: int | str | None,
    path: str | os.PathLike[str],
) -> np.ndarray:
    """`samples` [channels, n] after the part's channel selection, then the policy's.

    `left` / `right` of a mono signal is that signal (both ears hear it); an index must exist."""
    out = samples
    if part_channel is not None and not (out.shape[0] == 1 and part_channel in ("left", "right")):
        i = _index(part_channel, out.shape[0], path, "the audio part")
        out = out[i : i + 1]
    if policy_channels == "keep":
        return out
    if policy_channels == "downmix":
        return out.mean(axis=0, keepdims=True) if out.shape[0] > 1 else out
    if out.shape[0] == 1 and policy_channels in ("left", "right"):
        return out
    i = _index(policy_channels, out.shape[0], path, "the model's audio policy")
    return out[i : i + 1]


def prepare_audio(
    path: str | os.PathLike[str],
    policy: AudioPolicy,
    *,
    window: TimeWindow | None = None,
    layout: ChannelLayout | None = None,
    channel: int | str | None = None,
    cache: MediaCache | None = None,
) -> PreparedAudio:
    """Decode (through the cache), resample and apply the channel handling. The source layout
    is the decoded signal's channel count (checked against `layout` when one is declared)."""
    spec = AudioSpec(sample_rate=policy.sample_rate, mono=False, window=window)
    clip = load_audio(path, spec, cache=cache)
    source = checked_layout(clip.channels, layout, path)
    samples = select_channels(clip.samples, policy.channels, channel, path)
    if samples is not clip.samples:
        clip = AudioClip(np.ascontiguousarray(samples), clip.sample_rate, clip.start_s)
    # a binaural file whose channels are kept stays binaural
    same = clip.channels == source.channels
    out_layout = source.layout if same else layout_for(clip.channels)
    return PreparedAudio(clip=clip, source=source, layout=out_layout)


def _unchanged(
    path: Path,
    policy: AudioPolicy,
    window: TimeWindow | None,
    layout: ChannelLayout | None,
    channel: int | str | None,
) -> ProbedLayout | None:
    """The file's layout when its own bytes already are what `policy` asks for, else None."""
    if window is not None and (window.start > 0 or window.end is not None):
        return None
    if path.suffix.lower() not in SOURCE_AUDIO_MIME:
        return None
    count, has_video, rate = _stream_facts(path)
    if has_video:
        return None
    source = checked_layout(count, layout, path)
    if policy.sample_rate is not None and policy.sample_rate != rate:
        return None
    one = source.channels == 1
    if channel is not None and not (one and channel in ("left", "right")):
        return None
    if policy.channels == "keep" or (one and policy.channels in ("downmix", "left", "right")):
        return source
    return None


def audio_payload(
    path: str | os.PathLike[str],
    policy: AudioPolicy,
    *,
    window: TimeWindow | None = None,
    layout: ChannelLayout | None = None,
    channel: int | str | None = None,
    cache: MediaCache | None = None,
) -> AudioPayload:
    """The bytes a model gets for one audio part (or a video's audio track)."""
    p = Path(path)
    if policy.codec == "source":
        kept = _unchanged(p, policy, window, layout, channel)
        if kept is not None:
            data = p.read_bytes()
            fmt = p.suffix.lower().lstrip(".")
            return AudioPayload(
                data, fmt, SOURCE_AUDIO_MIME[p.suffix.lower()], kept.layout, kept.channels
            )
    prepared = prepare_audio(p, policy, window=window, layout=layout, channel=channel, cache=cache)
    clip = prepared.clip
    if policy.codec == "mp3":
        if clip.channels > 2:
            raise MediaError(
                p,
                "channels",
                f"mp3 holds at most 2 channels, the prepared audio has {clip.channels}",
                hint="send wav, or set the model's audio channels to downmix or one channel",
            )
        data = encode_mp3(clip, p)
        return AudioPayload(data, "mp3", "audio/mp3", prepared.layout, clip.channels)
    data = encode_wav(clip, policy.sample_format)
    return AudioPayload(data, "wav", "audio/wav", prepared.layout, clip.channels)


def video_copy(
    path: str | os.PathLike[str],
    *,
    keep_audio: bool,
    container: Literal["same", "mp4"] = "same",
    cache: MediaCache | None = None,
) -> Path:
    """A copy of `path` with its first video stream (and, with `keep_audio`, its first audio
    stream) remuxed into `container` (`same`: the source's, mkv for unknown ones), packets
    copied and nothing re-encoded; written once into the media cache directory under the
    source's content digest."""
    source_path = Path(path)
    cache = cache if cache is not None else MediaCache()
    suffix = ".mp4" if container == "mp4" else source_path.suffix.lower()
    if suffix not in _MUXER:
        suffix = ".mkv"
    key = hashlib.sha256(
        f"remux:{_REMUX_VERSION}:{int(keep_audio)}:{suffix}:{file_digest(source_path)}".encode()
    ).hexdigest()
    target = cache.directory / key[:2] / f"{key}{suffix}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        with (
            translate_av_errors(source_path, "remuxing the video"),
            av.open(str(source_path)) as source,
            av.open(tmp, "w", format=_MUXER[suffix]) as sink,
        ):
            if not source.streams.video:
                raise MediaError(source_path, "no_video", "the file has no video stream")
            chosen: list[av.stream.Stream] = list(source.streams.video[:1])
            if keep_audio:
                chosen += list(source.streams.audio[:1])
            mapping = {s.index: sink.add_stream_from_template(s) for s in chosen}
            for packet in source.demux(chosen):
                if packet.dts is None:  # the demuxer's end-of-stream flush packet
                    continue
                packet.stream = mapping[packet.stream.index]
                sink.mux(packet)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _khz(rate: int) -> str:
    return f"{rate / 1000:g}k"


__all__ = [
    "SOURCE_AUDIO_MIME",
    "AudioPayload",
    "AudioPolicy",
    "ChannelChoice",
    "PreparedAudio",
    "ProbedLayout",
    "audio_payload",
    "checked_layout",
    "layout_for",
    "prepare_audio",
    "probe_layout",
    "select_channels",
    "video_copy",
]
