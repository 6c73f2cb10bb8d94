"""One run's trials: plan -> doctor -> infer -> extract -> score, journaled trial by trial.

Rerunning the same configuration resumes: trials already in the journal are not run again
(failed ones are retried unless `retry_failed` is off). Aggregation and outputs are the report
layer's job (`omnieval.report.outputs`), always rebuilt from the journal, so a resumed run ends
with the same results as an uninterrupted one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from omnieval.config import Redactor, RunConfig, redacted_dump
from omnieval.media import find_media_problems
from omnieval.models.base import Model
from omnieval.runner import rundir
from omnieval.runner.execute import Executor
from omnieval.runner.journal import Journal
from omnieval.runner.plan import Plan, PlannedTrial, make_plan, select_tasks
from omnieval.runner.preflight import preflight_models
from omnieval.runner.progress import ProgressBoard
from omnieval.types import Extraction, Response, Sample, Score, TrialRecord, TrialStatus

log = logging.getLogger("omnieval.runner")


@dataclass(repr=False)
class RunState:
    """The journaled trials of a run, ready to be aggregated and reported."""

    run_dir: Path
    name: str
    records: list[TrialRecord]
    samples: dict[str, dict[str, Sample]]
    executed: int = 0
    resumed: int = 0
    variant_order: list[str] = field(default_factory=list)
    #: alias -> model fingerprint (provider, settings, transport policy); never secrets
    models: dict[str, dict[str, Any]] = field(default_factory=dict)


async def execute_async(
    config: RunConfig,
    redactor: Redactor,
    models: dict[str, Model] | None = None,
    console: Console | None = None,
) -> RunState:
    """Plan, pre-flight, infer and journal; the caller holds the run directory's lock."""
    console = console or Console(stderr=True)
    run_dir = config.run_dir
    plan = make_plan(config, models)
    _write_manifest(run_dir, config, plan, redactor)
    journal = Journal(run_dir / rundir.JOURNAL)
    try:
        journal.set_plan(p.trial.key for p in plan.trials)
        done = journal.finished_keys(include_failed=not config.retry_failed)
        pending = [p for p in plan.trials if p.trial.key not in done]
        resumed = len(plan.trials) - len(pending)
        log.info("planned %d trials, %d already journaled", len(plan.trials), resumed)
        if resumed:
            console.print(f"resuming {run_dir}: {resumed} of {len(plan.trials)} trials done")
        totals: dict[str, int] = defaultdict(int)
        for planned in pending:
            totals[planned.trial.model] += 1
        board = ProgressBoard(dict(totals), enabled=config.progress, console=console)
        executor = Executor(plan.models, journal, board, redactor, seed=config.seed)
        try:
            if config.preflight and pending:
                await preflight_models(plan.models, pending)
            with board:
                if config.doctor:
                    pending = _fail_unreadable_media(pending, executor, console)
                await executor.run(pending)
        finally:
            await asyncio.gather(*(m.close() for m in plan.models.values()))
        return RunState(
            run_dir=run_dir,
            name=config.name,
            records=list(journal.records()),
            samples=plan.samples_by_task(),
            executed=len(pending),
            resumed=resumed,
            variant_order=_variant_order(v for _, variants in plan.tasks for v in variants),
            models={alias: model.fingerprint() for alias, model in plan.models.items()},
        )
    finally:
        journal.close()


def rescore_journal(run_dir: Path, console: Console | None = None) -> RunState:
    """Re-extract and re-score every journaled response without running any model; the caller
    holds the run directory's lock."""
    console = console or Console(stderr=True)
    manifest = rundir.read_manifest(run_dir)
    config = RunConfig.model_validate(manifest["config"])
    tasks = {task.name: task for task, _ in select_tasks(config)}
    journal = Journal(run_dir / rundir.JOURNAL)
    try:
        samples = {name: {s.id: s for s in task.samples()} for name, task in tasks.items()}
        updates: list[tuple[str, Extraction | None, Score | None]] = []
        missing = 0
        for record in journal.records(planned_only=False):
            task = tasks.get(record.trial.task)
            sample = samples.get(record.trial.task, {}).get(record.trial.sample_id)
            if task is None or sample is None:
                missing += 1
                continue
            if record.response.failed:
                updates.append((record.trial.key, None, None))
                continue
            extraction = task.extract(sample, record.response)
            updates.append((record.trial.key, extraction, task.score(sample, extraction)))
        changed = journal.update_scores(updates)
        log.info("re-scored %d trials (%d without a known sample)", changed, missing)
        if missing:
            console.print(f"{missing} journaled trials belong to samples no longer in the data")
        return RunState(
            run_dir=run_dir,
            name=config.name,
            records=list(journal.records()),
            samples=samples,
            resumed=changed,
            variant_order=_variant_order(
                v for entry in manifest.get("tasks", {}).values() for v in entry.get("variants", [])
            ),
            models=dict(manifest.get("models") or {}),
        )
    finally:
        journal.close()


def _variant_order(variants: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(variants))


def _fail_unreadable_media(
    pending: list[PlannedTrial], executor: Executor, console: Console
) -> list[PlannedTrial]:
    """Pre-flight: trials whose media is missing or undecodable fail now, naming the file."""
    samples = {(p.trial.task, p.sample.id): p.sample for p in pending}
    problems = find_media_problems(samples.values(), progress=False)
    if not problems:
        return pending
    bad = {str(problem.path): problem for problem in problems}
    console.print(f"[bold red]{len(problems)} media file(s) cannot be used:[/]")
    for problem in problems:
        console.print(
            f"  {problem.problem}: {problem.path} ({problem.detail}); "
            f"samples: {', '.join(problem.sample_ids[:5])}",
            markup=False,
            highlight=False,
        )
    keep = []
    for planned in pending:
        hit = next((bad[str(p)] for p in planned.sample.media_paths() if str(p) in bad), None)
        if hit is None:
            keep.append(planned)
            continue
        executor.record(
            planned,
            Response(
                status=TrialStatus.FAILED,
                error=f"media file {hit.path} is {hit.problem}: {hit.detail}",
                attempts=0,
            ),
        )
    return keep


def _write_manifest(run_dir: Path, config: RunConfig, plan: Plan, redactor: Redactor) -> None:
    rundir.write_manifest(
        run_dir,
        {
            "config": redacted_dump(config, redactor),
            "tasks": {
                task.name: {
                    "fingerprint": task.fingerprint(),
                    "scoring": task.scoring_fingerprint(),
                    "variants": variants,
                }
                for task, variants in plan.tasks
            },
            "models": {alias: model.fingerprint() for alias, model in plan.models.items()},
            "trials": len(plan.trials),
        },
        redactor,
    )
