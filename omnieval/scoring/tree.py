"""Declarations a benchmark makes about aggregation: its tree, gates and corpus metrics.

- A `Node` sits above tasks (or other nodes): `macro` averages its children's headline values
  with equal weights; `micro` pools the item values of every task below it.
- A `Formula` is a named value computed from other nodes' values (e.g. a gap between two).
- A `Gate` lets one sample's outcome zero or void another's (a pre-question gating its formal
  question), per model and condition.
- A `CorpusMetric` is computed over all items of a group at once (R@k with penalties, a count
  score); its interval is a seeded bootstrap over items.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from omnieval.types import MetricSpec, Sample, TrialRecord


class TreeError(ValueError):
    """The aggregation tree is malformed (unknown child, shared leaf, cycle, missing metric)."""


@dataclass(frozen=True)
class Node:
    """An aggregation node over tasks or nodes; `metric` defaults to each child's headline."""

    name: str
    children: tuple[str, ...]
    mode: Literal["macro", "micro"] = "macro"
    metric: str | None = None
    level: str = "node"  # a label shown in reports: "category", "stage", "overall"


@dataclass(frozen=True)
class Formula:
    """A named value computed from other nodes' (or tasks') headline values."""

    name: str
    inputs: tuple[str, ...]
    compute: Callable[[Mapping[str, float]], float]
    spec: MetricSpec = field(default_factory=lambda: MetricSpec(name="value"))
    level: str = "formula"


@dataclass(frozen=True)
class Gate:
    """`gate_task`'s item (found by `link` from the gated sample) must be right for the gated
    item to count; otherwise the gated item is zeroed (`zero`) or left out (`void`)."""

    gate_task: str
    gated_task: str
    link: Callable[[Sample], str | None]
    effect: Literal["zero", "void"] = "zero"
    passes: Callable[[float], bool] = lambda value: value >= 1.0


@dataclass(frozen=True)
class CorpusMetric:
    """A metric over a whole group of trial records (one list per model/condition/group)."""

    spec: MetricSpec
    compute: Callable[[Sequence[TrialRecord]], float]


def check_tree(nodes: Sequence[Node | Formula], tasks: Sequence[str]) -> None:
    """Refuse unknown children, a child under two parents, and cycles."""
    known = set(tasks)
    parent: dict[str, str] = {}
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
                if child in parent:
                    raise TreeError(
                        f"{child!r} sits under both {parent[child]!r} and {node.name!r}; a "
                        "leaf shared between nodes would count twice"
                    )
                parent[child] = node.name
        known.add(node.name)
