"""`omnieval leaderboard RUN...`: several runs merged into one table (markdown, CSV or HTML).

Runs merge only when every task they share was evaluated the same way: its fingerprint (data,
prompt, version) and its scoring settings are equal in every run's manifest. Otherwise the merge
is refused with the task, the runs and the keys that differ. A model alias that occurs in more
than one run is shown as `alias (run)`.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path
from typing import Any, Literal

from omnieval.report.leaderboard import fmt_value
from omnieval.report.results import RunResults, read_results
from omnieval.runner import rundir
from omnieval.types import MetricValue

Format = Literal["md", "csv", "html"]
HEADER = (
    "model",
    "run",
    "condition",
    "task",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "failed",
    "unsupported",
)


class MergeError(ValueError):
    """The runs cannot be merged (different task fingerprints, missing files)."""


def task_identity(manifest: dict[str, Any], task: str) -> dict[str, Any]:
    entry = (manifest.get("tasks") or {}).get(task) or {}
    return {"fingerprint": entry.get("fingerprint"), "scoring": entry.get("scoring")}


def check_mergeable(runs: list[Path]) -> dict[Path, RunResults]:
    """Read each run's results; raise `MergeError` when shared tasks differ."""
    loaded: dict[Path, RunResults] = {}
    seen: dict[str, tuple[Path, dict[str, Any]]] = {}
    problems: list[str] = []
    for run in runs:
        results_path = run / rundir.RESULTS
        if not results_path.is_file():
            raise MergeError(f"{run}: no {rundir.RESULTS} (not a finished run directory)")
        loaded[run] = read_results(results_path)
        manifest = rundir.read_manifest(run)
        for task in loaded[run].tasks:
            identity = task_identity(manifest, task)
            if task not in seen:
                seen[task] = (run, identity)
                continue
            first_run, first = seen[task]
            if identity != first:
                keys = _differing_keys(first, identity)
                problems.append(
                    f"task {task!r} differs between {first_run} and {run}: {', '.join(keys)}"
                )
    if problems:
        raise MergeError(
            "refusing to merge runs whose task fingerprints differ (their scores are not "
            "comparable):\n  " + "\n  ".join(problems)
        )
    return loaded


def _differing_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        found: list[str] = []
        for key in sorted(set(a) | set(b)):
            found += _differing_keys(a.get(key), b.get(key), f"{prefix}{key}.")
        return found
    return [] if a == b else [f"{prefix.rstrip('.')} ({a!r} vs {b!r})"]


def merged_rows(loaded: dict[Path, RunResults]) -> list[dict[str, Any]]:
    """One row per run x model x condition x task (the task's headline outputs)."""
    aliases: dict[str, set[Path]] = {}
    for run, results in loaded.items():
        for group in results.groups:
            aliases.setdefault(group.model, set()).add(run)
    rows = []
    for run, results in loaded.items():
        for group in results.overall():
            info = results.tasks.get(group.task)
            names = info.display if info and info.display else [results.headline(group.task)]
            label = group.model if len(aliases[group.model]) == 1 else f"{group.model} ({run.name})"
            for name in names:
                value = group.metrics.get(name)
                rows.append(
                    {
                        "model": label,
                        "run": run.name,
                        "condition": group.condition,
                        "task": group.task,
                        "metric": name,
                        "value": value.value if value else None,
                        "ci_low": value.ci_low if value else None,
                        "ci_high": value.ci_high if value else None,
                        "n": value.n if value else 0,
                        "failed": group.failed,
                        "unsupported": group.unsupported,
                    }
                )
    rows.sort(key=lambda r: (r["task"], r["condition"], r["metric"], -float(r["value"] or 0.0)))
    return rows


def render(rows: list[dict[str, Any]], fmt: Format) -> str:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    cells = [_display(row) for row in rows]
    header = ("model", "run", "condition", "task", "metric", "value (95% CI)", "n", "failed")
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(lines) + "\n"
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in cells
    )
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>omnieval leaderboard</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>Leaderboard</h1><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
        "</table></body></html>\n"
    )


def _display(row: dict[str, Any]) -> tuple[str, ...]:
    value = None
    if row["value"] is not None:
        value = MetricValue(
            value=row["value"], n=row["n"], ci_low=row["ci_low"], ci_high=row["ci_high"]
        )
    text, interval = fmt_value(value, percent=False)
    text = f"{text} {interval}" if interval != "-" else text
    return (
        row["model"],
        row["run"],
        row["condition"],
        row["task"],
        row["metric"],
        text,
        str(row["n"]),
        str(row["failed"]),
    )


def merge_leaderboards(runs: list[Path], fmt: Format = "md") -> str:
    if not runs:
        raise MergeError("give at least one run directory")
    return render(merged_rows(check_mergeable(runs)), fmt)
