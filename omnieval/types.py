"""The typed core: every object that crosses a layer boundary or lands on disk.

Samples hold ordered input *parts* and a *target*; a *variant* transforms a sample into the
*request* one model sees; the model answers with a *response*; an *extraction* is the structured
answer parsed from it (with provenance); a *score* holds the per-trial metric values; a *result*
is an aggregate with its uncertainty.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    """Base for immutable value objects."""

    model_config = ConfigDict(frozen=True, extra="forbid")


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


# --------------------------------------------------------------------------- targets


class ChoiceTarget(Frozen):
    """A multiple-choice answer: `answer` is the correct letter, `options` the option texts."""

    kind: Literal["choice"] = "choice"
    answer: str
    options: tuple[str, ...]
    letters: tuple[str, ...] = ()

    def option_letters(self) -> tuple[str, ...]:
        return self.letters or tuple(chr(ord("A") + i) for i in range(len(self.options)))


class TextTarget(Frozen):
    kind: Literal["text"] = "text"
    references: tuple[str, ...]


class NumberTarget(Frozen):
    kind: Literal["number"] = "number"
    value: float
    tolerance: float = 0.0


class DictTarget(Frozen):
    kind: Literal["dict"] = "dict"
    value: dict[str, Any]


class Box(Frozen):
    """An axis-aligned box in pixels (or seconds, for a temporal span with y0 = y1 = 0)."""

    x0: float
    y0: float
    x1: float
    y1: float
    label: str | None = None


class BoxesTarget(Frozen):
    kind: Literal["boxes"] = "boxes"
    boxes: tuple[Box, ...]


class MasksTarget(Frozen):
    """Per-frame segmentation masks, stored as files (PNG) or run-length strings."""

    kind: Literal["masks"] = "masks"
    paths: tuple[Path, ...] = ()
    rle: tuple[str, ...] = ()


class OrderingTarget(Frozen):
    kind: Literal["ordering"] = "ordering"
    order: tuple[str, ...]


class VideoTarget(Frozen):
    kind: Literal["video"] = "video"
    final_frame: Path | None = None
    reference_video: Path | None = None


Target = Annotated[
    ChoiceTarget
    | TextTarget
    | NumberTarget
    | DictTarget
    | BoxesTarget
    | MasksTarget
    | OrderingTarget
    | VideoTarget,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- samples


class Sample(Frozen):
    """One benchmark item: ordered input parts, a target, and free metadata."""

    id: str
    task: str
    parts: tuple[Part, ...]
    target: Target
    category: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def media_paths(self) -> list[Path]:
        """Every media file this sample reads, in part order, without duplicates."""
        seen: dict[Path, None] = {}
        for part in self.parts:
            path = getattr(part, "path", None)
            if path is not None:
                seen.setdefault(Path(path), None)
        return list(seen)


class Variant(Frozen):
    """A deterministic transform of a sample, named so it can appear in keys and reports."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class GenerationParams(Frozen):
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = None


class Request(Frozen):
    """What one model is asked: ordered parts plus generation parameters."""

    parts: tuple[Part, ...]
    system: str | None = None
    generation: GenerationParams = Field(default_factory=GenerationParams)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def modalities(self) -> set[Modality]:
        found: set[Modality] = set()
        for part in self.parts:
            found.add(part_modality(part))
            if isinstance(part, VideoPart) and part.with_audio:
                found.add(Modality.AUDIO)
        return found

    def text(self) -> str:
        return "\n\n".join(p.text for p in self.parts if isinstance(p, TextPart))

    def media_names(self) -> list[str]:
        """File names of the media parts, in order (paths differ between machines; names don't)."""
        return [
            p.path.name
            for p in self.parts
            if isinstance(p, AudioPart | VideoPart | ImagePart) and p.path is not None
        ]


class Usage(Frozen):
    input_tokens: int | None = None
    output_tokens: int | None = None


class TrialStatus(str, enum.Enum):
    OK = "ok"
    FAILED = "failed"


class Response(Frozen):
    """A model's raw answer to one request, or the error that stopped it."""

    status: TrialStatus = TrialStatus.OK
    text: str | None = None
    output_path: Path | None = None
    error: str | None = None
    latency_s: float = 0.0
    attempts: int = 1
    usage: Usage | None = None
    finish_reason: str | None = None

    @property
    def failed(self) -> bool:
        return self.status is TrialStatus.FAILED


class Extraction(Frozen):
    """The structured answer parsed from a response and where it came from."""

    value: Any = None
    rule: str
    ok: bool = True
    detail: str | None = None


class Score(Frozen):
    """Per-trial metric values (accuracy is 0 or 1; other metrics may be continuous)."""

    values: dict[str, float]


class Trial(Frozen):
    """(model, task, sample, variant): the unit that is scheduled, journaled and resumed."""

    key: str
    model: str
    task: str
    sample_id: str
    variant: str


class TrialRecord(Frozen):
    """Everything known about one finished trial, as journaled and exported."""

    trial: Trial
    response: Response
    extraction: Extraction | None = None
    score: Score | None = None
    groups: tuple[str, ...] = ()


class MetricValue(Frozen):
    """An aggregate metric with its uncertainty (a 95% interval unless said otherwise)."""

    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    stderr: float | None = None


class GroupResult(Frozen):
    """Aggregated metrics for one (model, variant, task or category) group."""

    model: str
    variant: str
    task: str
    group: str
    metrics: dict[str, MetricValue]
    trials: int
    failed: int
    extraction_failed: int

    @property
    def failed_rate(self) -> float:
        return self.failed / self.trials if self.trials else 0.0
