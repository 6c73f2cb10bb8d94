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


def _cell(result: GroupResult | None) -> str:
    """Compact `accuracy (low-high) n=answered`, plus failures when there are any."""
    if result is None:
        return ""
    value = result.metrics.get(HEADLINE)
    failed = f" !{result.failed}" if result.failed else ""
    if value is None:
        return f"- n=0{failed}"
    interval = (
        f" ({value.ci_low * 100:.0f}-{value.ci_high * 100:.0f})"
        if value.ci_low is not None and value.ci_high is not None
        else ""
    )
    return f"{value.value * 100:.1f}{interval} n={value.n}{failed}"


def _multi_task(results: RunResults) -> bool:
    return len({g.task for g in results.groups}) > 1


def main_header(results: RunResults) -> tuple[str, ...]:
    task = ("task",) if _multi_task(results) else ()
    return ("model", "variant", *task, "accuracy %", "95% CI", "n", "failed", "unparsed")


def main_rows(results: RunResults) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    multi = _multi_task(results)
    for result in results.overall():
        value, interval = _fmt_metric(result)
        answered = result.trials - result.failed
        task = (result.task,) if multi else ()
        rows.append(
            (
                result.model,
                result.variant,
                *task,
                value,
                interval,
                str(answered),
                _fmt_failed(result),
                str(result.extraction_failed),
            )
        )
    return rows


def group_table(results: RunResults) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Categories as rows, variants as columns: `accuracy [95% CI] n=answered`."""
    variants: list[str] = []
    cells: dict[tuple[str, str, str], dict[str, GroupResult]] = {}
    for result in results.groups:
        if result.group == "overall":
            continue
        if result.variant not in variants:
            variants.append(result.variant)
        cells.setdefault((result.model, result.task, result.group), {})[result.variant] = result
    multi = _multi_task(results)
    header = ("model", *(("task",) if multi else ()), "group", *variants)
    rows = [
        (model, *((task,) if multi else ()), group, *(_cell(by.get(v)) for v in variants))
        for (model, task, group), by in cells.items()
    ]
    return header, rows


def failure_lines(records: list[TrialRecord], limit: int = 10) -> list[str]:
    failed = [r for r in records if r.response.failed]
    lines = [
        f"{r.trial.model} / {r.trial.variant} / {r.trial.sample_id}: {r.response.error}"
        for r in failed[:limit]
    ]
    if len(failed) > limit:
        lines.append(f"... and {len(failed) - limit} more (see samples.jsonl)")
    return lines


def model_summary(fingerprint: dict[str, object]) -> str:
    """Provider and model, and how media reach it (the transport policy), in one line."""
    summary = str(fingerprint.get("provider", "?"))
    if fingerprint.get("model"):
        summary += f" `{fingerprint['model']}`"
    transport = fingerprint.get("transport")
    if isinstance(transport, dict):
        modes = ", ".join(
            f"{k} {transport[k]}" for k in ("video", "audio", "image") if transport.get(k)
        )
        dropped = transport.get("dropped")
        summary += f"; transport: {modes}" + (f" (dropped: {dropped})" if dropped else "")
    return summary


def _markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(out)


def render_markdown(results: RunResults, records: list[TrialRecord]) -> str:
    totals = results.totals
    parts = [
        f"# Leaderboard: {results.run}",
        "",
        _markdown_table(main_header(results), main_rows(results)),
    ]
    header, groups = group_table(results)
    if groups:
        parts += ["", "## By category: accuracy % (95% CI) n=answered, !failed", ""]
        parts.append(_markdown_table(header, groups))
    parts += [
        "",
        f"{totals.trials} trials: {totals.answered} answered, {totals.failed} failed "
        f"({totals.failed_rate:.1%}), {totals.extraction_failed} unparsed answers, "
        f"{totals.retries} retries.",
        "Accuracy is over answered trials; failed trials are excluded and counted in `failed`;",
        "unparsed answers count as wrong. Intervals are 95% Wilson intervals.",
    ]
    if results.models:
        parts += ["", "## Models", ""]
        parts += [f"- `{alias}`: {model_summary(fp)}" for alias, fp in results.models.items()]
    failures = failure_lines(records)
    if failures:
        parts += ["", "## Failed trials", ""] + [f"- {line}" for line in failures]
    return "\n".join(parts) + "\n"


def print_leaderboard(results: RunResults, records: list[TrialRecord], console: Console) -> None:
    if not console.is_terminal:  # a log file or a pipe: no screen to wrap at 80 columns
        console.width = max(console.width, 140)
    tasks = sorted({g.task for g in results.groups})
    table = Table(title=f"omnieval: {results.run} ({', '.join(tasks)})", title_justify="left")
    header = main_header(results)
    for name in header:
        left = name in ("model", "variant", "task")
        table.add_column(name, justify="left" if left else "right", no_wrap=True)
    failed_column = header.index("failed")
    for row in main_rows(results):
        table.add_row(*row, style="red" if row[failed_column] != "0" else None)
    console.print(table)
    group_header, groups = group_table(results)
    if groups:
        by_group = Table(
            title="by category: accuracy % (95% CI) n=answered, !failed", title_justify="left"
        )
        for name in group_header:
            by_group.add_column(name, no_wrap=name in ("model", "group"))
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
