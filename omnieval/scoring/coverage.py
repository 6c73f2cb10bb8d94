"""Coverage of a node's children, per model and condition: which labelled children (a
`Coverage` in the benchmark's tree, e.g. category x kind) have a value, and why the others do
not (every trial unsupported, every trial failed, not part of the run)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omnieval.metric_types import GroupResult, NodeCoverage
from omnieval.scoring.tree import Coverage

SCORED = "scored"
UNSUPPORTED = "unsupported"
FAILED = "failed"
NOT_RUN = "not run"
NO_VALUE = "no value"


def task_outcome(group: GroupResult | None, has_value: bool) -> str:
    """One task's outcome for a model: `scored` when it has a headline value, else what its
    trials were (all unsupported, failed or a mix without a value), `not run` without trials."""
    if has_value:
        return SCORED
    if group is None or not group.trials:
        return NOT_RUN
    if group.unsupported == group.trials:
        return UNSUPPORTED
    if group.failed + group.unsupported == group.trials:
        return FAILED
    return NO_VALUE


def node_outcome(children: Sequence[str], outcomes: Mapping[str, str]) -> str:
    """The outcome of a node without a value: its children's, one word when they agree."""
    found = list(dict.fromkeys(outcomes.get(c, NOT_RUN) for c in children))
    return ", ".join(found) if found else NOT_RUN


def node_coverage(coverage: Coverage, outcomes: Mapping[str, str]) -> NodeCoverage:
    """What one model covers of a node's labelled children, given each child's outcome."""
    children = list(coverage.labels)
    of_child = {c: outcomes.get(c, NOT_RUN) for c in children}
    scored = [c for c in children if of_child[c] == SCORED]
    covers: dict[str, list[str]] = {}
    for child in children:
        first, *rest = coverage.labels[child]
        kinds = covers.setdefault(first, [])
        if child in scored and rest:
            kinds.append("/".join(rest))
    uncovered: dict[str, dict[str, str]] = {}
    for index, axis in enumerate(coverage.axes):
        labels = list(dict.fromkeys(coverage.labels[c][index] for c in children))
        for label in labels:
            members = [c for c in children if coverage.labels[c][index] == label]
            if not any(c in scored for c in members):
                uncovered.setdefault(axis, {})[label] = node_outcome(members, of_child)
    return NodeCoverage(
        axes=coverage.axes,
        labels={c: tuple(coverage.labels[c]) for c in children},
        outcomes=of_child,
        covers=covers,
        uncovered=uncovered,
    )
