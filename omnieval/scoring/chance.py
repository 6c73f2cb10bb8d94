"""Chance level: what a uniform guess among each item's options would score.

Only the `accuracy` metric of choice tasks has a chance level computed here, for each output it
is reported as: plain accuracy and the item or trial means of replicates (AA) average 1/n over
items (n = the item's option count); "all replicates right" (ACR) averages (1/n)^k and "any
replicate right" 1 - (1 - 1/n)^k over items with k replicates, independent guesses assumed.
Other metrics (continuous scores, masks, free text) get none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from omnieval.scoring.aggregate import TaskAggregation
from omnieval.types import ChoiceTarget, Sample, TrialRecord

CHANCE_METRIC = "accuracy"


def chance_levels(
    spec: TaskAggregation,
    replicated: bool,
    records: Iterable[TrialRecord],
    samples: Mapping[str, Sample],
) -> dict[str, float]:
    """Output name -> the expected value of a uniform guess, for the task's accuracy outputs."""
    replicates: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for record in records:
        trial = record.trial
        if trial.task == spec.name:
            replicates[(trial.sample_id, trial.model, trial.condition)].add(trial.replicate)
    per_item: dict[str, tuple[int, int]] = {}  # sample id -> (options, replicates)
    for (sample_id, _, _), labels in replicates.items():
        sample = samples.get(sample_id)
        if sample is None or not isinstance(sample.target, ChoiceTarget):
            return {}
        options = len(sample.target.option_letters())
        if options < 1:
            return {}
        known = per_item.get(sample_id, (options, 0))
        per_item[sample_id] = (options, max(known[1], len(labels)))
    if not per_item:
        return {}
    if not spec.metrics or spec.metrics[0].name != CHANCE_METRIC:
        return {}
    accuracy_outputs = spec.headline_outputs(replicated)  # accuracy, or its AA and ACR
    return {
        name: _expected(reducer, per_item.values())
        for name, _, reducer in spec.outputs(replicated)
        if name in accuracy_outputs
    }


def _expected(reducer: str | None, items: Iterable[tuple[int, int]]) -> float:
    rows = list(items)
    if reducer == "trial_mean":
        trials = sum(k for _, k in rows)
        return sum(k / n for n, k in rows) / trials if trials else 0.0
    if reducer == "all":
        return sum((1.0 / n) ** k for n, k in rows) / len(rows)
    if reducer == "any":
        return sum(1.0 - (1.0 - 1.0 / n) ** k for n, k in rows) / len(rows)
    return sum(1.0 / n for n, _ in rows) / len(rows)  # accuracy, item_mean
