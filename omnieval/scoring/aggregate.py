"""Aggregation: per-trial scores -> metrics with uncertainty per (model, variant, task, group).

Failed trials (no response after the retry budget) are counted and reported separately; they
never enter a metric. Failed extractions are answers the model gave but nobody can read: they
score 0 through the metric and are counted too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from omnieval.scoring.stats import summarize_binary, summarize_continuous
from omnieval.types import GroupResult, MetricValue, TrialRecord

OVERALL = "overall"


def aggregate(
    records: Iterable[TrialRecord], variant_order: Sequence[str] = ()
) -> list[GroupResult]:
    """One result per (model, variant, task, group), the `overall` group first in each task.

    Variants are ordered as in `variant_order` (the run's order, e.g. avt, vt, at), others after.
    """
    buckets: dict[tuple[str, str, str, str], list[TrialRecord]] = defaultdict(list)
    for record in records:
        trial = record.trial
        for group in (OVERALL, *record.groups):
            buckets[(trial.model, trial.variant, trial.task, group)].append(record)
    rank = {variant: i for i, variant in enumerate(variant_order)}

    def order(item: tuple[tuple[str, str, str, str], list[TrialRecord]]) -> tuple[object, ...]:
        model, variant, task, group = item[0]
        return (model, rank.get(variant, len(rank)), variant, task, group != OVERALL, group)

    results = []
    for (model, variant, task, group), members in sorted(buckets.items(), key=order):
        results.append(
            GroupResult(
                model=model,
                variant=variant,
                task=task,
                group=group,
                metrics=_metrics(members),
                trials=len(members),
                failed=sum(1 for r in members if r.response.failed),
                extraction_failed=sum(
                    1 for r in members if r.extraction is not None and not r.extraction.ok
                ),
            )
        )
    return results


def _metrics(members: list[TrialRecord]) -> dict[str, MetricValue]:
    values: dict[str, list[float]] = defaultdict(list)
    for record in members:
        if record.response.failed or record.score is None:
            continue
        for name, value in record.score.values.items():
            values[name].append(value)
    summary: dict[str, MetricValue] = {}
    for name, series in sorted(values.items()):
        binary = all(v in (0.0, 1.0) for v in series)
        summary[name] = summarize_binary(series) if binary else summarize_continuous(series)
    return summary
