"""Items: replicates reduced to one value per sample, and the summaries of item values.

A task's metrics (`TaskAggregation`) say which outputs exist: without replicates each metric is
its own output; with replicates the headline metric's outputs are named reducers (AA =
`item_mean`, ACR = `all`, `trial_mean`, `any`). Summaries bind the interval to the estimator:
Wilson for binary values, a t interval over item means (clustered by item) with replicates, t for
continuous values, a seeded bootstrap for corpus metrics.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from omnieval.scoring.reducers import reducer as registered_reducer
from omnieval.scoring.stats import summarize_binary, summarize_continuous
from omnieval.scoring.tree import CorpusMetric, Formula, Gate, JointMetric, Node
from omnieval.types import MetricKind, MetricSpec, MetricValue, Outcome, TrialRecord

DEFAULT_BINARY_REDUCERS = {"AA": "item_mean", "ACR": "all"}
_BOOTSTRAP_ITERS = 500


@dataclass
class TaskAggregation:
    """What aggregation knows of a task: its metrics and how replicates reduce."""

    name: str
    metrics: tuple[MetricSpec, ...] = (MetricSpec(name="accuracy"),)
    corpus_metrics: tuple[CorpusMetric, ...] = ()
    #: output name -> reducer, for the headline metric when replicates exist
    reducers: dict[str, str] | None = None
    scoring: dict[str, Any] = field(default_factory=dict)
    benchmark: str = ""

    def outputs(self, replicated: bool) -> list[tuple[str, MetricSpec, str | None]]:
        """(output name, its spec, reducer) for every reported per-item metric."""
        found: list[tuple[str, MetricSpec, str | None]] = []
        for index, spec in enumerate(self.metrics):
            if not replicated:
                found.append((spec.name, spec, None))
                continue
            if index == 0:
                reducers = self.reducers or (
                    DEFAULT_BINARY_REDUCERS
                    if spec.kind is MetricKind.BINARY
                    else {spec.name: "item_mean"}
                )
            else:
                reducers = {spec.name: "item_mean"}
            for name, reducer in reducers.items():
                found.append((name, _reduced_spec(name, spec, reducer), reducer))
        return found

    def headline_outputs(self, replicated: bool) -> list[str]:
        """The outputs of the headline metric: itself, or its reducers (AA and ACR)."""
        if not self.metrics:
            return [self.headline(replicated)]
        first = self.metrics[0].name
        outputs = self.outputs(replicated)
        if not replicated:
            return [first]
        count = (
            len(self.reducers)
            if self.reducers
            else (len(DEFAULT_BINARY_REDUCERS) if self.metrics[0].kind is MetricKind.BINARY else 1)
        )
        return [name for name, _, _ in outputs[:count]]

    def headline(self, replicated: bool) -> str:
        outputs = self.outputs(replicated)
        if outputs:
            return outputs[0][0]
        return self.corpus_metrics[0].spec.name if self.corpus_metrics else "accuracy"


@dataclass
class BenchmarkAggregation:
    name: str
    tasks: list[str]
    tree: list[Node | Formula] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    joint: list[JointMetric] = field(default_factory=list)


def _reduced_spec(name: str, spec: MetricSpec, reducer_name: str) -> MetricSpec:
    if registered_reducer(reducer_name).binary:
        kind = MetricKind.BINARY
    elif spec.kind is MetricKind.BINARY:
        kind = MetricKind.BOUNDED
    else:
        kind = spec.kind
    low, high = (0.0, 1.0) if spec.kind is MetricKind.BINARY else (spec.low, spec.high)
    return spec.model_copy(update={"name": name, "kind": kind, "low": low, "high": high})


@dataclass
class Item:
    """One sample's reduced values for one (model, condition, task)."""

    sample_id: str
    groups: tuple[str, ...]
    values: dict[str, float]
    #: per output, the slot values (for trial-weighted means and clustered errors)
    slots: dict[str, list[float]]
    records: list[TrialRecord]
    gated: bool = False


def _slot_value(
    record: TrialRecord, outcome: Outcome, metric: str, replicated: bool
) -> float | None:
    if outcome is Outcome.SCORED:
        assert record.score is not None
        return record.score.values.get(metric)
    if outcome is Outcome.SCORING_ERROR:
        return 0.0
    if outcome is Outcome.FAILED and replicated:
        return 0.0
    return None


def _reduce(name: str | None, values: list[float], outcomes: list[Outcome]) -> float:
    if name is None:
        return sum(values) / len(values)
    return float(registered_reducer(name).reduce(values, outcomes))


def build_items(
    slots_by_sample: dict[str, list[TrialRecord]], task: TaskAggregation, replicated: bool
) -> dict[str, Item]:
    items: dict[str, Item] = {}
    outputs = task.outputs(replicated)
    declared = {m.name for m in task.metrics}
    headline = task.metrics[0].name if task.metrics else ""
    for sample_id, slots in slots_by_sample.items():
        outcomes = [r.outcome for r in slots]
        if all(o in (Outcome.FAILED, Outcome.UNSUPPORTED) for o in outcomes):
            continue
        values: dict[str, float] = {}
        slot_values: dict[str, list[float]] = {}
        for name, _spec, reducer in outputs:
            metric = headline if reducer is not None and name not in declared else name
            series = [
                v
                for r, o in zip(slots, outcomes, strict=True)
                if (v := _slot_value(r, o, metric, replicated)) is not None
            ]
            if not series:
                continue
            values[name] = _reduce(reducer, series, outcomes)
            slot_values[name] = series
        items[sample_id] = Item(sample_id, slots[0].groups, values, slot_values, slots)
    return items


def summarize_items(
    name: str,
    spec: MetricSpec,
    reducer_name: str | None,
    items: Sequence[Item],
) -> MetricValue | None:
    present = [item for item in items if name in item.values]
    if not present:
        return None
    if reducer_name is not None and registered_reducer(reducer_name).by_trials:
        flat = [v for item in present for v in item.slots[name]]
        clusters = [item.sample_id for item in present for _ in item.slots[name]]
        summary = summarize_continuous(flat, clusters=clusters)
        method = "clustered"
    else:
        values = [item.values[name] for item in present]
        binary = spec.kind is MetricKind.BINARY and all(v in (0.0, 1.0) for v in values)
        if spec.interval == "bootstrap":
            summary, method = summarize_continuous(values, method="bootstrap"), "bootstrap"
        elif binary and spec.interval in ("auto", "wilson"):
            summary, method = summarize_binary(values), "wilson"
        else:
            summary = summarize_continuous(values)
            method = "clustered" if reducer_name is not None else "t"
    return _clipped(summary, spec).model_copy(update={"method": method, "kind": spec.kind})


def _clipped(value: MetricValue, spec: MetricSpec) -> MetricValue:
    """An interval kept inside the metric's range (a t interval near 0 or 1 can leave it)."""
    update: dict[str, float] = {}
    if spec.low is not None and value.ci_low is not None and value.ci_low < spec.low:
        update["ci_low"] = spec.low
    if spec.high is not None and value.ci_high is not None and value.ci_high > spec.high:
        update["ci_high"] = spec.high
    return value.model_copy(update=update) if update else value


def corpus_value(metric: CorpusMetric, items: Sequence[Item], seed: int) -> MetricValue | None:
    return corpus_values((metric,), items, seed)[metric.spec.name]


def corpus_values(
    metrics: Sequence[CorpusMetric], items: Sequence[Item], seed: int
) -> dict[str, MetricValue | None]:
    """Each corpus metric over the group, with a seeded bootstrap interval over items. All the
    metrics share one set of draws (the same draws each would get alone: one `Random(seed)`),
    and each item's scored records are found once, not once per draw."""
    if not metrics:
        return {}
    scored = [[r for r in item.records if r.outcome is Outcome.SCORED] for item in items]
    records = [r for rs in scored for r in rs]
    if not records:
        return {m.spec.name: None for m in metrics}
    rng = random.Random(seed)
    draws: dict[str, list[float]] = {m.spec.name: [] for m in metrics}
    if len(items) >= 2:
        for _ in range(_BOOTSTRAP_ITERS):
            picks = [scored[rng.randrange(len(items))] for _ in items]
            chosen = [r for rs in picks for r in rs]
            if chosen:
                for metric in metrics:
                    draws[metric.spec.name].append(float(metric.compute(chosen)))
    return {
        m.spec.name: _bootstrap_value(m, float(m.compute(records)), draws[m.spec.name], items)
        for m in metrics
    }


def _bootstrap_value(
    metric: CorpusMetric, value: float, draws: list[float], items: Sequence[Item]
) -> MetricValue:
    low = high = stderr = None
    if len(draws) >= 2:
        draws.sort()
        low = draws[int(0.025 * (len(draws) - 1))]
        high = draws[math.ceil(0.975 * (len(draws) - 1))]
        mean = sum(draws) / len(draws)
        stderr = math.sqrt(sum((d - mean) ** 2 for d in draws) / (len(draws) - 1))
    return MetricValue(
        value=value,
        n=len(items),
        ci_low=low,
        ci_high=high,
        stderr=stderr,
        method="bootstrap",
        kind=metric.spec.kind,
    )
