"""Coverage tables for the reports: per node that declares a `Coverage`, one row per model and
condition saying which labels it covers (e.g. per category the kinds with a value) and what is
not covered and why (`mask (unsupported)`, `Object-Scene (not run)`)."""

from __future__ import annotations

from omnieval.metric_types import NodeCoverage, NodeResult
from omnieval.report.results import RunResults

#: (title, header, rows) of one node's coverage table
CoverageTable = tuple[str, tuple[str, ...], list[tuple[str, ...]]]


def partial_note(node: NodeResult) -> str:
    """The leaderboard's note for a partial node: absent children named by their labels when
    the node declares a coverage, else by name."""
    if not node.missing:
        return ""
    if node.coverage is not None:
        return f"partial: no {node.coverage.missing_note(node.missing)}"
    return f"partial: no {', '.join(node.missing)}"


def coverage_tables(results: RunResults) -> list[CoverageTable]:
    by_node: dict[str, list[NodeResult]] = {}
    for node in results.nodes:
        if node.coverage is not None:
            by_node.setdefault(node.node, []).append(node)
    tables: list[CoverageTable] = []
    for name, nodes in by_node.items():
        first: list[str] = []
        for node in nodes:
            assert node.coverage is not None
            first += [label for label in node.coverage.covers if label not in first]
        axes = nodes[0].coverage.axes if nodes[0].coverage is not None else ()
        title = f"Coverage of {name}" + (f" ({' x '.join(axes)})" if axes else "")
        header = ("model", "condition", *first, "not covered")
        rows = [
            (node.model, node.condition, *_cells(node.coverage, first), _uncovered(node))
            for node in nodes
            if node.coverage is not None
        ]
        tables.append((title, header, rows))
    return tables


def _cells(coverage: NodeCoverage, labels: list[str]) -> list[str]:
    cells = []
    for label in labels:
        if label not in coverage.covers:
            cells.append("")
            continue
        scored = coverage.covers[label]
        below = len(coverage.axes) > 1
        if below:
            cells.append(", ".join(scored) if scored else "-")
        else:
            cells.append(
                "yes" if label not in coverage.uncovered.get(coverage.axes[0], {}) else "-"
            )
    return cells


def _uncovered(node: NodeResult) -> str:
    assert node.coverage is not None
    return node.coverage.missing_note(node.missing) if node.missing else "-"
