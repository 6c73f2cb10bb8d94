"""Nodes above tasks: macro (equal-weight mean of children, normal interval from their standard
errors), micro (pooled items) and named formulas."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from omnieval.scoring.coverage import SCORED, node_coverage, node_outcome, task_outcome
from omnieval.scoring.items import BenchmarkAggregation, Item, TaskAggregation, summarize_items
from omnieval.scoring.stats import z_critical
from omnieval.scoring.tree import Formula, Node, TreeError
from omnieval.types import GroupResult, MetricSpec, MetricValue, NodeResult

OVERALL = "overall"

# what a task or node reports: its headline metric's name and every metric it has
Known = tuple[str, dict[str, MetricValue]]


def aggregate_nodes(
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
            known: dict[str, Known] = {}
            leaves: dict[str, list[str]] = {}
            outcomes: dict[str, str] = {}
            for task in bench.tasks:
                group = overall.get((model, condition, task))
                if group is not None:
                    name = specs[task].headline(replicated.get(task, False))
                    if name in group.metrics:
                        known[task] = (name, dict(group.metrics))
                        leaves[task] = [task]
                outcomes[task] = task_outcome(group, task in known)
            for node in bench.tree:
                result = _node(node, known, leaves, items, specs, replicated, model, condition)
                children = node.children if isinstance(node, Node) else node.inputs
                outcomes[node.name] = (
                    SCORED if result is not None else node_outcome(children, outcomes)
                )
                if result is None:
                    continue
                update: dict[str, object] = {"benchmark": bench.name}
                if isinstance(node, Node) and node.coverage is not None:
                    update["coverage"] = node_coverage(node.coverage, outcomes)
                results.append(result.model_copy(update=update))
                known[node.name] = (result.metric, {result.metric: result.value})
                if isinstance(node, Node):
                    leaves[node.name] = [
                        leaf for child in node.children for leaf in leaves.get(child, [])
                    ]
    return results


def _node(
    node: Node | Formula,
    known: dict[str, Known],
    leaves: dict[str, list[str]],
    items: dict[tuple[str, str, str], dict[str, Item]],
    specs: dict[str, TaskAggregation],
    replicated: dict[str, bool],
    model: str,
    condition: str,
) -> NodeResult | None:
    children = node.children if isinstance(node, Node) else node.inputs
    picked = _pick(node, [c for c in children if c in known], known)
    present = list(picked)
    missing = tuple(c for c in children if c not in picked)
    if not present:
        return None
    if isinstance(node, Formula):
        if missing:
            return None
        result = float(node.compute({c: picked[c][1].value for c in present}))
        computed: Computed | None = (
            "formula",
            node.spec.name,
            MetricValue(value=result, n=0, method="formula", kind=node.spec.kind),
            {c: 1.0 for c in present},
        )
    elif node.mode == "micro":
        computed = _micro(node, present, picked, leaves, items, specs, replicated, model, condition)
    else:
        computed = _macro(node, present, picked)
    if computed is None:
        return None
    mode, metric, value, weights = computed
    return NodeResult(
        model=model,
        condition=condition,
        benchmark="",
        node=node.name,
        level=node.level,
        mode=mode,
        metric=metric,
        value=value,
        children=weights,
        missing=missing,
    )


#: (mode, metric name, value, child -> weight) of one node
Computed = tuple[Literal["macro", "micro", "formula"], str, MetricValue, dict[str, float]]


def _micro(
    node: Node,
    present: list[str],
    picked: dict[str, tuple[str, MetricValue]],
    leaves: dict[str, list[str]],
    items: dict[tuple[str, str, str], dict[str, Item]],
    specs: dict[str, TaskAggregation],
    replicated: dict[str, bool],
    model: str,
    condition: str,
) -> Computed | None:
    """Pool the items of every task below the node (its children share one metric)."""
    metric_names = {picked[c][0] for c in present}
    if len(metric_names) != 1:
        raise TreeError(
            f"micro node {node.name!r} pools children with different metrics {sorted(metric_names)}"
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
    pooled_value = summarize_items(metric, metric_spec, reducer, pooled)
    if pooled_value is None:
        return None
    total = sum(weights.values()) or 1.0
    return "micro", metric, pooled_value, {c: w / total for c, w in weights.items()}


def _macro(node: Node, present: list[str], picked: dict[str, tuple[str, MetricValue]]) -> Computed:
    """The equal-weight mean of the children, its interval from their standard errors."""
    metric_names = {picked[c][0] for c in present}
    values = [picked[c][1] for c in present]
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
    metric = node.metric or (metric_names.pop() if len(metric_names) == 1 else "macro")
    value = MetricValue(
        value=mean,
        n=sum(v.n for v in values),
        ci_low=low,
        ci_high=high,
        stderr=stderr,
        method="macro-normal",
        kind=kinds.pop() if len(kinds) == 1 else None,
    )
    return "macro", metric, value, {c: 1.0 / k for c in present}


def _pick(
    node: Node | Formula, present: list[str], known: dict[str, Known]
) -> dict[str, tuple[str, MetricValue]]:
    """Each present child's (metric, value): its headline, or the metric the node names. A child
    lacking the named metric fails the tree, or with `if_absent="skip"` counts as missing."""
    if node.metric is None:
        return {c: (known[c][0], known[c][1][known[c][0]]) for c in present}
    metric = node.metric
    lacking = [c for c in present if metric not in known[c][1]]
    if lacking and node.if_absent == "error":
        reported = sorted({m for c in lacking for m in known[c][1]})
        raise TreeError(
            f"node {node.name!r} aggregates {metric!r}, but {lacking} report {reported}"
        )
    return {c: (metric, known[c][1][metric]) for c in present if c not in lacking}
