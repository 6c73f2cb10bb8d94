"""Metric declarations and aggregated results: what a metric is (kind, range, interval method)
and what aggregation produces per group and per node of a benchmark's tree. Re-exported by
`omnieval.types`."""

from __future__ import annotations

import enum
import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from omnieval.frozen import Frozen, variant_as_condition


class MetricKind(str, enum.Enum):
    BINARY = "binary"  # 0 or 1 per trial (accuracy)
    CONTINUOUS = "continuous"  # any real value (an error in seconds)
    BOUNDED = "bounded"  # a score in [low, high] (IoU in [0, 1], a judge's 1-5)
    RANK = "rank"  # a rank or a recall@k


class MetricSpec(Frozen):
    """What a metric is: its kind, direction, range and how its interval is computed.

    `interval`: `auto` picks Wilson for binary metrics without replicates, a clustered (by item)
    standard error with replicates, and a t interval otherwise; `bootstrap` resamples items.
    """

    name: str
    kind: MetricKind = MetricKind.BINARY
    higher_is_better: bool = True
    low: float | None = None
    high: float | None = None
    interval: Literal["auto", "wilson", "t", "bootstrap"] = "auto"
    description: str = ""

    @property
    def percent(self) -> bool:
        """Shown x100 with a % sign: binary metrics and scores bounded in [0, 1]."""
        return self.kind is MetricKind.BINARY or (
            self.kind is MetricKind.BOUNDED and self.low == 0.0 and self.high == 1.0
        )


class MetricValue(Frozen):
    """An aggregate metric with its uncertainty (a 95% interval unless said otherwise)."""

    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    stderr: float | None = None
    #: how the interval was computed (`wilson`, `t`, `clustered`, `bootstrap`, `macro-normal`)
    method: str | None = None
    kind: MetricKind | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _nan_from_null(cls, value: Any) -> Any:
        return math.nan if value is None else value


class GroupResult(Frozen):
    """Aggregated metrics for one (model, condition, task or category) group."""

    model: str
    condition: str
    task: str
    group: str
    metrics: dict[str, MetricValue]
    trials: int
    failed: int
    extraction_failed: int
    unsupported: int = 0
    scoring_errors: int = 0
    items: int = 0
    #: items whose gate question was wrong (zeroed or voided), and items missing their gate
    gated: int = 0
    voided: int = 0
    gate_missing: int = 0

    @model_validator(mode="before")
    @classmethod
    def _accept_variant(cls, data: Any) -> Any:  # results.json schema 1
        return variant_as_condition(data)

    @property
    def variant(self) -> str:
        return self.condition

    @property
    def failed_rate(self) -> float:
        return self.failed / self.trials if self.trials else 0.0


class NodeCoverage(Frozen):
    """Which labelled children of a node (a `Coverage` in the tree) one model covers."""

    axes: tuple[str, ...]
    #: child -> its labels, one per axis (as the tree declares them)
    labels: dict[str, tuple[str, ...]]
    #: child -> `scored` (has a value), `unsupported`, `failed`, `not run` or `no value`
    outcomes: dict[str, str]
    #: first-axis label -> the other axes' labels of its children with a value, e.g.
    #: {"Camera-Object": ["QA", "mask"], "Object-Scene": []}
    covers: dict[str, list[str]]
    #: axis -> label with no child that has a value -> its children's outcomes, e.g.
    #: {"kind": {"mask": "unsupported"}}
    uncovered: dict[str, dict[str, str]]

    def missing_note(self, missing: tuple[str, ...]) -> str:
        """The node's absent children named by their labels: whole labels first
        ("mask (unsupported)"), then any other absent child ("Object-Scene mask (failed)")."""
        parts: list[str] = []
        explained: set[str] = set()
        for index, axis in enumerate(self.axes):
            for label, why in self.uncovered.get(axis, {}).items():
                parts.append(f"{label} ({why})")
                explained |= {c for c, ls in self.labels.items() if ls[index] == label}
        for child in missing:
            if child not in explained:
                named = " ".join(self.labels.get(child, (child,)))
                parts.append(f"{named} ({self.outcomes.get(child, 'not run')})")
        return ", ".join(parts)


class NodeResult(Frozen):
    """An aggregation node above tasks (category, stage, overall, or a named formula), for one
    (model, condition): its value, how it was computed and from which children."""

    model: str
    condition: str
    benchmark: str
    node: str
    level: str
    mode: Literal["macro", "micro", "formula", "joint"]
    metric: str
    value: MetricValue
    #: child name -> its weight in this node's value
    children: dict[str, float] = Field(default_factory=dict)
    #: children planned in the tree but absent from this run (the node is then partial)
    missing: tuple[str, ...] = ()
    #: which labelled children this model covers (nodes declaring a `Coverage` only)
    coverage: NodeCoverage | None = None

    @property
    def partial(self) -> bool:
        return bool(self.missing)
