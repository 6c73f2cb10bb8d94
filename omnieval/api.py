"""The public Python API; the CLI is a thin layer over these functions.

from omnieval import api
outcome = api.evaluate({
    "name": "try",
    "benchmarks": [{"name": "vsync", "args": {"data_dir": "my-vsync"}}],
    "models": ["random", "vsync-solver"],
})
outcome.results.find("vsync-solver", "avt").metrics["accuracy"].value
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from omnieval.config import Redactor, RunConfig, load_run_config, resolve_run_config
from omnieval.media import MediaProblem, find_media_problems
from omnieval.models.base import Model
from omnieval.report.outputs import write_outputs
from omnieval.report.results import RunResults
from omnieval.runner import rundir, signals
from omnieval.runner.memory import bulk_objects
from omnieval.runner.plan import select_tasks
from omnieval.runner.run import RunState, execute_async, rescore_journal
from omnieval.runner.services import JudgeSource
from omnieval.types import TrialRecord

__all__ = ["RunOutcome", "doctor", "evaluate", "evaluate_config", "load_config", "rescore"]


@dataclass(repr=False)
class RunOutcome:
    """What a finished run leaves behind, typed."""

    run_dir: Path
    results: RunResults
    records: list[TrialRecord]
    executed: int
    resumed: int

    @classmethod
    def of(cls, state: RunState, results: RunResults) -> RunOutcome:
        return cls(state.run_dir, results, state.records, state.executed, state.resumed)

    def __repr__(self) -> str:  # short: a notebook must not print every record
        totals = self.results.totals
        return (
            f"RunOutcome(run_dir={str(self.run_dir)!r}, trials={totals.trials}, "
            f"failed={totals.failed}, executed={self.executed}, resumed={self.resumed})"
        )


def load_config(
    config: RunConfig | Mapping[str, Any] | str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env_file: Path | None = None,
    models_file: Path | None = None,
) -> tuple[RunConfig, Redactor]:
    """Resolve a configuration given as a RunConfig, a plain mapping, or a YAML file path."""
    if isinstance(config, RunConfig):
        if overrides:
            config = config.model_copy(update=dict(overrides))
        return config, Redactor()
    if config is None or isinstance(config, str | Path):
        return load_run_config(
            Path(config) if config is not None else None, overrides, env_file, models_file
        )
    return resolve_run_config(config, overrides, env_file, models_file)


def evaluate(
    config: RunConfig | Mapping[str, Any] | str | Path,
    models: dict[str, Model] | None = None,
    console: Console | None = None,
    force: bool = False,
    **overrides: Any,
) -> RunOutcome:
    """Run or resume an evaluation and return typed results (see `RunOutcome`).

    `models` may supply ready-made model objects by alias (useful in notebooks and tests);
    keyword overrides replace top-level config keys (`limit=10`, `progress=False`, ...).
    A run directory holding another plan is refused (`PlanChangedError`) unless `force`.
    """
    resolved, redactor = load_config(config, overrides)
    return evaluate_config(resolved, redactor, models=models, console=console, force=force)


def evaluate_config(
    config: RunConfig,
    redactor: Redactor | None = None,
    models: dict[str, Model] | None = None,
    console: Console | None = None,
    out: Console | None = None,
    show: bool | None = None,
    force: bool = False,
) -> RunOutcome:
    """Run or resume a resolved configuration: journal the trials, then write every output.

    Progress and messages go to `console` (stderr by default); the leaderboard and the run
    directory go to `out` (stdout by default) when `show` (default: the config's `progress`).
    Ctrl-C or SIGTERM raise `RunInterrupted` once the journal is closed (docs/running.md).
    """
    redactor = redactor or Redactor()
    console = console or Console(stderr=True)
    out = out or Console()
    show = config.progress if show is None else show
    if config.probe:
        from omnieval.probe.run import probe_models  # the probe is itself a run through here

        probe_models(config, redactor, models, console)
    with (
        signals.terminate_as_interrupt() as received,
        rundir.locked(config.run_dir),
        rundir.run_logging(config.run_dir, redactor),
    ):
        try:
            state = asyncio.run(execute_async(config, redactor, models, console, force))
            with bulk_objects():
                results = write_outputs(state, out, show=show)
            if results.probe:
                rundir.note_probe_in_manifest(config.run_dir, results.probe)
        except KeyboardInterrupt:
            raise signals.interrupted(config.run_dir, received) from None
    return RunOutcome.of(state, results)


def rescore(
    run_dir: str | Path,
    console: Console | None = None,
    show: bool = False,
    out: Console | None = None,
    scoring: str | None = None,
    settings: Mapping[str, Any] | Iterable[str] | None = None,
    judges_from: JudgeSource | None = None,
) -> RunOutcome:
    """Re-extract and re-score a finished run from its journal, without inference. Works from
    any directory: relative paths in the manifest were resolved when the run was configured.

    `scoring` sets every benchmark's `args.scoring` (e.g. `"vsync"`); `settings` sets other
    scoring-only benchmark arguments, as `{"vsync.args.scoring": "vsync"}` or
    `["vsync.args.scoring=vsync"]` (benchmark by name or index). A setting that would change
    trial keys raises `ConfigError`; accepted ones are kept in the manifest. Journaled judge
    answers are reused; `judges_from` (a models file and .env) gives judge credentials for the
    judge calls still missing (docs/judges.md)."""
    run_dir = Path(run_dir)
    console = console or Console(stderr=True)
    out = out or Console()
    if not (run_dir / rundir.MANIFEST).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory: it has no {rundir.MANIFEST}")
    with rundir.locked(run_dir), rundir.run_logging(run_dir, Redactor()), bulk_objects():
        state = rescore_journal(run_dir, console, scoring, settings, judges_from)
        results = write_outputs(state, out, show=show)
    return RunOutcome.of(state, results)


def doctor(
    config: RunConfig | Mapping[str, Any] | str | Path, progress: bool = False
) -> list[MediaProblem]:
    """Every missing, empty or undecodable media file of the configured benchmarks."""
    resolved, _ = load_config(config)
    samples = [s for tp in select_tasks(resolved) for s in tp.task.samples()]
    return find_media_problems(samples, progress=progress)
