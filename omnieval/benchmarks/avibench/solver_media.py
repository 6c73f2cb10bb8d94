"""What `avibench-solver` reads from a request: its audio tracks (mono), pictures and one
clip's frames, through the media layer; and the answer a rule gives when what it needs is
missing."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from omnieval.media import AudioSpec, FrameSpec, MediaError, load_audio, sample_frames
from omnieval.models.base import PermanentModelError
from omnieval.types import AudioPart, ImagePart, Request, VideoPart

NOT_SURE = "not sure"


@dataclass
class Media:
    """The request's signals: audio tracks (mono, in order), pictures, one clip's frames."""

    rate: int = 16000
    audios: list[np.ndarray] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    frames: np.ndarray | None = None

    @property
    def audio(self) -> np.ndarray | None:
        return self.audios[0] if self.audios else None

    @property
    def picture(self) -> np.ndarray | None:
        """The single picture: the image, else the clip's first frame."""
        if self.images:
            return self.images[0]
        return None if self.frames is None else self.frames[0]



def read_media(request: Request) -> Media:
    media = Media()
    for part in request.parts:
        try:
            if isinstance(part, AudioPart):
                clip = load_audio(part.path, AudioSpec(sample_rate=media.rate, window=part.window))
                media.audios.append(np.asarray(clip.samples[0], dtype=np.float64))
            elif isinstance(part, ImagePart):
                media.images.append(_read_image(part))
            elif isinstance(part, VideoPart):
                media.frames = sample_frames(part.path, FrameSpec(window=part.window)).images
                if part.with_audio and not any(isinstance(p, AudioPart) for p in request.parts):
                    clip = load_audio(part.path, AudioSpec(sample_rate=media.rate))
                    media.audios.append(np.asarray(clip.samples[0], dtype=np.float64))
        except MediaError as err:
            raise PermanentModelError(f"avibench-solver: {err}") from None
    return media


def _read_image(part: ImagePart) -> np.ndarray:
    source: Path | io.BytesIO
    if part.path is not None:
        source = part.path
    elif part.data is not None:
        source = io.BytesIO(part.data)
    else:
        raise PermanentModelError("avibench-solver: an image part with neither path nor data")
    with av.open(source, mode="r") as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="rgb24"))

