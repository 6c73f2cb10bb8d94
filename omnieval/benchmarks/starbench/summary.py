"""Upstream's run summary (`performance_summary_<aliases>.csv`): one row per dataset with AA,
ACR and `Samples` (the dataset's distinct items), then a `Final MA` row: the mean of the
datasets' AA and ACR, and the sum of their samples.

As upstream: AA and ACR in percent, each dataset's rounded to two decimals (upstream formats
them as "xx.xx%" and parses them back) before `Final MA` averages them; a perception total is
the mean of its sub-categories' *rounded* percents, rounded again (`upstream_macro`), so it can
differ in the last digit from the exact macro node `starbench/pc:total` of results.json. With
robust evaluation off each item has one run, so upstream's ACR equals its AA; so does ours.
Written by a run as `starbench_summary.csv` (model and condition columns first) and
`starbench_summary.md`."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from omnieval.metric_types import GroupResult, NodeResult

FINAL = "starbench:final-MA"
#: the label of the parity nodes holding upstream's totals (`upstream_totals.py`)
LABEL = "[parity: failed calls count as wrong]"


def upstream_node(base: str, metric: str) -> str:
    """The upstream twin of a dataset or final node: `starbench/tr:upstream-AA [parity: ...]`."""
    return f"{base}:upstream-{metric} {LABEL}"


class Results(Protocol):
    """What the summary reads of a run's results (`omnieval.report.results.RunResults`)."""

    @property
    def groups(self) -> Sequence[GroupResult]: ...

    @property
    def nodes(self) -> Sequence[NodeResult]: ...


def _node(results: Results, model: str, condition: str, name: str) -> NodeResult | None:
    for node in results.nodes:
        if node.model == model and node.condition == condition and node.node == name:
            return node
    return None


def _group(results: Results, model: str, condition: str, task: str) -> GroupResult:
    for group in results.groups:
        if (group.model, group.condition, group.task, group.group) == (
            model,
            condition,
            task,
            "overall",
        ):
            return group
    raise KeyError(f"no overall result of {task} for model={model} condition={condition}")


@dataclass(frozen=True)
class SummaryRow:
    model: str
    condition: str
    dataset: str
    aa: float
    acr: float
    samples: int


def _alias(node: str) -> str:
    """`starbench/pc:total` -> `pc`, `starbench/tr` -> `tr`."""
    return node.removeprefix("starbench/").removesuffix(":total")


def upstream_percent(fraction: float) -> float:
    """A fraction as upstream reports it: percent formatted with two decimals ("xx.xx%") and
    parsed back."""
    return float(f"{100 * fraction:.2f}")


def upstream_macro(percents: Sequence[float]) -> float:
    """Upstream's perception Total: the mean of the sub-categories' already rounded percents,
    itself rounded to two decimals (so 0, 0, 0, 0, 0, 33.33 gives 5.55, not 5.56)."""
    return float(f"{sum(percents) / len(percents):.2f}")


def _aa_acr(group: GroupResult) -> tuple[float, float]:
    aa = group.metrics["AA" if "AA" in group.metrics else "accuracy"].value
    # no ACR: one run per item, where "all runs right" is "the run right"
    acr = group.metrics["ACR"].value if "ACR" in group.metrics else aa
    return aa, acr


def _upstream_rows(results: Results, model: str, condition: str) -> list[SummaryRow]:
    """The datasets' rows from their parity nodes (`scoring: starbench`: failed calls count as
    wrong runs and every item is a sample, as upstream); none when the run has no such nodes."""
    suffix = upstream_node("", "AA")
    rows: list[SummaryRow] = []
    for aa in results.nodes:
        if (aa.model, aa.condition) != (model, condition) or not aa.node.endswith(suffix):
            continue
        base = aa.node.removesuffix(suffix)
        acr = _node(results, model, condition, upstream_node(base, "ACR"))
        if base == FINAL or acr is None:
            continue
        rows.append(
            SummaryRow(model, condition, _alias(base), aa.value.value, acr.value.value, aa.value.n)
        )
    return rows


def _default_row(results: Results, model: str, condition: str, child: str) -> SummaryRow | None:
    """A dataset's row from the run's own totals."""
    if child.endswith(":total"):
        total = _node(results, model, condition, child)
        if total is None:
            return None
        # upstream rounds each sub-category before the macro mean (not the node's value)
        subs = [_aa_acr(_group(results, model, condition, t)) for t in total.children]
        aa = upstream_macro([upstream_percent(a) for a, _ in subs])
        acr = upstream_macro([upstream_percent(c) for _, c in subs])
        samples = sum(_group(results, model, condition, task).items for task in total.children)
    else:
        group = _group(results, model, condition, child)
        aa, acr = (upstream_percent(v) for v in _aa_acr(group))
        samples = group.items
    return SummaryRow(model, condition, _alias(child), aa, acr, samples)


def summary_rows(results: Results) -> list[SummaryRow]:
    """The summary of every (model, condition) that has a `Final MA` node (or its parity twin:
    then the rows are upstream's numbers)."""
    rows: list[SummaryRow] = []
    finals = (FINAL, upstream_node(FINAL, "AA"))
    pairs = dict.fromkeys((n.model, n.condition) for n in results.nodes if n.node in finals)
    for model, condition in pairs:
        datasets = _upstream_rows(results, model, condition)
        if not datasets:
            final = _node(results, model, condition, FINAL)
            children = final.children if final is not None else {}
            found = (_default_row(results, model, condition, child) for child in children)
            datasets = [row for row in found if row is not None]
        if not datasets:
            continue
        rows += datasets
        rows.append(
            SummaryRow(
                model,
                condition,
                "Final MA",
                sum(r.aa for r in datasets) / len(datasets),
                sum(r.acr for r in datasets) / len(datasets),
                sum(r.samples for r in datasets),
            )
        )
    return rows


def summary_csv(rows: list[SummaryRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "condition", "Dataset", "AA", "ACR", "Samples"])
    for r in rows:
        writer.writerow([r.model, r.condition, r.dataset, r.aa, r.acr, r.samples])
    return out.getvalue()


def summary_markdown(rows: list[SummaryRow]) -> str:
    lines = [
        "| model | condition | Dataset | AA | ACR | Samples |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r.model} | {r.condition} | {r.dataset} | {r.aa:.3f} | {r.acr:.3f} | {r.samples} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def report_files(results: Results) -> dict[str, str]:
    """The run-directory files of the summary (none when no run has a `Final MA`)."""
    rows = summary_rows(results)
    if not rows:
        return {}
    return {
        "starbench_summary.csv": summary_csv(rows),
        "starbench_summary.md": summary_markdown(rows),
    }
