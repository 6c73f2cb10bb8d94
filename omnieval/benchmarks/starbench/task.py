"""STAR-Bench as omnieval tasks: one task per reasoning dataset (`starbench/tr`, `starbench/sr`
...), one per perception sub-category (`starbench/pc/pitch` ...) so that the perception total can
be upstream's macro mean over sub-categories, and the tree that reproduces upstream's totals.

Circular evaluation is the tasks' default replicate scheme (`default_replicates`): option
rotation for perception (one run per option) and spatial reasoning (three runs), the round-robin
clip permutation for temporal reasoning (three runs), reduced to AA (`trial_mean`: the mean over
all runs, as upstream) and ACR (`all`). `replicates: {scheme: none}` is upstream's robust
evaluation off (one run, r = 0).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, Task, choice_target
from omnieval.benchmarks.starbench.circular import (
    RUNS,
    permutation_replicates,
    present_clips,
    rotation_replicates,
)
from omnieval.benchmarks.starbench.extract import (
    PARITY_VERSION,
    extract_starbench_parity,
    parity_correct,
)
from omnieval.benchmarks.starbench.loader import Dataset, load_items, resolve_datasets
from omnieval.benchmarks.starbench.prompts import (
    FAMILY_KEY,
    channel_audios,
    labelled_audios,
    question_text,
    temporal_parts,
)
from omnieval.benchmarks.starbench.upstream_totals import DatasetTasks, upstream_total_metrics
from omnieval.config import ReplicateSpec
from omnieval.scoring.extract import CHOICE_RULES_VERSION
from omnieval.scoring.extractors import extract_choice
from omnieval.scoring.metrics import accuracy
from omnieval.scoring.tree import Formula, JointMetric, Node
from omnieval.types import (
    AudioPart,
    Extraction,
    MetricKind,
    MetricSpec,
    Part,
    Replicate,
    Request,
    Response,
    Sample,
    Score,
    TextPart,
    TrialContext,
)

Scoring = Literal["default", "starbench"]
REDUCERS: dict[str, str] = {
    "AA": "trial_mean",
    "ACR": "all",
}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "none"


class StarTask(Task):
    """The items of one STAR-Bench dataset (or of one perception sub-category of it)."""

    #: 2: runs past the option count are unrotated, as upstream's slicing leaves them
    version = "2"

    def __init__(
        self,
        name: str,
        dataset: Dataset,
        samples: list[Sample],
        scoring: Scoring = "default",
    ) -> None:
        self.name = name
        self.dataset = dataset
        self._samples = [s.model_copy(update={"task": name}) for s in samples]
        self.scoring = scoring
        scheme: Literal["rotation", "permutation"] = (
            "permutation" if dataset.family == "temporal" else "rotation"
        )
        self.default_replicates = ReplicateSpec(scheme=scheme, k="all", reducers=dict(REDUCERS))

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def groups(self, sample: Sample) -> list[str]:
        groups = super().groups(sample)
        sub = sample.metadata.get("sub_category")
        if sub and self.dataset.family != "perception":
            groups.append(f"{sample.category}/{sub}" if sample.category else str(sub))
        return groups

    # ------------------------------------------------------------------ requests

    def build_request(self, sample: Sample, condition: str) -> Request:
        self.check_conditions([condition])
        target = choice_target(sample)
        text = question_text(str(sample.metadata["question"]), target.options)
        audios = [p for p in sample.parts if isinstance(p, AudioPart)]
        parts: list[Part]
        if self.dataset.family == "temporal":
            caption = (
                str(sample.metadata["global_caption"])
                if self.dataset.variant == "caption"
                else None
            )
            uncut = audios[3] if self.dataset.variant == "uncut" else None
            parts = temporal_parts(text, audios[:3], caption=caption, uncut=uncut)
        elif self.dataset.variant == "channels":
            parts = [*channel_audios(audios[0]), TextPart(text=text)]
        else:
            parts = [*labelled_audios(audios), TextPart(text=text)]
        return Request(parts=tuple(parts), metadata={FAMILY_KEY: self.dataset.family})

    # ------------------------------------------------------------------ circular evaluation

    def replicate_set(self, scheme: str, k: int | str, sample: Sample) -> list[Replicate] | None:
        family = self.dataset.family
        own = "permutation" if family == "temporal" else "rotation"
        if scheme != own:
            return None
        natural = RUNS[family] or len(choice_target(sample).options)
        runs = natural if k == "all" else int(k)
        if family == "temporal":
            return permutation_replicates(sample, runs)
        return rotation_replicates(len(choice_target(sample).options), runs)

    def permute(self, sample: Sample, order: Sequence[int]) -> Sample:
        """Slot i shows chronological clip `order[i]`; the answer is the option naming that
        presentation (options never move)."""
        if self.dataset.family != "temporal":
            return super().permute(sample, order)
        return present_clips(sample, order)

    # ------------------------------------------------------------------ scoring

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        target = choice_target(ctx.sample)
        if self.scoring == "starbench":
            return extract_starbench_parity(response.text, target.options)
        return extract_choice(response.text, target.option_letters(), target.options)

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        target = choice_target(ctx.sample)
        if self.scoring == "starbench":
            return Score(values={"accuracy": 1.0 if parity_correct(extraction, target) else 0.0})
        return Score(values=accuracy(extraction, target))

    def fingerprint(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "version": self.version,
            "dataset": self.dataset.alias,
            "variant": self.dataset.variant,
        }

    def scoring_fingerprint(self) -> dict[str, Any]:
        rules = PARITY_VERSION if self.scoring == "starbench" else CHOICE_RULES_VERSION
        return {"scoring": self.scoring, "rules": rules}


AA_SPEC = MetricSpec(name="AA", kind=MetricKind.BOUNDED, low=0.0, high=1.0)
ACR = "ACR"
ACR_SPEC = MetricSpec(name=ACR, kind=MetricKind.BOUNDED, low=0.0, high=1.0)


def _mean(values: Mapping[str, float]) -> float:
    return sum(values.values()) / len(values)


@registry.benchmarks.register("starbench")
class StarBenchmark(Benchmark):
    """STAR-Bench from a directory in the release layout (released data or a generated edition).

    Arguments (the `args:` of a benchmark in the run config):
    - `data_dir`: the root holding `meta_info/` and `starbench_audios/`;
    - `data`: upstream dataset aliases or groups (a list or `+`-joined; default
      `starbench_default` = `pc + tr + sr`);
    - `scoring`: `default` (robust letter extraction) or `starbench` (upstream parity);
    - `allow_outside_paths`: read audio paths that leave the data root (default: refused).
    """

    name = "starbench"

    def __init__(
        self,
        data_dir: str | Path,
        data: str | list[str] = "starbench_default",
        scoring: Scoring = "default",
        allow_outside_paths: bool = False,
    ) -> None:
        if scoring not in ("default", "starbench"):
            raise ValueError(f"starbench scoring must be 'default' or 'starbench', not {scoring!r}")
        self.root = Path(data_dir)
        self.datasets = resolve_datasets(data)
        self.scoring: Scoring = scoring
        self.allow_outside_paths = allow_outside_paths

    @cached_property
    def _layout(self) -> list[tuple[Dataset, list[StarTask]]]:
        layout: list[tuple[Dataset, list[StarTask]]] = []
        for dataset in self.datasets:
            base = f"starbench/{dataset.alias}"
            samples = load_items(self.root, dataset, base, self.allow_outside_paths)
            if dataset.family != "perception":
                layout.append((dataset, [StarTask(base, dataset, samples, self.scoring)]))
                continue
            by_sub: dict[str, list[Sample]] = {}
            for sample in samples:
                by_sub.setdefault(_slug(str(sample.metadata["sub_category"])), []).append(sample)
            layout.append(
                (
                    dataset,
                    [
                        StarTask(f"{base}/{sub}", dataset, items, self.scoring)
                        for sub, items in by_sub.items()
                    ],
                )
            )
        return layout

    def tasks(self) -> list[Task]:
        return [task for _, tasks in self._layout for task in tasks]

    @classmethod
    def report_files(cls, results: Any) -> dict[str, str]:
        """Upstream's run summary with its `Samples` column (`summary.py`)."""
        from omnieval.benchmarks.starbench.summary import report_files

        return report_files(results)

    def joint_metrics(self) -> list[JointMetric]:
        """With `scoring: starbench`, upstream's totals counting failed calls as wrong runs
        (`upstream_totals.py`); none by default."""
        if self.scoring != "starbench":
            return []
        datasets = [
            DatasetTasks(
                node=f"starbench/{dataset.alias}:total"
                if dataset.family == "perception"
                else f"starbench/{dataset.alias}",
                perception=dataset.family == "perception",
                tasks=tuple(t.name for t in tasks),
            )
            for dataset, tasks in self._layout
            if tasks
        ]
        return upstream_total_metrics(datasets)

    def tree(self) -> list[Node | Formula]:
        """Perception: macro over all sub-categories (upstream's Total) and, as formulas, over
        each category's sub-categories (upstream's By Category); reasoning: the task's own
        micro total; the run: the mean over datasets (upstream's `Final MA`). Every node and
        formula has an ACR twin (`<name>:ACR`), as upstream reports both; the twins are left out
        when the run has no ACR (robust evaluation off)."""
        nodes: list[Node | Formula] = []
        totals: list[str] = []
        for dataset, tasks in self._layout:
            if not tasks:
                continue
            if dataset.family == "perception":
                by_category: dict[str, list[str]] = {}
                for task in tasks:
                    category = task.samples()[0].category or "none"
                    by_category.setdefault(category, []).append(task.name)
                for category, children in by_category.items():
                    name = f"starbench/{dataset.alias}:{category}"
                    nodes.append(
                        Formula(name, tuple(children), _mean, spec=AA_SPEC, level="category")
                    )
                    nodes.append(
                        Formula(
                            f"{name}:{ACR}",
                            tuple(children),
                            _mean,
                            spec=ACR_SPEC,
                            level="category",
                            metric=ACR,
                            if_absent="skip",
                        )
                    )
                name = f"starbench/{dataset.alias}:total"
                subs = tuple(t.name for t in tasks)
                nodes.append(Node(name, subs, mode="macro", level="dataset"))
                nodes.append(_acr_twin(f"{name}:{ACR}", subs, "dataset"))
                totals.append(name)
            else:
                totals += [t.name for t in tasks]
        if totals:
            final = "starbench:final-MA"
            nodes.append(Node(final, tuple(totals), mode="macro", level="overall"))
            twins = tuple(f"{t}:{ACR}" if t.endswith(":total") else t for t in totals)
            nodes.append(_acr_twin(f"{final}:{ACR}", twins, "overall"))
        return nodes


def _acr_twin(name: str, children: tuple[str, ...], level: str) -> Node:
    return Node(name, children, mode="macro", metric=ACR, level=level, if_absent="skip")
