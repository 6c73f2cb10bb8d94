"""The typed core: every object that crosses a layer boundary or lands on disk.

Samples hold ordered input *parts* and a *target*. A trial asks one model about one sample under
one *condition* (a reported transform such as a modality ablation) and one *replicate* (a pooled
transform such as option rotation k); the model answers with a *response*; an *extraction* is the
structured answer parsed from it (with provenance); a *score* holds the per-trial metric values;
a *result* is an aggregate with its uncertainty.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from omnieval.frozen import Frozen, variant_as_condition
from omnieval.metric_types import GroupResult as GroupResult  # re-exported: one vocabulary
from omnieval.metric_types import MetricKind as MetricKind
from omnieval.metric_types import MetricSpec as MetricSpec
from omnieval.metric_types import MetricValue as MetricValue
from omnieval.metric_types import NodeResult as NodeResult
from omnieval.part_types import AudioPart as AudioPart
from omnieval.part_types import ChannelLayout as ChannelLayout
from omnieval.part_types import ImagePart as ImagePart
from omnieval.part_types import Modality as Modality
from omnieval.part_types import Part as Part
from omnieval.part_types import TextPart as TextPart
from omnieval.part_types import TimeWindow as TimeWindow
from omnieval.part_types import VideoPart as VideoPart
from omnieval.part_types import part_modality as part_modality
from omnieval.target_types import Box as Box
from omnieval.target_types import BoxesTarget as BoxesTarget
from omnieval.target_types import ChoiceTarget as ChoiceTarget
from omnieval.target_types import DictTarget as DictTarget
from omnieval.target_types import MasksTarget as MasksTarget
from omnieval.target_types import NumberTarget as NumberTarget
from omnieval.target_types import OrderingTarget as OrderingTarget
from omnieval.target_types import Target as Target
from omnieval.target_types import TextTarget as TextTarget
from omnieval.target_types import VideoTarget as VideoTarget

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


class Replicate(Frozen):
    """One pooled copy of an item: rotation k, permutation k or repeat k.

    Replicates of one item are reduced to one item score (mean = AA, all-correct = ACR). The
    label enters the trial key; `params` say exactly what was done (the shift, the order).
    """

    scheme: Literal["none", "rotation", "permutation", "repeat"] = "none"
    index: int = 0
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        """`""` for the single unreplicated copy, else e.g. `rotation1`, `permutation2`."""
        return "" if self.scheme == "none" else f"{self.scheme}{self.index}"


NO_REPLICATE = Replicate()


class GenerationParams(Frozen):
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = None
    #: provider-specific settings that can change outputs (duration, fps, resolution ...)
    extra: dict[str, Any] = Field(default_factory=dict)

    def key_dump(self) -> dict[str, Any]:
        """What enters trial keys (an empty `extra` is left out, so older keys stay valid)."""
        dumped = self.model_dump(mode="json")
        if not self.extra:
            dumped.pop("extra")
        return dumped

    def __hash__(self) -> int:  # `extra` is a dict: hash its canonical JSON instead
        return hash(self.model_dump_json())


class AnswerSpace(Frozen):
    """The answers a task accepts, put in its requests so baselines work whatever the wording.

    `choice`: labels (letters) and the option texts they stand for. `structured`: a few
    candidate answers written in the task's answer format (a count dict, a box, an index list,
    a caption), which `random` picks among and `constant` takes the first of; not an exhaustive
    space, so no chance level is derived from it.
    """

    kind: Literal["choice", "structured"] = "choice"
    labels: tuple[str, ...]
    options: tuple[str, ...] = ()


class Request(Frozen):
    """What one model is asked: ordered parts plus generation parameters.

    `answer_space` is set for choice tasks and for tasks that offer structured candidates.
    `target` and `reference_answer` are only ever filled for models that declare
    `reads_target` (the `oracle` plumbing check); providers never send them anywhere.
    """

    parts: tuple[Part, ...]
    system: str | None = None
    generation: GenerationParams = Field(default_factory=GenerationParams)
    metadata: dict[str, Any] = Field(default_factory=dict)
    answer_space: AnswerSpace | None = None
    target: Target | None = None
    reference_answer: str | None = None

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
    #: the model cannot produce what the task needs (a text model on a mask task)
    UNSUPPORTED = "unsupported"


class Artifact(Frozen):
    """A file a model produced (a mask, a video, an image, audio).

    In flight, a model sets `name` plus `data` (bytes) or `source` (a file it wrote). The runner
    stores it under `artifacts/<trial key>/<name>` in the run directory, atomically, and keeps
    only the reference: `path` (relative to the run directory), `sha256` and `size`.
    """

    name: str
    kind: Literal["mask", "video", "image", "audio", "file"] = "file"
    mime: str = "application/octet-stream"
    data: bytes | None = Field(default=None, exclude=True)
    source: Path | None = Field(default=None, exclude=True)
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def stored(self) -> bool:
        return self.path is not None and self.sha256 is not None


class Response(Frozen):
    """A model's raw answer to one request, or the error that stopped it."""

    status: TrialStatus = TrialStatus.OK
    text: str | None = None
    output_path: Path | None = None
    artifacts: tuple[Artifact, ...] = ()
    error: str | None = None
    latency_s: float = 0.0
    attempts: int = 1
    usage: Usage | None = None
    finish_reason: str | None = None
    #: what the provider's transport actually sent for the request's media (frame timestamps,
    #: the transcript text, native audio/video forms, dropped parts); journaled with the
    #: compact request, shown in samples.jsonl as `request.rendering` (docs/transport.md)
    rendering: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        return self.status is TrialStatus.FAILED

    @property
    def unsupported(self) -> bool:
        return self.status is TrialStatus.UNSUPPORTED


class Extraction(Frozen):
    """The structured answer parsed from a response and where it came from."""

    value: Any = None
    rule: str
    ok: bool = True
    detail: str | None = None


class Score(Frozen):
    """Per-trial metric values (accuracy is 0 or 1; other metrics may be continuous).

    Numpy numbers are stored as plain floats. A value that is NaN or infinite is not a score: it
    is dropped from `values` and named in `error`, which makes the trial a *scoring error*
    (counted, and kept in the denominator as 0).
    """

    values: dict[str, float]
    error: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _finite_floats(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
            return data
        values = data["values"].values()
        if all(type(v) is float and math.isfinite(v) for v in values):
            return data  # the common case, kept cheap: 100,000 scores are read per rescore
        clean: dict[str, float] = {}
        bad: list[str] = []
        for name, raw in data["values"].items():
            try:
                value = float(raw)
            except (TypeError, ValueError):
                bad.append(f"{name}={raw!r}")
                continue
            if math.isfinite(value):
                clean[str(name)] = value
            else:
                bad.append(f"{name}={value}")
        if not bad:
            return {**data, "values": clean}
        error = "metric value(s) not finite or not numbers: " + ", ".join(bad)
        previous = data.get("error")
        return {**data, "values": clean, "error": f"{previous}; {error}" if previous else error}


class Trial(Frozen):
    """(model, task, sample, condition, replicate): the unit scheduled, journaled and resumed."""

    key: str
    model: str
    task: str
    sample_id: str
    condition: str
    replicate: str = ""

    @model_validator(mode="before")
    @classmethod
    def _accept_variant(cls, data: Any) -> Any:  # journals and code written before conditions
        return variant_as_condition(data)

    @property
    def variant(self) -> str:
        """The condition (the name used before conditions and replicates were separate)."""
        return self.condition


@dataclass(frozen=True, eq=False)
class TrialContext:
    """What extraction and scoring see of one trial.

    `sample` is the sample as this trial saw it (its replicate applied: rotated options, permuted
    clips), so `target` is the per-trial target; `original` is the canonical sample. `request` is
    what was sent (None if it could not be rebuilt); on a rescore it is rebuilt only when a task
    reads it. `model` is the model's fingerprint. A plain frozen dataclass, not a pydantic model:
    it never lands on disk, and a rescore builds one per journaled trial.
    """

    trial: Trial
    sample: Sample
    original: Sample
    replicate: Replicate = NO_REPLICATE
    model: dict[str, Any] = field(default_factory=dict)
    _request: Request | None = field(default=None, repr=False)
    _build_request: Callable[[], Request | None] | None = field(default=None, repr=False)
    #: the run directory, so scoring can open stored artifacts (`run_dir / artifact.path`)
    run_dir: Path | None = None

    @classmethod
    def create(
        cls,
        trial: Trial,
        sample: Sample,
        original: Sample | None = None,
        replicate: Replicate = NO_REPLICATE,
        model: dict[str, Any] | None = None,
        request: Request | None = None,
        build_request: Callable[[], Request | None] | None = None,
        run_dir: Path | None = None,
    ) -> TrialContext:
        """A context with the request given, or built on first use by `build_request`."""
        return cls(
            trial,
            sample,
            original if original is not None else sample,
            replicate,
            model or {},
            request,
            build_request if request is None else None,
            run_dir,
        )

    @property
    def request(self) -> Request | None:
        if self._request is None and self._build_request is not None:
            build = self._build_request
            object.__setattr__(self, "_build_request", None)
            object.__setattr__(self, "_request", build())
        return self._request

    @property
    def target(self) -> Target:
        return self.sample.target

    @property
    def condition(self) -> str:
        return self.trial.condition


class Outcome(str, enum.Enum):
    """How a journaled trial counts in aggregation."""

    SCORED = "scored"
    FAILED = "failed"  # no response after retries: excluded from metrics, counted
    UNSUPPORTED = "unsupported"  # the model cannot produce the output: reported apart
    SCORING_ERROR = "scoring_error"  # answered, but scoring raised: counted, scored 0


class TrialRecord(Frozen):
    """Everything known about one finished trial, as journaled and exported."""

    trial: Trial
    response: Response
    extraction: Extraction | None = None
    score: Score | None = None
    groups: tuple[str, ...] = ()
    replicate_params: dict[str, Any] = Field(default_factory=dict)
    #: the compact request as sent (prompt, media names and windows, transport rendering)
    request: dict[str, Any] | None = None

    @property
    def outcome(self) -> Outcome:
        if self.response.unsupported:
            return Outcome.UNSUPPORTED
        if self.response.failed:
            return Outcome.FAILED
        if self.score is None or self.score.error is not None:
            return Outcome.SCORING_ERROR
        return Outcome.SCORED
