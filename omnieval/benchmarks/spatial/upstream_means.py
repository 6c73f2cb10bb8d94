"""Spatial parity: upstream's category means, where a failed model call counts as 0.

omnieval leaves a failed trial out of its metrics and counts it apart, and computes the Overall
of a model that produces no masks over its QA tasks alone. dyn-bench's `eval.py` (`main`)
appends 0.0 to the category's list when the QA or mask call raised, and also for every mask item
of a model without mask support; a category's QA accuracy and mask J&F are the means of those
lists (times 100), the Overall the mean of the category numbers present.

In parity mode the benchmark reports those numbers as joint metrics (percent, one node per
model and condition; `n` = items, failed ones included):

- `spatial/<qa task>:upstream-accuracy [parity: failed calls count as 0]` with
  `qa_scoring: first-token`;
- `spatial/<mask task>:upstream-J&F [parity: failed calls count as 0]` with `jf: band`;
- `spatial:upstream-overall [parity: failed calls count as 0]` when every task of the run is in
  parity mode: the mean of the task values present.

An item counts once (its first replicate: upstream has none); a scored trial counts its value,
a failed, unsupported or unscorable one 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from omnieval.scoring.tree import JointMetric, JointValue
from omnieval.scoring.upstream_counting import first_replicates, value_or_zero
from omnieval.types import MetricKind, MetricSpec, TrialRecord

LABEL = "[parity: failed calls count as 0]"
OVERALL_NODE = f"spatial:upstream-overall {LABEL}"


def upstream_node(task: str, metric: str) -> str:
    """`spatial/qa:upstream-accuracy [parity: failed calls count as 0]`."""
    return f"{task}:upstream-{metric} {LABEL}"


@dataclass(frozen=True)
class ParityTask:
    """A task whose upstream mean is reported, and the metric it averages."""

    name: str
    metric: str  # "accuracy" (QA) or "J&F" (masks)


def upstream_mean(records: Sequence[TrialRecord], metric: str) -> JointValue | None:
    """Percent: the mean over the task's items, failed ones counting 0 (None without items)."""
    chosen = first_replicates(records)
    if not chosen:
        return None
    return sum(value_or_zero(r, metric) for r in chosen) / len(chosen) * 100, len(chosen)


def _spec(metric: str) -> MetricSpec:
    return MetricSpec(
        name=f"upstream {metric}",
        kind=MetricKind.CONTINUOUS,
        description=f"upstream's {metric} in percent, failed calls counted as 0",
    )


def _task_metric(task: ParityTask) -> JointMetric:
    def compute(records: Mapping[str, Sequence[TrialRecord]]) -> JointValue | None:
        return upstream_mean(records.get(task.name, ()), task.metric)

    name = upstream_node(task.name, task.metric)
    return JointMetric(name, (task.name,), compute, _spec(task.metric), "category")


def _overall_metric(tasks: Sequence[ParityTask]) -> JointMetric:
    def compute(records: Mapping[str, Sequence[TrialRecord]]) -> JointValue | None:
        means = [upstream_mean(records.get(t.name, ()), t.metric) for t in tasks]
        present = [m for m in means if m is not None]
        if not present:
            return None
        return sum(v for v, _ in present) / len(present), sum(n for _, n in present)

    names = tuple(t.name for t in tasks)
    return JointMetric(OVERALL_NODE, names, compute, _spec("overall"), "overall")


def upstream_mean_metrics(parity: Sequence[ParityTask], all_parity: bool) -> list[JointMetric]:
    """One node per task in parity mode, and the Overall when every task is (`all_parity`)."""
    metrics = [_task_metric(t) for t in parity]
    if parity and all_parity:
        metrics.append(_overall_metric(parity))
    return metrics


__all__ = [
    "LABEL",
    "OVERALL_NODE",
    "ParityTask",
    "upstream_mean",
    "upstream_mean_metrics",
    "upstream_node",
]
