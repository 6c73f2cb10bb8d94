"""Running the probe set through a model's real path and recording the verdicts.

`probe_model` runs the `probe` benchmark for one model as an ordinary run (journaled, so a
second probe of the same model is instant) in `<output>/probe-<alias>/`, then turns its records
into verdicts (`omnieval.probe.verdict`) and writes them to that directory's `probe.json`.
`probe_models` does it for every model of a run config (`probe: true`) and writes the run's own
`probe.json`, which results.json, the leaderboard and the manifest pick up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from omnieval.api import evaluate_config
from omnieval.config import BenchmarkSpec, ModelSpec, Redactor, RunConfig
from omnieval.models.base import Model
from omnieval.probe import ProbeFailedError
from omnieval.probe.verdict import TABLE_HEADER, PathVerdict, table_rows, verdicts
from omnieval.runner import rundir
from omnieval.runner.journal import Journal
from omnieval.runner.plan import build_model
from omnieval.types import Modality

PROBE_FILE = rundir.PROBE


@dataclass(frozen=True)
class ProbeReport:
    """One model's probe: its verdict rows and the run directory that holds its trials."""

    alias: str
    rows: tuple[PathVerdict, ...]
    run_dir: Path

    @property
    def loud(self) -> list[PathVerdict]:
        return [row for row in self.rows if row.loud]

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.alias,
            "probe_run": str(self.run_dir),
            "paths": [row.as_dict() for row in self.rows],
        }


def declared_inputs(model: Model) -> frozenset[Modality]:
    return frozenset(model.capabilities.inputs)


def probe_model(
    spec: ModelSpec,
    output: Path,
    seed: int = 0,
    model: Model | None = None,
    redactor: Redactor | None = None,
    console: Console | None = None,
    cache_dir: Path | None = None,
    plugins: Sequence[str] = (),
) -> ProbeReport:
    """Probe one model (built from `spec` unless `model` is given); see the module docstring."""
    built = model if model is not None else build_model(spec, seed)
    config = RunConfig(
        name=f"probe-{spec.alias}",
        output=output,
        seed=seed,
        benchmarks=[BenchmarkSpec(name="probe", args={"seed": seed})],
        models=[spec],
        cache_dir=cache_dir,
        plugins=list(plugins),
        doctor=False,
        progress=False,
    )
    outcome = evaluate_config(
        config,
        redactor,
        models={spec.alias: built},
        console=console or Console(stderr=True, quiet=True),
        show=False,
    )
    journal = Journal(outcome.run_dir / rundir.JOURNAL)
    try:
        requests = {key: json.loads(body) for key, body in journal.request_bodies().items()}
    finally:
        journal.close()
    report = ProbeReport(
        alias=spec.alias,
        rows=tuple(
            verdicts(
                outcome.records,
                declared_inputs(built),
                requests,
                has_transport="transport" in built.fingerprint(),
            )
        ),
        run_dir=outcome.run_dir,
    )
    write_probe_file(outcome.run_dir, [report])
    return report


def write_probe_file(run_dir: Path, reports: Sequence[ProbeReport]) -> Path:
    path = run_dir / PROBE_FILE
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    content = {"omnieval_probe": 1, "models": {r.alias: r.as_dict() for r in reports}}
    tmp.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def probe_models(
    config: RunConfig,
    redactor: Redactor | None,
    models: dict[str, Model] | None,
    console: Console,
    allow_unreached: bool = False,
) -> list[ProbeReport]:
    """Probe every model of `config` before its benchmarks (config `probe: true`); write the
    verdicts to the run directory's probe.json; raise `ProbeFailedError` on a loud verdict
    unless `allow_unreached` (or the config's `probe_allow_unreached`)."""
    reports = []
    for spec in config.models:
        given = (models or {}).get(spec.alias)
        console.print(f"probing {spec.alias}: does every modality reach it?")
        report = probe_model(
            spec,
            config.run_dir / "probe",
            seed=config.seed,
            model=given,
            redactor=redactor,
            console=console,
            cache_dir=config.cache_dir,
            plugins=config.plugins,
        )
        print_table(report, console)
        reports.append(report)
    write_probe_file(config.run_dir, reports)
    loud = [(r.alias, row) for r in reports for row in r.loud]
    if loud and not (allow_unreached or config.probe_allow_unreached):
        names = "; ".join(f"{alias}: {row.path}" for alias, row in loud)
        raise ProbeFailedError(
            f"the wiring probe found declared inputs that do not reach the model ({names}). "
            "Fix the model's transport or declared inputs, or allow it with "
            "`probe_allow_unreached: true` (CLI: --allow-unreached). "
            f"Details: {config.run_dir / PROBE_FILE}"
        )
    return reports


def print_table(report: ProbeReport, console: Console) -> None:
    if not console.is_terminal:  # a log or a pipe: no screen to wrap at 80 columns
        console.width = max(console.width, 160)
    table = Table(title=f"wiring probe: {report.alias}", title_justify="left")
    for column in TABLE_HEADER:
        table.add_column(column, overflow="fold")
    styles = {"reaches": "green", "does not reach": "bold red", "dropped by policy": "yellow"}
    for row, cells in zip(report.rows, table_rows(report.rows), strict=True):
        table.add_row(*cells, style=styles.get(row.verdict))
    console.print(table)
    for row in report.loud:
        console.print(
            f"[bold red]{report.alias}: the {row.path} path does not reach the model[/] "
            f"({row.correct}/{row.n} correct, chance {row.chance:.2f}); the model declares "
            f"{row.declared} and the request carried it ({row.sent})"
        )
