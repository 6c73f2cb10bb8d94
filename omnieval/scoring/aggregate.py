"""Aggregation: trial records -> item scores -> gated items -> groups -> the benchmark's tree.

1. Replicates of one item (rotations, permutations, repeats) reduce to item values: `item_mean`
   (AA), `trial_mean` (AA over trials, so items with more replicates weigh more), `all` (ACR),
   `any`. A failed replicate counts 0 (and fails `all`); an item whose every replicate failed
   is left out and counted as failed.
2. Gates zero or void items whose gate item (a pre-question) was answered wrong.
3. Each (model, condition, task, group) gets its metrics with intervals bound to the estimator:
   Wilson for binary per-trial values, t over item means (clustered by item) with replicates,
   t for continuous values, a seeded bootstrap over items for corpus metrics.
4. Nodes above tasks (macro: equal-weight mean of children, normal interval from their standard
   errors; micro: pooled items) and named formulas.

Failed trials never enter a metric unreplicated (they are counted apart); unsupported trials
never enter anything; scoring errors count 0 and are counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from omnieval.scoring.gates import GateCounts, apply_gates
from omnieval.scoring.items import (
    BenchmarkAggregation,
    Item,
    TaskAggregation,
    build_items,
    corpus_values,
    summarize_items,
)
from omnieval.scoring.joint import joint_results
from omnieval.scoring.nodes import aggregate_nodes
from omnieval.types import (
    GroupResult,
    MetricKind,
    MetricSpec,
    MetricValue,
    NodeResult,
    Outcome,
    Sample,
    TrialRecord,
)

__all__ = ["OVERALL", "Aggregate", "BenchmarkAggregation", "TaskAggregation", "aggregate"]

OVERALL = "overall"


@dataclass
class Aggregate:
    groups: list[GroupResult]
    nodes: list[NodeResult]
    #: task -> whether its trials carry replicates (so its headline is AA, not accuracy)
    replicated: dict[str, bool]


def aggregate(
    records: Iterable[TrialRecord],
    variant_order: Sequence[str] = (),
    tasks: Sequence[TaskAggregation] = (),
    benchmarks: Sequence[BenchmarkAggregation] = (),
    samples: dict[str, dict[str, Sample]] | None = None,
    seed: int = 0,
) -> Aggregate:
    """Every group result and node result of a run's records."""
    samples = samples or {}
    specs = {t.name: t for t in tasks}
    slots: dict[tuple[str, str, str], dict[str, list[TrialRecord]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for record in records:
        trial = record.trial
        slots[(trial.model, trial.condition, trial.task)][trial.sample_id].append(record)
    for key in slots:
        if key[2] not in specs:
            specs[key[2]] = _inferred_spec(key[2], slots[key])
    replicated = {name: False for name in specs}
    for (_, _, task), by_sample in slots.items():
        if any(r.trial.replicate for rs in by_sample.values() for r in rs):
            replicated[task] = True
    items = {
        key: build_items(by_sample, specs[key[2]], replicated[key[2]])
        for key, by_sample in slots.items()
    }
    headlines = {name: spec.headline(replicated[name]) for name, spec in specs.items()}
    gates = [gate for bench in benchmarks for gate in bench.gates]
    gate_counts = apply_gates(items, gates, samples, headlines)

    rank = {c: i for i, c in enumerate(variant_order)}
    groups: list[GroupResult] = []
    for key in sorted(slots, key=lambda k: (k[0], rank.get(k[1], len(rank)), k[1], k[2])):
        task = key[2]
        spec = specs[task]
        groups += _task_groups(
            key, slots[key], items[key], spec, replicated[task], gate_counts.get(key), seed
        )
    nodes = aggregate_nodes(groups, items, specs, replicated, benchmarks, seed)
    nodes += joint_results(slots, benchmarks)
    return Aggregate(groups=groups, nodes=nodes, replicated=replicated)


def _inferred_spec(task: str, by_sample: dict[str, list[TrialRecord]]) -> TaskAggregation:
    """For records of a task nobody described: metrics named by the scores, kind by values."""
    values: dict[str, list[float]] = defaultdict(list)
    for records in by_sample.values():
        for record in records:
            if record.score is not None:
                for name, value in record.score.values.items():
                    values[name].append(value)
    metrics = tuple(
        MetricSpec(
            name=name,
            kind=MetricKind.BINARY
            if all(v in (0.0, 1.0) for v in series)
            else MetricKind.CONTINUOUS,
        )
        for name, series in sorted(values.items())
    ) or (MetricSpec(name="accuracy"),)
    return TaskAggregation(name=task, metrics=metrics)


def _task_groups(
    key: tuple[str, str, str],
    by_sample: dict[str, list[TrialRecord]],
    items: dict[str, Item],
    spec: TaskAggregation,
    replicated: bool,
    gates: GateCounts | None,
    seed: int,
) -> list[GroupResult]:
    model, condition, task = key
    members: dict[str, list[str]] = defaultdict(list)  # group -> sample ids
    outcomes_of: dict[str, list[Outcome]] = {}
    for sample_id, records in by_sample.items():
        outcomes_of[sample_id] = [r.outcome for r in records]
        for group in (OVERALL, *records[0].groups):
            members[group].append(sample_id)
    outputs = spec.outputs(replicated)
    results = []
    order = sorted(members, key=lambda g: (g != OVERALL, _natural(g)))
    for group in order:
        ids = members[group]
        group_items = [items[s] for s in ids if s in items]
        metrics: dict[str, MetricValue] = {}
        for name, metric_spec, reducer in outputs:
            summary = summarize_items(name, metric_spec, reducer, group_items)
            if summary is not None:
                metrics[name] = summary
        for name, value in corpus_values(spec.corpus_metrics, group_items, seed).items():
            if value is not None:
                metrics[name] = value
        records = [r for s in ids for r in by_sample[s]]
        outcomes = [o for s in ids for o in outcomes_of[s]]
        tally = gates.by_sample if gates is not None else {}
        results.append(
            GroupResult(
                model=model,
                condition=condition,
                task=task,
                group=group,
                metrics=metrics,
                trials=len(records),
                failed=outcomes.count(Outcome.FAILED),
                extraction_failed=sum(
                    1
                    for r, o in zip(records, outcomes, strict=True)
                    if o is Outcome.SCORED and r.extraction is not None and not r.extraction.ok
                ),
                unsupported=outcomes.count(Outcome.UNSUPPORTED),
                scoring_errors=outcomes.count(Outcome.SCORING_ERROR),
                items=len(group_items),
                gated=sum(1 for s in ids if tally.get(s) == "gated"),
                voided=sum(1 for s in ids if tally.get(s) == "voided"),
                gate_missing=sum(1 for s in ids if tally.get(s) == "missing"),
            )
        )
    return results


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key that orders numbers inside names by value (offset-40ms before offset+40ms)."""
    parts: list[Any] = []
    number = ""
    for char in text + "\0":
        if char.isdigit() or (char in "+-" and not number):
            number += char
            continue
        if number:
            try:
                parts.append((0, int(number), ""))
            except ValueError:
                parts.append((1, 0, number))
            number = ""
        if char != "\0":
            parts.append((1, 0, char))
    return tuple(parts)
