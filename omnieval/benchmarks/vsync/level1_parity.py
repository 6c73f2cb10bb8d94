"""V-SYNC Level 1 parity: upstream's run accuracy, where a failed model call counts as wrong.

omnieval leaves a failed trial (no answer after the retry budget) out of accuracy and counts it
apart. Upstream's local-model client returns nothing after its retries, the pipeline scores that
empty answer as wrong and keeps it in the denominator: `accuracy = correct / total * 100` over
every processed sample. With `scoring: vsync` the benchmark reports that number too, as the joint
metric `upstream_accuracy` (percent, one node per model and condition), beside the usual
accuracy. Each sample counts once (its first replicate: upstream has no replicates); a scored
trial counts its accuracy, a failed, unsupported or unscorable trial counts 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omnieval.benchmarks.vsync.loader import TASK_NAME
from omnieval.scoring.tree import JointMetric, JointValue
from omnieval.scoring.upstream_counting import first_replicates, value_or_zero
from omnieval.types import MetricKind, MetricSpec, TrialRecord

UPSTREAM_ACCURACY_NODE = "upstream_accuracy [parity: failed calls count as wrong]"


def upstream_accuracy(correct: Sequence[float | None]) -> float:
    """Percent correct over every sample; None (a failed call) counts as wrong, as upstream."""
    if not correct:
        return 0.0
    return sum(value or 0.0 for value in correct) / len(correct) * 100


def _compute(records: Mapping[str, Sequence[TrialRecord]]) -> JointValue | None:
    chosen = first_replicates(records.get(TASK_NAME, ()))
    if not chosen:
        return None
    return upstream_accuracy([value_or_zero(r, "accuracy") for r in chosen]), len(chosen)


def level1_parity_metrics() -> list[JointMetric]:
    """The joint metric `upstream_accuracy` (see the module doc)."""
    return [
        JointMetric(
            name=UPSTREAM_ACCURACY_NODE,
            tasks=(TASK_NAME,),
            compute=_compute,
            spec=MetricSpec(name="upstream_accuracy", kind=MetricKind.CONTINUOUS),
            level="level 1",
        )
    ]


__all__ = ["UPSTREAM_ACCURACY_NODE", "level1_parity_metrics", "upstream_accuracy"]
