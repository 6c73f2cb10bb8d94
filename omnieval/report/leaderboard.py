"""The leaderboard: each model x variant with its headline metric, interval and failures.

The same rows are rendered as a rich table in the terminal and as markdown in leaderboard.md.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from omnieval.report.results import RunResults
from omnieval.types import GroupResult, TrialRecord

HEADLINE = "accuracy"


def _fmt_metric(result: GroupResult, metric: str = HEADLINE) -> tuple[str, str]:
    value = result.metrics.get(metric)
    if value is None:
        return "-", "-"
    interval = (
        f"[{value.ci_low * 100:.1f}, {value.ci_high * 100:.1f}]"
        if value.ci_low is not None and value.ci_high is not None
        else "-"
    )
    return f"{value.value * 100:.1f}", interval


def _fmt_failed(result: GroupResult) -> str:
    if not result.failed:
        return "0"
    return f"{result.failed} ({result.failed_rate:.1%})"


MAIN_HEADER = ("model", "variant", "task", "accuracy %", "95% CI", "n", "failed", "unparsed")
GROUP_HEADER = ("model", "variant", "group", "accuracy %", "95% CI", "n", "failed")


def main_rows(results: RunResults) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for result in results.overall():
        value, interval = _fmt_metric(result)
        answered = result.trials - result.failed
        rows.append(
            (
                result.model,
                result.variant,
                result.task,
                value,
                interval,
                str(answered),
                _fmt_failed(result),
                str(result.extraction_failed),
            )
        )
    return rows


def group_rows(results: RunResults) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for result in results.groups:
        if result.group == "overall":
            continue
        value, interval = _fmt_metric(result)
        rows.append(
            (
                result.model,
                result.variant,
                result.group,
                value,
                interval,
                str(result.trials - result.failed),
                _fmt_failed(result),
            )
        )
    return rows


def failure_lines(records: list[TrialRecord], limit: int = 10) -> list[str]:
    failed = [r for r in records if r.response.failed]
    lines = [
        f"{r.trial.model} / {r.trial.variant} / {r.trial.sample_id}: {r.response.error}"
        for r in failed[:limit]
    ]
    if len(failed) > limit:
        lines.append(f"... and {len(failed) - limit} more (see samples.jsonl)")
    return lines


def _markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(out)


def render_markdown(results: RunResults, records: list[TrialRecord]) -> str:
    totals = results.totals
    parts = [f"# Leaderboard: {results.run}", "", _markdown_table(MAIN_HEADER, main_rows(results))]
    groups = group_rows(results)
    if groups:
        parts += ["", "## By category", "", _markdown_table(GROUP_HEADER, groups)]
    parts += [
        "",
        f"{totals.trials} trials: {totals.answered} answered, {totals.failed} failed "
        f"({totals.failed_rate:.1%}), {totals.extraction_failed} unparsed answers, "
        f"{totals.retries} retries.",
        "Accuracy is over answered trials; failed trials are excluded and counted in `failed`;",
        "unparsed answers count as wrong. Intervals are 95% Wilson intervals.",
    ]
    failures = failure_lines(records)
    if failures:
        parts += ["", "## Failed trials", ""] + [f"- {line}" for line in failures]
    return "\n".join(parts) + "\n"


def print_leaderboard(results: RunResults, records: list[TrialRecord], console: Console) -> None:
    table = Table(title=f"omnieval: {results.run}", title_justify="left")
    for name in MAIN_HEADER:
        table.add_column(
            name, justify="right" if name not in ("model", "variant", "task") else "left"
        )
    for row in main_rows(results):
        style = "red" if row[6] != "0" else None
        table.add_row(*row, style=style)
    console.print(table)
    groups = group_rows(results)
    if groups:
        by_group = Table(title="by category", title_justify="left")
        for name in GROUP_HEADER:
            by_group.add_column(name)
        for row in groups:
            by_group.add_row(*row)
        console.print(by_group)
    totals = results.totals
    summary = (
        f"{totals.trials} trials, {totals.answered} answered, {totals.failed} failed "
        f"({totals.failed_rate:.1%}), {totals.extraction_failed} unparsed, {totals.retries} retries"
    )
    console.print(summary, style="bold red" if totals.failed else "bold")
    for line in failure_lines(records, limit=5):
        console.print(f"  failed: {line}", style="red", markup=False, highlight=False)
