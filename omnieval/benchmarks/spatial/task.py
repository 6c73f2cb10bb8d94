"""The spatial benchmark as omnieval tasks: three QA tasks and three mask tasks, one per task
suffix, and upstream's aggregation (per category a QA accuracy and a mask J&F; the Overall is the
unweighted mean of those category-level numbers present).

A model that does not produce masks is `unsupported` on the mask tasks (the runner records it
without calling the model); the Overall node then lists the mask tasks as missing and its
coverage (category x kind, declared in the tree) says which categories and kinds the model
covers, instead of averaging in zeros.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, Task, choice_target
from omnieval.benchmarks.spatial.averaging import Averaging, per_object_metric
from omnieval.benchmarks.spatial.jf import BAND_THRESHOLD, VARIANTS, Variant
from omnieval.benchmarks.spatial.layout import (
    CATEGORY_OF,
    QA_SUFFIXES,
    SUFFIXES,
    Alignment,
    TaskType,
    is_mask,
    task_name,
)
from omnieval.benchmarks.spatial.loader import load_samples
from omnieval.benchmarks.spatial.masks import (
    artifact_reader,
    artifact_refs,
    from_refs,
    object_masks,
    read_masks,
)
from omnieval.benchmarks.spatial.prompts import mask_request, qa_request
from omnieval.benchmarks.spatial.scoring import (
    FIRST_TOKEN_VERSION,
    UPSTREAM_BLANK_SHAPE,
    LeadingBlank,
    MissingFrames,
    QaScoring,
    first_token,
    ground_truth,
    sequence_scores,
)
from omnieval.benchmarks.spatial.upstream_means import ParityTask, upstream_mean_metrics
from omnieval.scoring.extract import CHOICE_RULES_VERSION
from omnieval.scoring.extractors import extract_choice
from omnieval.scoring.metrics import accuracy
from omnieval.scoring.tree import Coverage, Formula, JointMetric, Node
from omnieval.types import (
    Artifact,
    Extraction,
    MasksTarget,
    MetricKind,
    MetricSpec,
    Request,
    Response,
    Sample,
    Score,
    TrialContext,
)


def _bounded(name: str, description: str) -> MetricSpec:
    return MetricSpec(
        name=name, kind=MetricKind.BOUNDED, low=0.0, high=1.0, description=description
    )


if TYPE_CHECKING:
    from omnieval.scoring.judging import JudgeClient

MASK_METRICS = (
    _bounded("J&F", "(mean J + mean F) / 2 over the frames shown; averaged per expression"),
    _bounded("J", "region similarity (IoU, both empty = 1), mean over the frames"),
    _bounded("F", "boundary F-measure (the `jf` variant), mean over the frames"),
    _bounded("J-recall", "share of frames with J > 0.5"),
    _bounded("F-recall", "share of frames with F > 0.5"),
    MetricSpec(name="J-decay", kind=MetricKind.CONTINUOUS, description="J first - last quarter"),
    MetricSpec(name="F-decay", kind=MetricKind.CONTINUOUS, description="F first - last quarter"),
)
OVERALL = "spatial:overall"
#: the Overall's coverage: each child labelled with its category and its kind
COVERAGE_AXES = ("category", "kind")
KIND_QA = "QA"
KIND_MASK = "mask"
#: the per-object (DAVIS) mean of a mask task's J&F, reported next to the per-expression one
PER_OBJECT = "J&F/object"
PER_OBJECT_SPEC = MetricSpec(name=PER_OBJECT, kind=MetricKind.BOUNDED, low=0.0, high=1.0)


class SpatialQaTask(Task):
    """The multiple-choice questions of one suffix (`cameraqa`, `qa`, `sceneqa`)."""

    version = "1"

    def __init__(self, suffix: str, samples: list[Sample], scoring: QaScoring = "default") -> None:
        self.name = task_name(suffix)
        self.suffix = suffix
        self._samples = samples
        self.scoring = scoring

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def build_request(self, sample: Sample, condition: str) -> Request:
        self.check_conditions([condition])
        return qa_request(sample)

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        target = choice_target(ctx.sample)
        if self.scoring == "first-token":
            return first_token(response.text)
        return extract_choice(response.text, target.option_letters(), target.options)

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        target = choice_target(ctx.sample)
        if self.scoring == "first-token":
            right = extraction.value == target.answer.strip().upper()
            return Score(values={"accuracy": 1.0 if right else 0.0})
        return Score(values=accuracy(extraction, target))

    def scoring_fingerprint(self) -> dict[str, Any]:
        rules = FIRST_TOKEN_VERSION if self.scoring == "first-token" else CHOICE_RULES_VERSION
        return {"scoring": self.scoring, "rules": rules}


class SpatialMaskTask(Task):
    """The referring-segmentation expressions of one suffix (`cameramask`, `objmask`,
    `scenemask`): the model returns masks (artifacts) for every frame shown."""

    version = "1"
    output_kind = "masks"
    heavy_scoring = True

    def __init__(
        self,
        suffix: str,
        samples: list[Sample],
        variant: Variant = "davis",
        missing_frames: MissingFrames = "empty",
        band_threshold: int = BAND_THRESHOLD,
        averaging: Averaging = "expression",
    ) -> None:
        self.name = task_name(suffix)
        self.suffix = suffix
        self._samples = samples
        self.variant = variant
        self.missing_frames = missing_frames
        self.band_threshold = band_threshold
        self.averaging = averaging
        self.metrics = MASK_METRICS
        self.corpus_metrics = (per_object_metric(PER_OBJECT, "J&F"),)

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def build_request(self, sample: Sample, condition: str) -> Request:
        self.check_conditions([condition])
        return mask_request(sample)

    def predicted(self, ctx: TrialContext, artifacts: Sequence[Artifact]) -> dict[int, Any]:
        """The predicted masks of the expression's object, by sequence position."""
        target = _masks(ctx.sample)
        meta = ctx.sample.metadata
        masks = read_masks(
            artifacts,
            artifact_reader(ctx.run_dir),
            target_names=[p.name for p in target.paths],
            target_frames=list(meta["gt_frames"]),
            target_object=str(meta["object"]),
        )
        return object_masks(masks, str(meta["object"]))

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        """References to the mask artifacts (never the masks: the journal stays small) and the
        frames they cover; the masks are read from the artifacts when scoring."""
        return self._extraction(ctx, response, sorted(self.predicted(ctx, response.artifacts)))

    def _extraction(self, ctx: TrialContext, response: Response, frames: list[int]) -> Extraction:
        refs = artifact_refs(response.artifacts)
        value = {"object": ctx.sample.metadata["object"], "frames": frames, "artifacts": refs}
        detail = None if frames else "no mask artifact for the expression's object"
        return Extraction(value=value, rule="mask-artifacts", ok=bool(frames), detail=detail)

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        """J&F of the masks the extraction refers to (stored artifacts, read again)."""
        refs = (extraction.value or {}).get("artifacts", [])
        return self.score_masks(ctx, self.predicted(ctx, from_refs(refs)))

    def score_masks(self, ctx: TrialContext, predicted: Mapping[int, Any]) -> Score:
        target = _masks(ctx.sample)
        meta = ctx.sample.metadata
        count = len(meta["frames"])
        # upstream's band J&F fills a leading gap with its fixed blank size (it can matter: the
        # prediction is resized to the blank, and nearest downscaling may empty it)
        leading: LeadingBlank = "fallback" if self.variant == "band" else "next"
        truth = ground_truth(
            target.paths, meta["gt_frames"], count, UPSTREAM_BLANK_SHAPE, leading_blank=leading
        )
        values = sequence_scores(
            predicted, truth, self.variant, self.missing_frames, self.band_threshold
        )
        return Score(values=values)

    def evaluate_now(self, ctx: TrialContext, response: Response) -> tuple[Extraction, Score]:
        """Extraction and score with the masks decoded once (stored or in-flight artifacts)."""
        predicted = self.predicted(ctx, response.artifacts)
        return self._extraction(ctx, response, sorted(predicted)), self.score_masks(ctx, predicted)

    async def evaluate(
        self, ctx: TrialContext, response: Response, judges: JudgeClient
    ) -> tuple[Extraction, Score]:
        """Mask scoring runs in a worker thread, off the event loop."""
        return await asyncio.to_thread(self.evaluate_now, ctx, response)

    def reference_answer(self, ctx: TrialContext) -> str:
        return str(ctx.sample.metadata["question"])

    def scoring_fingerprint(self) -> dict[str, Any]:
        return {
            "jf": self.variant,
            "missing_frames": self.missing_frames,
            "band_threshold": self.band_threshold,
            "averaging": self.averaging,
        }


def _only(values: Mapping[str, float]) -> float:
    return next(iter(values.values()))


def _masks(sample: Sample) -> MasksTarget:
    assert isinstance(sample.target, MasksTarget)
    return sample.target


@registry.benchmarks.register("spatial")
class SpatialBenchmark(Benchmark):
    """The spatial QA + mask benchmark from a directory in the release layout.

    Arguments (the `args:` of a benchmark in the run config):
    - `data_dir`: the root holding `frames/`, `masks/` and `multi_json/`;
    - `task_type`: `all` (default), `qa` or `mask`;
    - `max_frames`: subsample each scene uniformly to at most this many frames;
    - `limit`: at most this many items per task;
    - `qa_scoring`: `default` (robust letter extraction) or `first-token` (upstream parity);
    - `jf`: `davis` (default) or `band` (upstream's boundary, `band_threshold` pixels);
    - `missing_frames`: `empty` (default: an unpredicted frame is an empty mask) or `skip`
      (upstream parity: unpredicted frames are not scored);
    - `alignment`: `aligned` (default) or `upstream` (dyn-bench's subsampling bug, parity only);
    - `averaging`: `expression` (default, upstream: every expression counts once) or `object`
      (DAVIS: each object counts once, its expressions averaged first);
    - `allow_outside_paths`: read frames that resolve outside `data_dir` (default: refused).
    """

    name = "spatial"

    def __init__(
        self,
        data_dir: str | Path,
        task_type: TaskType = "all",
        max_frames: int | None = None,
        limit: int | None = None,
        qa_scoring: QaScoring = "default",
        jf: Variant = "davis",
        missing_frames: MissingFrames = "empty",
        band_threshold: int = BAND_THRESHOLD,
        alignment: Alignment = "aligned",
        averaging: Averaging = "expression",
        allow_outside_paths: bool = False,
    ) -> None:
        _check("task_type", task_type, ("all", "qa", "mask"))
        _check("qa_scoring", qa_scoring, ("default", "first-token"))
        _check("jf", jf, VARIANTS)
        _check("missing_frames", missing_frames, ("empty", "skip"))
        _check("alignment", alignment, ("aligned", "upstream"))
        _check("averaging", averaging, ("expression", "object"))
        self.root = Path(data_dir)
        self.task_type: TaskType = task_type
        self.max_frames = max_frames
        self.limit = limit
        self.qa_scoring: QaScoring = qa_scoring
        self.jf: Variant = jf
        self.missing_frames: MissingFrames = missing_frames
        self.band_threshold = band_threshold
        self.alignment: Alignment = alignment
        self.averaging: Averaging = averaging
        self.allow_outside_paths = allow_outside_paths

    @cached_property
    def _tasks(self) -> list[Task]:
        samples = load_samples(
            self.root,
            self.task_type,
            self.max_frames,
            self.alignment,
            self.limit,
            allow_outside_paths=self.allow_outside_paths,
        )
        by_suffix: dict[str, list[Sample]] = {}
        for sample in samples:
            by_suffix.setdefault(str(sample.metadata["suffix"]), []).append(sample)
        tasks: list[Task] = []
        for suffix in SUFFIXES:
            items = by_suffix.get(suffix)
            if not items:
                continue
            if is_mask(suffix):
                tasks.append(
                    SpatialMaskTask(
                        suffix,
                        items,
                        self.jf,
                        self.missing_frames,
                        self.band_threshold,
                        self.averaging,
                    )
                )
            else:
                tasks.append(SpatialQaTask(suffix, items, self.qa_scoring))
        return tasks

    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def tree(self) -> list[Node | Formula]:
        """Upstream's Overall: the unweighted mean of the category-level numbers present (QA
        accuracy and mask J&F of each category, up to six: each is one task here). With
        `averaging: object` each mask task enters through its per-object J&F, a node named
        `<task>:J&F/object`, so the report says which averaging the Overall used."""
        nodes: list[Node | Formula] = []
        children: list[str] = []
        labels: dict[str, tuple[str, str]] = {}
        for task in self._tasks:
            suffix = task.name.rsplit("/", 1)[-1]
            label = (CATEGORY_OF[suffix], KIND_QA if suffix in QA_SUFFIXES else KIND_MASK)
            if self.averaging == "object" and task.output_kind == "masks":
                name = f"{task.name}:{PER_OBJECT}"
                nodes.append(
                    Formula(
                        name,
                        (task.name,),
                        _only,
                        spec=PER_OBJECT_SPEC,
                        level="category",
                        metric=PER_OBJECT,
                    )
                )
                children.append(name)
                labels[name] = label
            else:
                children.append(task.name)
                labels[task.name] = label
        if not children:
            return []
        coverage = Coverage(axes=COVERAGE_AXES, labels=labels)
        overall = Node(OVERALL, tuple(children), mode="macro", level="overall", coverage=coverage)
        return [*nodes, overall]

    def joint_metrics(self) -> list[JointMetric]:
        """Upstream's means counting failed calls as 0 (`upstream_means.py`): for the QA tasks
        with `qa_scoring: first-token`, the mask tasks with `jf: band`, and the Overall when
        every task is in parity mode; none by default."""
        parity: list[ParityTask] = []
        for task in self._tasks:
            if isinstance(task, SpatialQaTask) and task.scoring == "first-token":
                parity.append(ParityTask(task.name, "accuracy"))
            elif isinstance(task, SpatialMaskTask) and task.variant == "band":
                parity.append(ParityTask(task.name, "J&F"))
        return upstream_mean_metrics(parity, all_parity=len(parity) == len(self._tasks))


def categories_covered(tasks: Sequence[str]) -> dict[str, list[str]]:
    """Category -> the kinds (`qa`, `mask`) the given task names cover."""
    covered: dict[str, list[str]] = {}
    for name in tasks:
        suffix = name.rsplit("/", 1)[-1]
        if suffix in CATEGORY_OF:
            kind = "qa" if suffix in QA_SUFFIXES else "mask"
            covered.setdefault(CATEGORY_OF[suffix], []).append(kind)
    return covered


def _check(name: str, value: object, allowed: Sequence[object]) -> None:
    if value not in allowed:
        raise ValueError(f"spatial {name} must be one of {list(allowed)}, not {value!r}")


__all__ = ["SpatialBenchmark", "SpatialMaskTask", "SpatialQaTask"]
