"""STAR-Bench parity: upstream's dataset totals, where a failed model call counts as a wrong run.

omnieval leaves a failed trial out of its metrics and counts it apart; with circular evaluation a
failed run counts 0 for its item, but an item whose every run failed is left out. Upstream's
runner (`run.py`, `process_dataset`) turns a model call that raised into the response
`"ERROR: <exception>"`, parses it like any answer (no option letter: "Z", wrong) and keeps the
row: its `_calculate_metrics` takes AA over every row and ACR over every item, failed ones
included, with or without robust evaluation.

With `scoring: starbench` the benchmark reports those numbers as joint metrics (one node per
model and condition), values in percent as upstream prints them:

- `<dataset node>:upstream-AA [parity: failed calls count as wrong]` and `...:upstream-ACR
  [...]`, where the dataset node is `starbench/tr`, `starbench/sr` ... or `starbench/pc:total`:
  a reasoning dataset's AA = right runs / all runs, ACR = items with every run right / all items,
  each rounded to two decimals; a perception dataset's is the mean of its sub-categories'
  rounded values, rounded again (upstream's `PerceptionDataset.evaluate`);
- `starbench:final-MA:upstream-AA [...]` and `...:upstream-ACR [...]`: the mean over the
  datasets (upstream's `Final MA`).

A run counts as right when it was scored with accuracy 1; failed, unsupported and unscorable runs
count as wrong. `n` is the number of items, failed ones included (upstream's `unique_samples`).
`starbench_summary.csv` uses these values when the run has them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from omnieval.benchmarks.starbench.summary import (
    FINAL,
    LABEL,
    upstream_macro,
    upstream_node,
    upstream_percent,
)
from omnieval.scoring.tree import JointMetric, JointValue
from omnieval.scoring.upstream_counting import value_or_zero
from omnieval.types import MetricKind, MetricSpec, TrialRecord

METRICS = ("AA", "ACR")


@dataclass(frozen=True)
class UpstreamTotal:
    """One dataset's total as upstream prints it (percent, two decimals) and its items."""

    aa: float
    acr: float
    items: int

    def value(self, metric: str) -> float:
        return self.aa if metric == "AA" else self.acr


def run_right(record: TrialRecord) -> bool:
    """Upstream's `is_correct` of one run: a failed call's "ERROR: ..." answer is wrong."""
    return value_or_zero(record, "accuracy") == 1.0


def dataset_total(records: Sequence[TrialRecord]) -> UpstreamTotal | None:
    """AA over every run and ACR over every item (upstream's `_calculate_metrics`)."""
    if not records:
        return None
    by_item: dict[str, list[bool]] = {}
    for record in records:
        by_item.setdefault(record.trial.sample_id, []).append(run_right(record))
    runs = [right for item in by_item.values() for right in item]
    aa = upstream_percent(sum(runs) / len(runs))
    acr = upstream_percent(sum(all(item) for item in by_item.values()) / len(by_item))
    return UpstreamTotal(aa=aa, acr=acr, items=len(by_item))


def perception_total(per_task: Sequence[Sequence[TrialRecord]]) -> UpstreamTotal | None:
    """The mean of the sub-categories' rounded totals, rounded again."""
    subs = [t for t in (dataset_total(records) for records in per_task) if t is not None]
    if not subs:
        return None
    return UpstreamTotal(
        aa=upstream_macro([s.aa for s in subs]),
        acr=upstream_macro([s.acr for s in subs]),
        items=sum(s.items for s in subs),
    )


@dataclass(frozen=True)
class DatasetTasks:
    """One dataset of the run: its node name (`starbench/tr`, `starbench/pc:total`), whether it
    is a perception dataset (a macro over sub-category tasks) and its task names."""

    node: str
    perception: bool
    tasks: tuple[str, ...]

    def total(self, records: Mapping[str, Sequence[TrialRecord]]) -> UpstreamTotal | None:
        present = [records[t] for t in self.tasks if t in records]
        if self.perception:
            return perception_total(present)
        return dataset_total([r for rs in present for r in rs])


def _spec(metric: str) -> MetricSpec:
    return MetricSpec(
        name=f"upstream {metric}",
        kind=MetricKind.CONTINUOUS,
        description=f"upstream's {metric} in percent, failed calls counted as wrong runs",
    )


def _dataset_metric(dataset: DatasetTasks, metric: str) -> JointMetric:
    def compute(records: Mapping[str, Sequence[TrialRecord]]) -> JointValue | None:
        total = dataset.total(records)
        return None if total is None else (total.value(metric), total.items)

    level = "dataset" if dataset.perception else "task"
    name = upstream_node(dataset.node, metric)
    return JointMetric(name, dataset.tasks, compute, _spec(metric), level)


def _final_metric(datasets: Sequence[DatasetTasks], metric: str) -> JointMetric:
    def compute(records: Mapping[str, Sequence[TrialRecord]]) -> JointValue | None:
        totals = [t for t in (d.total(records) for d in datasets) if t is not None]
        if not totals:
            return None
        return sum(t.value(metric) for t in totals) / len(totals), sum(t.items for t in totals)

    tasks = tuple(t for d in datasets for t in d.tasks)
    return JointMetric(upstream_node(FINAL, metric), tasks, compute, _spec(metric), "overall")


def upstream_total_metrics(datasets: Sequence[DatasetTasks]) -> list[JointMetric]:
    """Upstream's AA and ACR per dataset and for `Final MA` (see the module doc)."""
    if not datasets:
        return []
    metrics = [_dataset_metric(d, m) for d in datasets for m in METRICS]
    return metrics + [_final_metric(datasets, m) for m in METRICS]


__all__ = [
    "LABEL",
    "DatasetTasks",
    "UpstreamTotal",
    "dataset_total",
    "perception_total",
    "upstream_node",
    "upstream_total_metrics",
]
