"""Joint metrics: values computed from the records of several tasks of one model and condition.

A `JointMetric` (declared by `Benchmark.joint_metrics`) sees every record of each of its tasks
for one (model, condition), failed trials included, so it can join items across tasks (V-SYNC
Level 3 counts a "how" answer only where the "when" question of the same item said yes). Its
result is a `NodeResult` with mode `joint` and method `joint` (no interval), rebuilt from the
journal like every other node whenever outputs are written (run, resume, rescore).
"""

from __future__ import annotations

from collections.abc import Sequence

from omnieval.scoring.items import BenchmarkAggregation
from omnieval.types import MetricValue, NodeResult, TrialRecord

#: (model, condition, task) -> sample id -> that item's records
Slots = dict[tuple[str, str, str], dict[str, list[TrialRecord]]]


def joint_results(slots: Slots, benchmarks: Sequence[BenchmarkAggregation]) -> list[NodeResult]:
    """Every joint metric of every benchmark, per (model, condition) holding one of its tasks."""
    pairs = list(dict.fromkeys((model, condition) for model, condition, _ in slots))
    results: list[NodeResult] = []
    for bench in benchmarks:
        for model, condition in pairs:
            for joint in bench.joint:
                present = {
                    task: [r for rs in slots[(model, condition, task)].values() for r in rs]
                    for task in joint.tasks
                    if (model, condition, task) in slots
                }
                if not present:
                    continue
                computed = joint.compute(present)
                if computed is None:
                    continue
                value, items = computed
                results.append(
                    NodeResult(
                        model=model,
                        condition=condition,
                        benchmark=bench.name,
                        node=joint.name,
                        level=joint.level,
                        mode="joint",
                        metric=joint.spec.name,
                        value=MetricValue(
                            value=float(value), n=items, method="joint", kind=joint.spec.kind
                        ),
                        children={task: 1.0 for task in present},
                        missing=tuple(t for t in joint.tasks if t not in present),
                    )
                )
    return results


__all__ = ["joint_results"]
