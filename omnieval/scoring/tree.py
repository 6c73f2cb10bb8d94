"""Declarations a benchmark makes about aggregation: its tree, gates and corpus metrics.

- A `Node` sits above tasks (or other nodes): `macro` averages its children's headline values
  (or the metric it names) with equal weights; `micro` pools the item values of every task
  below it.
- A `Formula` is a named value computed from other nodes' values (e.g. a gap between two).
- A `Gate` lets one sample's outcome zero or void another's (a pre-question gating its formal
  question), per model and condition.
- A `Coverage` labels a node's children (e.g. by category and kind) so that reports say, per
  model, which parts of the node it covers and why the others are absent.
- A `CorpusMetric` is computed over all items of a group at once (R@k with penalties, a count
  score); its interval is a seeded bootstrap over items.
- A `JointMetric` is computed from the trial records of several tasks of one model and condition
  at once, joining their items (e.g. a "how" answer counted only where "when" said yes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from omnieval.types import MetricSpec, Sample, TrialRecord


class TreeError(ValueError):
    """The aggregation tree is malformed (unknown child, shared leaf, cycle, missing metric)."""


@dataclass(frozen=True, eq=False)
class Coverage:
    """Labels of a node's children on named axes (`axes=("category", "kind")`, each child ->
    one label per axis, e.g. `("Camera-Object", "QA")`). The node's result then says which
    labels a model covers (a child with a value) and, for the others, the children's outcomes
    (`unsupported`, `failed`, `not run`, `no value`)."""

    axes: tuple[str, ...]
    labels: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Node:
    """An aggregation node over tasks or nodes. `metric=None` aggregates each child's headline;
    a name picks that metric from every child (a task's output of that name, or a node or
    formula that aggregates it), e.g. `metric="ACR"` next to a headline-AA twin. A child that
    lacks the named metric is an error (`if_absent="error"`) or left out like a child not in
    the run (`if_absent="skip"`, for a metric some runs do not produce)."""

    name: str
    children: tuple[str, ...]
    mode: Literal["macro", "micro"] = "macro"
    metric: str | None = None
    level: str = "node"  # a label shown in reports: "category", "stage", "overall"
    if_absent: Literal["error", "skip"] = "error"
    coverage: Coverage | None = None


@dataclass(frozen=True)
class Formula:
    """A named value computed from other nodes' (or tasks') values: their headlines, or the
    metric named by `metric` (picked as for a `Node`; an input lacking it is an error, or with
    `if_absent="skip"` leaves the formula uncomputed, like an input not in the run)."""

    name: str
    inputs: tuple[str, ...]
    compute: Callable[[Mapping[str, float]], float]
    spec: MetricSpec = field(default_factory=lambda: MetricSpec(name="value"))
    level: str = "formula"
    metric: str | None = None
    if_absent: Literal["error", "skip"] = "error"


@dataclass(frozen=True)
class Gate:
    """`gate_task`'s item (found by `link` from the gated sample) must be right for the gated
    item to count; otherwise the gated item is zeroed (`zero`) or left out (`void`). `link` may
    name several gate items: then every one found must be right."""

    gate_task: str
    gated_task: str
    link: Callable[[Sample], str | Sequence[str] | None]
    effect: Literal["zero", "void"] = "zero"
    passes: Callable[[float], bool] = lambda value: value >= 1.0


@dataclass(frozen=True)
class CorpusMetric:
    """A metric over a whole group of trial records (one list per model/condition/group)."""

    spec: MetricSpec
    compute: Callable[[Sequence[TrialRecord]], float]


#: a joint metric's value and the number of items it is computed over
JointValue = tuple[float, int]


@dataclass(frozen=True)
class JointMetric:
    """A value from the records of several tasks of one (model, condition): `compute` gets
    every record of each of `tasks` present in the run (failed ones too, so it decides how they
    count) and returns (value, items), or None when the value is undefined (then not reported).
    Reported as a node with mode `joint` and no interval."""

    name: str
    tasks: tuple[str, ...]
    compute: Callable[[Mapping[str, Sequence[TrialRecord]]], JointValue | None]
    spec: MetricSpec = field(default_factory=lambda: MetricSpec(name="value"))
    level: str = "joint"


def check_tree(nodes: Sequence[Node | Formula], tasks: Sequence[str]) -> None:
    """Refuse unknown children, a child under two parents aggregating the same metric, and
    cycles."""
    known = set(tasks)
    parent: dict[tuple[str, str | None], str] = {}
    for node in nodes:
        if node.name in known:
            raise TreeError(f"aggregation node {node.name!r} is declared twice or names a task")
        children = node.children if isinstance(node, Node) else node.inputs
        for child in children:
            if child not in known:
                raise TreeError(
                    f"node {node.name!r}: unknown child {child!r} (children must be tasks or "
                    "nodes declared before it)"
                )
            if isinstance(node, Node):
                key = (child, node.metric)
                if key in parent:
                    raise TreeError(
                        f"{child!r} sits under both {parent[key]!r} and {node.name!r}; a "
                        "leaf shared between nodes would count twice"
                    )
                parent[key] = node.name
        if isinstance(node, Node) and node.coverage is not None:
            _check_coverage(node, node.coverage)
        known.add(node.name)


def _check_coverage(node: Node, coverage: Coverage) -> None:
    """Every child labelled, once per axis; no label for a non-child."""
    unlabelled = [c for c in node.children if c not in coverage.labels]
    strangers = [c for c in coverage.labels if c not in node.children]
    if unlabelled or strangers:
        raise TreeError(
            f"node {node.name!r}: coverage must label exactly its children "
            f"(unlabelled {unlabelled}, not children {strangers})"
        )
    for child, labels in coverage.labels.items():
        if len(labels) != len(coverage.axes):
            raise TreeError(
                f"node {node.name!r}: coverage labels {child!r} with {list(labels)}, "
                f"one per axis {list(coverage.axes)} expected"
            )
