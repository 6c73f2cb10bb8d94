"""The published Level 3 aggregates as joint metrics of a run (in results.json and the leaderboard).

Each is computed per model and condition from the journaled trials of `vsync/how` joined with
`vsync/when` (the same item, its first replicate), by `level23_report.summarize`, the one
implementation of the protocol (`level23_metrics.how_metrics` holds the formulas):

| node | HowMetrics field | needs the when task |
|---|---|---|
| `QGold` | qgold: mean quality over all YES items | no |
| `QEns` | qens: mean quality where "when" said YES and the answer is non-empty | yes |
| `Cov+` | cov_plus: covered YES items, percent | yes |
| `QEns_joint` | qens_joint = QEns x Cov+ / 100 | yes |
| `zeros` | zeros: YES items scored 0 | no |
| `upstream_q2_avg [parity: ...]` | upstream_q2_avg (only with the parity switch) | yes |
| `upstream_q1_accuracy [parity: ...]` | upstream's printed q1_accuracy (parity switch) | yes |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from omnieval.benchmarks.vsync.level2_loader import HOW_TASK, WHEN_TASK
from omnieval.benchmarks.vsync.level23_report import summarize
from omnieval.scoring.tree import JointMetric, JointValue
from omnieval.types import MetricKind, MetricSpec, TrialRecord

PARITY_NODE = "upstream_q2_avg [parity: upstream bug, averages only scores > 0]"
#: upstream's printed Level 2 accuracy: an item whose how-answer failed counts wrong
PARITY_Q1_NODE = "upstream_q1_accuracy [parity: upstream's Level 2 printout]"

#: (node name, HowMetrics field, needs the when task joined)
_AGGREGATES: tuple[tuple[str, str, bool], ...] = (
    ("QGold", "qgold", False),
    ("QEns", "qens", True),
    ("Cov+", "cov_plus", True),
    ("QEns_joint", "qens_joint", True),
    ("zeros", "zeros", False),
)


Compute = Callable[[Mapping[str, Sequence[TrialRecord]]], JointValue | None]


def _compute(field: str, needs_when: bool, positive_only: bool) -> Compute:
    def compute(records: Mapping[str, Sequence[TrialRecord]]) -> JointValue | None:
        if HOW_TASK not in records or (needs_when and WHEN_TASK not in records):
            return None
        rows = summarize(
            [r for task in (WHEN_TASK, HOW_TASK) for r in records.get(task, ())],
            positive_only=positive_only,
        )
        how = rows[0].get("how") if len(rows) == 1 else None
        if how is None or how[field] is None:
            return None
        return float(how[field]), int(how["positives"])

    return compute


def _compute_upstream_q1(records: Mapping[str, Sequence[TrialRecord]]) -> JointValue | None:
    if HOW_TASK not in records or WHEN_TASK not in records:
        return None
    rows = summarize([r for t in (WHEN_TASK, HOW_TASK) for r in records[t]], positive_only=True)
    upstream = rows[0].get("upstream") if len(rows) == 1 else None
    if upstream is None:
        return None
    return float(upstream["q1_accuracy"]), int(upstream["q1_total"])


def level3_joint_metrics(positive_only: bool = False) -> list[JointMetric]:
    """QGold, QEns, Cov+, QEns_joint and zeros; with `positive_only` also upstream's mean of
    the scores above 0, labelled as the bug it reproduces."""
    chosen = [*_AGGREGATES, *([(PARITY_NODE, "upstream_q2_avg", True)] if positive_only else [])]
    parity_q1 = JointMetric(
        name=PARITY_Q1_NODE,
        tasks=(WHEN_TASK, HOW_TASK),
        compute=_compute_upstream_q1,
        spec=MetricSpec(name="upstream_q1_accuracy", kind=MetricKind.CONTINUOUS),
        level="level 2",
    )
    return [
        *([parity_q1] if positive_only else []),
        *[
            JointMetric(
                name=name,
                tasks=(WHEN_TASK, HOW_TASK),
                compute=_compute(field, needs_when, positive_only),
                spec=MetricSpec(
                    name=field, kind=MetricKind.CONTINUOUS, higher_is_better=field != "zeros"
                ),
                level="level 3",
            )
            for name, field, needs_when in chosen
        ],
    ]


__all__ = ["PARITY_NODE", "PARITY_Q1_NODE", "level3_joint_metrics"]
