"""What a benchmark gives the runner: tasks that load samples, build requests, extract and score.

A task sees each finished trial through its `TrialContext`: the condition, the replicate, the
sample as that trial saw it (rotated options, permuted clips: its per-trial target) and the
request that was sent. Benchmarks declare their aggregation tree and their gates; the runner and
the scoring layer do the rest.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from omnieval.scoring.tree import CorpusMetric, Formula, Gate, JointMetric, Node
from omnieval.types import (
    AudioPart,
    BoxesTarget,
    ChoiceTarget,
    DictTarget,
    Extraction,
    MetricKind,
    MetricSpec,
    NumberTarget,
    OrderingTarget,
    Replicate,
    Request,
    Response,
    Sample,
    Score,
    TextTarget,
    TrialContext,
)

if TYPE_CHECKING:
    from omnieval.config import ReplicateSpec
    from omnieval.scoring.judging import JudgeClient

ACCURACY = MetricSpec(name="accuracy", kind=MetricKind.BINARY, low=0.0, high=1.0)


class DatasetError(ValueError):
    """A dataset file is malformed; the message names the file and the offending sample."""


def choice_target(sample: Sample) -> ChoiceTarget:
    """The sample's target, which a choice task's samples all have."""
    assert isinstance(sample.target, ChoiceTarget)
    return sample.target


class Task(abc.ABC):
    """Samples sharing one prompt / extraction / metric recipe.

    A task never imports the runner. `fingerprint()` must change whenever a setting that can
    change a request changes: it is part of every trial key. Settings that only change
    extraction or scoring belong in `scoring_fingerprint()`, so a re-score finds the journaled
    responses under the same keys (and a resumed run re-scores when they change).
    """

    name: str
    version: str = "1"
    #: the task's own conditions (reported columns); generic ablations are added by the runner
    conditions: tuple[str, ...] = ("default",)
    default_conditions: tuple[str, ...] = ("default",)
    #: metrics reported for this task; the first one is the headline
    metrics: tuple[MetricSpec, ...] = (ACCURACY,)
    #: what a model must produce for this task; others get the `unsupported` outcome
    output_kind: Literal["text", "masks", "video"] = "text"
    #: run extraction and scoring in a worker thread (mask metrics, video verifiers)
    heavy_scoring: bool = False
    #: `build_request` reads or writes media files (cuts a clip): the runner builds this task's
    #: requests in a worker thread, never on the event loop
    builds_media: bool = False
    #: corpus-level metrics computed over a whole group's items (R@k, count scores)
    corpus_metrics: tuple[CorpusMetric, ...] = ()
    #: the replicate scheme used when the run config gives none (`replicates: {scheme: none}`
    #: in the config turns it off); None = no replicates
    default_replicates: ReplicateSpec | None = None

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    @abc.abstractmethod
    def samples(self) -> Sequence[Sample]:
        """Every sample of the task, in a stable order."""

    @abc.abstractmethod
    def build_request(self, sample: Sample, condition: str) -> Request:
        """The request one model sees for `sample` under the task's own `condition`.

        A choice task renders its options from `sample.target` (not from metadata), so that
        option rotation reaches the prompt.
        """

    @abc.abstractmethod
    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        """Parse a response into a structured answer (or a failed extraction)."""

    @abc.abstractmethod
    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        """Per-trial metric values against `ctx.target` (the per-trial target)."""

    async def evaluate(
        self, ctx: TrialContext, response: Response, judges: JudgeClient
    ) -> tuple[Extraction, Score]:
        """Extraction and score of one answered trial.

        Override to call a judge or a refine model (`await judges.ask(...)`): those calls are
        trials themselves, journaled and resumed. The default uses the rules only.
        """
        extraction = self.extract(ctx, response)
        return extraction, self.score(ctx, extraction)

    def groups(self, sample: Sample) -> list[str]:
        """Extra aggregation groups a sample belongs to (e.g. its category)."""
        return [sample.category] if sample.category else []

    def fingerprint(self) -> dict[str, Any]:
        return {"task": self.name, "version": self.version}

    def scoring_fingerprint(self) -> dict[str, Any]:
        return {}

    def check_conditions(self, conditions: Sequence[str]) -> None:
        unknown = [c for c in conditions if c not in self.conditions]
        if unknown:
            raise ValueError(
                f"task {self.name} has no condition(s) {unknown}; it offers "
                f"{list(self.conditions)} (plus the generic ablations)"
            )

    # ------------------------------------------------------------------ replicate support

    def replicate_set(self, scheme: str, k: int | str, sample: Sample) -> list[Replicate] | None:
        """The task's own replicate set of `sample` under `scheme` with `k` (for a benchmark
        whose circular evaluation differs from the generic one), or None for the generic set.
        Each replicate's `params` must say what `apply_replicate` does (`shift`, `order`)."""
        return None

    def permute(self, sample: Sample, order: Sequence[int]) -> Sample:
        """The sample with its clips (audio parts, in order) re-ordered: clip i of the result is
        clip `order[i]` of the original. An ordering target is remapped; a task whose answer
        depends on clip order in another way overrides this."""
        clips = [i for i, part in enumerate(sample.parts) if isinstance(part, AudioPart)]
        if len(order) != len(clips):
            raise ValueError(
                f"sample {sample.id}: permutation {list(order)} does not fit its {len(clips)} clips"
            )
        parts = list(sample.parts)
        for slot, source in zip(clips, order, strict=True):
            parts[slot] = sample.parts[clips[source]]
        update: dict[str, Any] = {"parts": tuple(parts)}
        target = sample.target
        if isinstance(target, OrderingTarget):
            position = {original: new for new, original in enumerate(order)}
            labels = list(target.order)
            update["target"] = target.model_copy(
                update={"order": tuple(labels[position[i]] for i in range(len(labels)))}
            )
        return sample.model_copy(update=update)

    def reference_answer(self, ctx: TrialContext) -> str:
        """The answer text that must score full marks (what the `oracle` model says)."""
        target = ctx.target
        if isinstance(target, ChoiceTarget):
            return target.answer
        if isinstance(target, TextTarget):
            return target.references[0] if target.references else ""
        if isinstance(target, NumberTarget):
            return f"{target.value:g}"
        if isinstance(target, OrderingTarget):
            return ", ".join(target.order)
        if isinstance(target, DictTarget):
            return json.dumps(target.value)
        if isinstance(target, BoxesTarget):
            return json.dumps([[b.x0, b.y0, b.x1, b.y1] for b in target.boxes])
        return ""


class Benchmark(abc.ABC):
    """A family of tasks with one on-disk format, built from config arguments."""

    name: str

    @abc.abstractmethod
    def tasks(self) -> list[Task]:
        """The tasks of this benchmark (all of them; the runner filters by name)."""

    def tree(self) -> list[Node | Formula]:
        """Aggregation nodes and formulas above the tasks (category -> stage -> overall),
        bottom-up."""
        return []

    def gates(self) -> list[Gate]:
        """Gates: one sample's outcome zeroes or voids another's (pre-question -> question)."""
        return []

    @classmethod
    def report_files(cls, results: Any) -> dict[str, str]:
        """Extra files (name -> text) a run writes into its directory for this benchmark, made
        from the run's results (`omnieval.report.results.RunResults`); none by default."""
        return {}
    def joint_metrics(self) -> list[JointMetric]:
        """Metrics joining the records of several of its tasks per model and condition."""
        return []
