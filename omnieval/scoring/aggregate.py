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

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from omnieval.scoring.stats import summarize_binary, summarize_continuous, z_critical
from omnieval.scoring.tree import CorpusMetric, Formula, Gate, Node, TreeError
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

OVERALL = "overall"
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


def _reduced_spec(name: str, spec: MetricSpec, reducer: str) -> MetricSpec:
    if reducer in ("all", "any"):
        kind = MetricKind.BINARY
    elif spec.kind is MetricKind.BINARY:
        kind = MetricKind.BOUNDED
    else:
        kind = spec.kind
    low, high = (0.0, 1.0) if spec.kind is MetricKind.BINARY else (spec.low, spec.high)
    return spec.model_copy(update={"name": name, "kind": kind, "low": low, "high": high})


# --------------------------------------------------------------------------- items


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


def _reduce(reducer: str | None, values: list[float], outcomes: list[Outcome]) -> float:
    if reducer is None or reducer in ("item_mean", "trial_mean"):
        return sum(values) / len(values)
    if reducer == "all":
        clean = all(o is Outcome.SCORED for o in outcomes)
        return 1.0 if clean and all(v >= 1.0 for v in values) else 0.0
    if reducer == "any":
        return 1.0 if any(v >= 1.0 for v in values) else 0.0
    raise ValueError(f"unknown replicate reducer {reducer!r}")


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


# --------------------------------------------------------------------------- summaries


def _summarize(
    name: str,
    spec: MetricSpec,
    reducer: str | None,
    items: Sequence[Item],
) -> MetricValue | None:
    present = [item for item in items if name in item.values]
    if not present:
        return None
    if reducer == "trial_mean":
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
            method = "clustered" if reducer is not None else "t"
    return summary.model_copy(update={"method": method, "kind": spec.kind})


def _corpus_value(metric: CorpusMetric, items: Sequence[Item], seed: int) -> MetricValue | None:
    records = [r for item in items for r in item.records if r.outcome is Outcome.SCORED]
    if not records:
        return None
    value = float(metric.compute(records))
    rng = random.Random(seed)
    draws: list[float] = []
    if len(items) >= 2:
        for _ in range(_BOOTSTRAP_ITERS):
            sample = [items[rng.randrange(len(items))] for _ in items]
            chosen = [r for item in sample for r in item.records if r.outcome is Outcome.SCORED]
            if chosen:
                draws.append(float(metric.compute(chosen)))
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


# --------------------------------------------------------------------------- gates


@dataclass
class GateCounts:
    gated: int = 0
    voided: int = 0
    missing: int = 0
    by_sample: dict[str, str] = field(default_factory=dict)  # sample id -> gated/voided/missing


def apply_gates(
    items: dict[tuple[str, str, str], dict[str, Item]],
    gates: Sequence[Gate],
    samples: dict[str, dict[str, Sample]],
    headlines: dict[str, str],
) -> dict[tuple[str, str, str], GateCounts]:
    """Zero or void gated items in place; counts per (model, condition, gated task)."""
    counts: dict[tuple[str, str, str], GateCounts] = defaultdict(GateCounts)
    for gate in gates:
        for (model, condition, task), by_sample in items.items():
            if task != gate.gated_task:
                continue
            gate_items = items.get((model, condition, gate.gate_task), {})
            tally = counts[(model, condition, task)]
            for sample_id in list(by_sample):
                sample = samples.get(task, {}).get(sample_id)
                gate_id = gate.link(sample) if sample is not None else None
                gate_item = gate_items.get(gate_id) if gate_id is not None else None
                if gate_item is None:
                    tally.missing += 1
                    tally.by_sample[sample_id] = "missing"
                    continue
                value = gate_item.values.get(headlines[gate.gate_task])
                if value is not None and gate.passes(value):
                    continue
                if gate.effect == "void":
                    del by_sample[sample_id]
                    tally.voided += 1
                    tally.by_sample[sample_id] = "voided"
                else:
                    item = by_sample[sample_id]
                    item.values = {k: 0.0 for k in item.values}
                    item.slots = {k: [0.0] * len(v) for k, v in item.slots.items()}
                    item.gated = True
                    tally.gated += 1
                    tally.by_sample[sample_id] = "gated"
    return counts


# --------------------------------------------------------------------------- entry point


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
    nodes = _nodes(groups, items, specs, replicated, benchmarks, seed)
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
            summary = _summarize(name, metric_spec, reducer, group_items)
            if summary is not None:
                metrics[name] = summary
        for corpus in spec.corpus_metrics:
            value = _corpus_value(corpus, group_items, seed)
            if value is not None:
                metrics[corpus.spec.name] = value
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


# --------------------------------------------------------------------------- nodes


def _nodes(
    groups: list[GroupResult],
    items: dict[tuple[str, str, str], dict[str, Item]],
    specs: dict[str, TaskAggregation],
    replicated: dict[str, bool],
    benchmarks: Sequence[BenchmarkAggregation],
    seed: int,
) -> list[NodeResult]:
    overall = {(g.model, g.condition, g.task): g for g in groups if g.group == OVERALL}
    pairs = list(dict.fromkeys((g.model, g.condition) for g in groups))
    results: list[NodeResult] = []
    for bench in benchmarks:
        if not bench.tree:
            continue
        for model, condition in pairs:
            known: dict[str, tuple[str, MetricValue]] = {}
            leaves: dict[str, list[str]] = {}
            for task in bench.tasks:
                group = overall.get((model, condition, task))
                if group is None:
                    continue
                name = specs[task].headline(replicated.get(task, False))
                if name in group.metrics:
                    known[task] = (name, group.metrics[name])
                    leaves[task] = [task]
            for node in bench.tree:
                result = _node(node, known, leaves, items, specs, replicated, model, condition)
                if result is None:
                    continue
                results.append(result.model_copy(update={"benchmark": bench.name}))
                known[node.name] = (result.metric, result.value)
                if isinstance(node, Node):
                    leaves[node.name] = [
                        leaf for child in node.children for leaf in leaves.get(child, [])
                    ]
    return results


def _node(
    node: Node | Formula,
    known: dict[str, tuple[str, MetricValue]],
    leaves: dict[str, list[str]],
    items: dict[tuple[str, str, str], dict[str, Item]],
    specs: dict[str, TaskAggregation],
    replicated: dict[str, bool],
    model: str,
    condition: str,
) -> NodeResult | None:
    children = node.children if isinstance(node, Node) else node.inputs
    present = [c for c in children if c in known]
    missing = tuple(c for c in children if c not in known)
    if not present:
        return None
    if isinstance(node, Formula):
        if missing:
            return None
        value = float(node.compute({c: known[c][1].value for c in present}))
        return NodeResult(
            model=model,
            condition=condition,
            benchmark="",
            node=node.name,
            level=node.level,
            mode="formula",
            metric=node.spec.name,
            value=MetricValue(value=value, n=0, method="formula", kind=node.spec.kind),
            children={c: 1.0 for c in present},
        )
    metric_names = {known[c][0] for c in present}
    if node.metric is not None:
        wrong = [c for c in present if known[c][0] != node.metric]
        if wrong:
            raise TreeError(
                f"node {node.name!r} aggregates {node.metric!r}, but {wrong} report "
                f"{sorted({known[c][0] for c in wrong})}"
            )
    if node.mode == "micro":
        if len(metric_names) != 1:
            raise TreeError(
                f"micro node {node.name!r} pools children with different metrics "
                f"{sorted(metric_names)}"
            )
        metric = metric_names.pop()
        pooled: list[Item] = []
        weights: dict[str, float] = {}
        for child in present:
            for leaf in leaves.get(child, []):
                leaf_items = list(items.get((model, condition, leaf), {}).values())
                pooled += leaf_items
                weights[child] = weights.get(child, 0.0) + len(leaf_items)
        leaf0 = leaves[present[0]][0]
        spec_outputs = {n: (s, r) for n, s, r in specs[leaf0].outputs(replicated[leaf0])}
        metric_spec, reducer = spec_outputs.get(metric, (MetricSpec(name=metric), None))
        pooled_value = _summarize(metric, metric_spec, reducer, pooled)
        if pooled_value is None:
            return None
        total = sum(weights.values()) or 1.0
        return NodeResult(
            model=model,
            condition=condition,
            benchmark="",
            node=node.name,
            level=node.level,
            mode="micro",
            metric=metric,
            value=pooled_value,
            children={c: w / total for c, w in weights.items()},
            missing=missing,
        )
    values = [known[c][1] for c in present]
    k = len(values)
    mean = sum(v.value for v in values) / k
    errors = [v.stderr for v in values]
    stderr = (
        math.sqrt(sum(e * e for e in errors if e is not None)) / k
        if all(e is not None for e in errors)
        else None
    )
    z = z_critical()
    low, high = (mean - z * stderr, mean + z * stderr) if stderr is not None else (None, None)
    kinds = {v.kind for v in values}
    metric = metric_names.pop() if len(metric_names) == 1 else "macro"
    return NodeResult(
        model=model,
        condition=condition,
        benchmark="",
        node=node.name,
        level=node.level,
        mode="macro",
        metric=node.metric or metric,
        value=MetricValue(
            value=mean,
            n=sum(v.n for v in values),
            ci_low=low,
            ci_high=high,
            stderr=stderr,
            method="macro-normal",
            kind=kinds.pop() if len(kinds) == 1 else None,
        ),
        children={c: 1.0 / k for c in present},
        missing=missing,
    )
