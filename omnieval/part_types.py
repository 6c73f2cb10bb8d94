"""The inputs of a sample: its modalities and parts (text, image, audio, video), with the time
window and channel layout a part may carry. Re-exported by `omnieval.types`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from omnieval.frozen import Frozen


class Modality(str, enum.Enum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"


class ChannelLayout(str, enum.Enum):
    """How an audio signal's channels are to be read (`MULTICHANNEL`: three or more)."""

    MONO = "mono"
    STEREO = "stereo"
    BINAURAL = "binaural"
    MULTICHANNEL = "multichannel"


class TimeWindow(Frozen):
    """A [start, end) span of a media file, in seconds; `end=None` means to the end."""

    start: float = 0.0
    end: float | None = None


# --------------------------------------------------------------------------- parts


class TextPart(Frozen):
    kind: Literal["text"] = "text"
    text: str


class ImagePart(Frozen):
    kind: Literal["image"] = "image"
    path: Path | None = None
    data: bytes | None = None
    mime: str = "image/png"


class AudioPart(Frozen):
    """Audio from a file; the file may be a video, in which case its audio track is meant.

    `layout` None: probed from the file (1 channel mono, 2 stereo, more multichannel); a given
    layout must agree with the file's channel count. `channel` takes one channel of the file
    only ("left" = 0, "right" = 1, or an index)."""

    kind: Literal["audio"] = "audio"
    path: Path
    window: TimeWindow | None = None
    layout: ChannelLayout | None = None
    channel: Annotated[int, Field(ge=0)] | Literal["left", "right"] | None = None


class VideoPart(Frozen):
    """A video file; `with_audio` says whether its audio track is part of the input."""

    kind: Literal["video"] = "video"
    path: Path
    window: TimeWindow | None = None
    with_audio: bool = True


Part = Annotated[TextPart | ImagePart | AudioPart | VideoPart, Field(discriminator="kind")]


def part_modality(part: Part) -> Modality:
    return Modality(part.kind)
