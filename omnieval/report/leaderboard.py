"""The leaderboard: each model x condition with its headline metric(s), interval and counts.

Values are formatted by metric kind (binary and [0, 1]-bounded metrics as percentages), and the
footer names the interval method of every number shown. The same rows are rendered as a rich
table in the terminal and as markdown in leaderboard.md.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from omnieval.report.coverage import coverage_tables, partial_note
from omnieval.report.results import RunResults
from omnieval.types import GroupResult, MetricSpec, MetricValue, TrialRecord

METHODS = {
    "wilson": "95% Wilson score interval over trials",
    "clustered": "95% t interval over item means (clustered by item)",
    "t": "95% Student t interval",
    "bootstrap": "95% percentile bootstrap over items (seeded)",
    "macro-normal": "95% normal interval from the children's standard errors",
    "joint": "no interval (a value joining the items of several tasks)",
}


def _spec(results: RunResults, task: str, metric: str) -> MetricSpec:
    info = results.tasks.get(task)
    if info is not None:
        for spec in info.metrics:
            if spec.name == metric:
                return spec
    return MetricSpec(name=metric)


def _percent(spec: MetricSpec, value: MetricValue | None = None) -> bool:
    if value is not None and value.kind is not None:
        return spec.model_copy(update={"kind": value.kind}).percent
    return spec.percent


def fmt_value(value: MetricValue | None, percent: bool) -> tuple[str, str]:
    """(value, interval) as text; percentages x100 with one decimal, others 3 decimals."""
    if value is None or value.value != value.value:  # missing or NaN
        return "-", "-"
    scale, digits = (100.0, 1) if percent else (1.0, 3)
    text = f"{value.value * scale:.{digits}f}"
    if value.ci_low is None or value.ci_high is None:
        return text, "-"
    return text, f"[{value.ci_low * scale:.{digits}f}, {value.ci_high * scale:.{digits}f}]"


def display_metrics(results: RunResults, task: str) -> list[str]:
    """The headline and its replicate siblings (AA and ACR), in declared order."""
    info = results.tasks.get(task)
    if info is None:
        return ["accuracy"]
    return info.display or [info.headline]


def _columns(results: RunResults) -> list[str]:
    seen: dict[str, None] = {}
    for task in dict.fromkeys(g.task for g in results.groups):
        for name in display_metrics(results, task):
            seen.setdefault(name, None)
    return list(seen)


def _multi_task(results: RunResults) -> bool:
    return len({g.task for g in results.groups}) > 1


def _extra_counts(results: RunResults) -> list[str]:
    extra = []
    if any(g.unsupported for g in results.groups):
        extra.append("unsupported")
    if any(g.scoring_errors for g in results.groups):
        extra.append("scoring errors")
    if any(g.gated or g.voided or g.gate_missing for g in results.groups):
        extra.append("gated")
    return extra


def _label(results: RunResults, name: str) -> str:
    task = next((t for t, info in results.tasks.items() if name in display_metrics(results, t)), "")
    return f"{name} %" if _percent(_spec(results, task, name)) else name


def main_header(results: RunResults) -> tuple[str, ...]:
    task = ("task",) if _multi_task(results) else ()
    columns = _columns(results)
    metric_cells: list[str] = []
    for name in columns:
        metric_cells += [_label(results, name), "95% CI" if len(columns) == 1 else f"{name} CI"]
    return (
        "model",
        "condition",
        *task,
        *metric_cells,
        "n",
        "failed",
        "unparsed",
        *_extra_counts(results),
    )


def _fmt_failed(result: GroupResult) -> str:
    if not result.failed:
        return "0"
    return f"{result.failed} ({result.failed_rate:.1%})"


def main_rows(results: RunResults) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    multi = _multi_task(results)
    columns = _columns(results)
    extra = _extra_counts(results)
    for result in results.overall():
        cells: list[str] = []
        for name in columns:
            value = result.metrics.get(name)
            cells += list(fmt_value(value, _percent(_spec(results, result.task, name), value)))
        answered = result.trials - result.failed - result.unsupported
        info = results.tasks.get(result.task)
        n = str(result.items) if info is not None and info.replicated else str(answered)
        counts = {
            "unsupported": str(result.unsupported),
            "scoring errors": str(result.scoring_errors),
            "gated": f"{result.gated} zeroed, {result.voided} void, {result.gate_missing} no gate",
        }
        rows.append(
            (
                result.model,
                result.condition,
                *((result.task,) if multi else ()),
                *cells,
                n,
                _fmt_failed(result),
                str(result.extraction_failed),
                *(counts[e] for e in extra),
            )
        )
    return rows + chance_rows(results)


CHANCE = "chance"


def chance_rows(results: RunResults) -> list[tuple[str, ...]]:
    """One `chance` row per task that has a chance level: a uniform guess's expected value of
    each displayed accuracy output (no interval; other metrics `-`)."""
    rows: list[tuple[str, ...]] = []
    multi = _multi_task(results)
    columns = _columns(results)
    extra = _extra_counts(results)
    for task in dict.fromkeys(g.task for g in results.groups):
        info = results.tasks.get(task)
        if info is None or not info.chance:
            continue
        cells: list[str] = []
        for name in columns:
            level = info.chance.get(name)
            if level is None:
                cells += ["-", "-"]
                continue
            value = MetricValue(value=level, n=0)
            cells += [fmt_value(value, _percent(_spec(results, task, name)))[0], "-"]
        rows.append(
            (
                CHANCE,
                "uniform guess",
                *((task,) if multi else ()),
                *cells,
                "-",
                "-",
                "-",
                *("-" for _ in extra),
            )
        )
    return rows


def chance_note(results: RunResults) -> str | None:
    if not any(info.chance for info in results.tasks.values()):
        return None
    return (
        "chance: the expected score of a uniform guess among each item's options (shown for "
        "accuracy and its replicate reductions AA / ACR only)"
    )


def _cell(results: RunResults, result: GroupResult | None) -> str:
    """Compact `value (low-high) n=answered`, plus failures when there are any."""
    if result is None:
        return ""
    name = results.headline(result.task)
    value = result.metrics.get(name)
    failed = f" !{result.failed}" if result.failed else ""
    if value is None:
        return f"- n=0{failed}"
    percent = _percent(_spec(results, result.task, name), value)
    scale, digits = (100.0, 1) if percent else (1.0, 3)
    short = max(0, digits - 1)
    interval = (
        f" ({value.ci_low * scale:.{short}f}-{value.ci_high * scale:.{short}f})"
        if value.ci_low is not None and value.ci_high is not None
        else ""
    )
    return f"{value.value * scale:.{digits}f}{interval} n={value.n}{failed}"


def group_table(results: RunResults) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Categories as rows, conditions as columns: `headline (95% CI) n=answered`."""
    conditions: list[str] = []
    cells: dict[tuple[str, str, str], dict[str, GroupResult]] = {}
    for result in results.groups:
        if result.group == "overall":
            continue
        if result.condition not in conditions:
            conditions.append(result.condition)
        cells.setdefault((result.model, result.task, result.group), {})[result.condition] = result
    multi = _multi_task(results)
    header = ("model", *(("task",) if multi else ()), "group", *conditions)
    rows = [
        (
            model,
            *((task,) if multi else ()),
            group,
            *(_cell(results, by.get(c)) for c in conditions),
        )
        for (model, task, group), by in cells.items()
    ]
    return header, rows


def node_rows(results: RunResults) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for node in results.nodes:
        percent = _percent(MetricSpec(name=node.metric), node.value)
        value, interval = fmt_value(node.value, percent)
        note = partial_note(node)
        rows.append(
            (
                node.model,
                node.condition,
                f"{node.node} ({node.level})",
                f"{node.metric}{' %' if percent else ''}",
                value,
                interval,
                node.mode,
                note,
            )
        )
    return rows


NODE_HEADER = ("model", "condition", "node", "metric", "value", "95% CI", "mode", "note")


def failure_lines(records: list[TrialRecord], limit: int = 10) -> list[str]:
    failed = [r for r in records if r.response.failed]
    lines = [
        f"{r.trial.model} / {r.trial.condition}"
        f"{' / ' + r.trial.replicate if r.trial.replicate else ''} / {r.trial.sample_id}: "
        f"{r.response.error}"
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


def methods_used(results: RunResults) -> list[str]:
    found: dict[str, None] = {}
    for group in results.overall():
        for name in display_metrics(results, group.task):
            value = group.metrics.get(name)
            if value is not None and value.method:
                found.setdefault(value.method, None)
    for node in results.nodes:
        if node.value.method:
            found.setdefault(node.value.method, None)
    return [f"{m}: {METHODS.get(m, m)}" for m in found]


def scoring_lines(results: RunResults) -> list[str]:
    return [
        f"`{task}`: " + ", ".join(f"{k}={v}" for k, v in info.scoring.items())
        for task, info in results.tasks.items()
        if info.scoring
    ]


def _markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(out)


def _totals_line(results: RunResults, terminal: bool = False) -> str:
    totals = results.totals
    line = (
        f"{totals.trials} trials, {totals.answered} answered, {totals.failed} failed "
        f"({totals.failed_rate:.1%}), {totals.extraction_failed} unparsed, "
        f"{totals.retries} retries"
        if terminal
        else f"{totals.trials} trials: {totals.answered} answered, {totals.failed} failed "
        f"({totals.failed_rate:.1%}), {totals.extraction_failed} unparsed answers, "
        f"{totals.retries} retries"
    )
    if totals.unsupported:
        line += f", {totals.unsupported} unsupported"
    if totals.scoring_errors:
        line += f", {totals.scoring_errors} scoring errors"
    return line if terminal else line + "."


PROBE_HEADER = ("model", "path", "declared", "sent", "correct", "verdict")


def probe_lines(results: RunResults) -> list[str]:
    """The wiring probe's verdicts (omnieval.probe) as a markdown section, if the run has them."""
    rows: list[tuple[str, ...]] = [
        (
            f"`{alias}`",
            str(row.get("path")),
            str(row.get("declared")),
            str(row.get("sent")),
            f"{row.get('correct')}/{row.get('n')} (chance {float(row.get('chance', 0)):.2f})",
            str(row.get("verdict")) + (f": {row['why']}" if row.get("why") else ""),
        )
        for alias, paths in results.probe.items()
        for row in paths
    ]
    if not rows:
        return []
    return ["", "## Wiring probe", "", _markdown_table(PROBE_HEADER, rows)]


def acuity_lines(results: RunResults) -> list[str]:
    """PSS and JND in ms (95% bootstrap intervals) per model, condition and task."""

    def ms(value: float | None, ci: tuple[float, float] | None, sign: str) -> str:
        if value is None:
            return "n/a"
        interval = f" [{ci[0]:{sign}.0f}, {ci[1]:{sign}.0f}]" if ci else ""
        return f"{value:{sign}.0f} ms{interval}"

    return [
        f"{a.model} / {a.condition} / {a.task}: "
        + (
            f"{a.note}"
            if a.pss_ms is None
            else f"PSS {ms(a.pss_ms, a.pss_ci, '+')}, JND {ms(a.jnd_ms, a.jnd_ci, '')}"
        )
        for a in results.acuity
    ]


def probe_summary(alias: str, rows: list[dict[str, Any]]) -> str:
    """One line: how many probe paths reach the model, and which do not."""
    reach = [r for r in rows if r.get("verdict") == "reaches"]
    other = [f"{r.get('path')} ({r.get('verdict')})" for r in rows if r not in reach]
    line = f"wiring probe {alias}: {len(reach)}/{len(rows)} paths reach"
    return line + (f"; not: {', '.join(other)}" if other else "")


def render_markdown(results: RunResults, records: list[TrialRecord]) -> str:
    parts = [
        f"# Leaderboard: {results.run}",
        "",
        _markdown_table(main_header(results), main_rows(results)),
    ]
    nodes = node_rows(results)
    if nodes:
        parts += ["", "## Aggregates", "", _markdown_table(NODE_HEADER, nodes)]
    for title, cov_header, cov_rows in coverage_tables(results):
        parts += ["", f"## {title}", "", _markdown_table(cov_header, cov_rows)]
    header, groups = group_table(results)
    if groups:
        parts += ["", "## By category: headline (95% CI) n=answered, !failed", ""]
        parts.append(_markdown_table(header, groups))
    parts += [
        "",
        _totals_line(results),
        "Metrics are over answered trials; failed trials are excluded and counted in `failed`",
        "(with replicates, a failed replicate counts against its item); unparsed answers and",
        "scoring errors count as wrong; unsupported trials are reported apart.",
        "Intervals: " + "; ".join(methods_used(results)) + ".",
    ]
    note = chance_note(results)
    if note:
        parts.append(note[0].upper() + note[1:] + ".")
    scoring = scoring_lines(results)
    if scoring:
        parts += ["", "## Scoring", ""] + [f"- {line}" for line in scoring]
    parts += probe_lines(results)
    acuity = acuity_lines(results)
    if acuity:
        parts += ["", "## Temporal acuity", ""] + [f"- {line}" for line in acuity]
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
        left = name in ("model", "condition", "task")
        table.add_column(name, justify="left" if left else "right", no_wrap=True)
    failed_column = header.index("failed")
    for row in main_rows(results):
        style = "dim" if row[0] == CHANCE else ("red" if row[failed_column] != "0" else None)
        table.add_row(*row, style=style)
    console.print(table)
    nodes = node_rows(results)
    if nodes:
        node_table = Table(title="aggregates", title_justify="left")
        for name in NODE_HEADER:
            node_table.add_column(name, no_wrap=name in ("model", "node"))
        for row in nodes:
            node_table.add_row(*row)
        console.print(node_table)
    for title, cov_header, cov_rows in coverage_tables(results):
        cov_table = Table(title=title, title_justify="left")
        for name in cov_header:
            cov_table.add_column(name, no_wrap=name == "model")
        for row in cov_rows:
            cov_table.add_row(*row)
        console.print(cov_table)
    group_header, groups = group_table(results)
    if groups:
        by_group = Table(
            title="by category: headline (95% CI) n=answered, !failed", title_justify="left"
        )
        for name in group_header:
            by_group.add_column(name, no_wrap=name in ("model", "group"))
        for row in groups:
            by_group.add_row(*row)
        console.print(by_group)
    console.print(
        _totals_line(results, terminal=True),
        style="bold red" if results.totals.failed else "bold",
        markup=False,
        highlight=False,
    )
    for method in methods_used(results):
        console.print(f"  interval {method}", markup=False, highlight=False)
    note = chance_note(results)
    if note:
        console.print(f"  {note}", markup=False, highlight=False)
    for task, info in results.tasks.items():
        if info.scoring:
            settings = ", ".join(f"{k}={v}" for k, v in info.scoring.items())
            console.print(
                f"  scoring: {task} scored with {settings}", markup=False, highlight=False
            )
    for alias, fingerprint in results.models.items():
        console.print(
            f"  model {alias}: {model_summary(fingerprint)}".replace("`", ""),
            markup=False,
            highlight=False,
        )
    for alias, rows in results.probe.items():
        console.print(f"  {probe_summary(alias, rows)}", markup=False, highlight=False)
    for line in acuity_lines(results):
        console.print(f"  temporal acuity {line}", markup=False, highlight=False)
    for line in failure_lines(records, limit=5):
        console.print(f"  failed: {line}", style="red", markup=False, highlight=False)
