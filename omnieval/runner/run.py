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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from omnieval.config import Redactor, ReplicateSpec, RunConfig, redacted_dump
from omnieval.media import find_media_problems
from omnieval.models.base import Model
from omnieval.runner import plan_guard, rundir, scoring_settings
from omnieval.runner.execute import Executor
from omnieval.runner.journal import Journal
from omnieval.runner.media_builders import media_builder
from omnieval.runner.memory import frozen_heap
from omnieval.runner.plan import (
    BenchmarkPlan,
    Plan,
    PlannedTrial,
    TaskPlan,
    make_plan,
    plan_fingerprint,
    select_benchmarks,
)
from omnieval.runner.preflight import preflight_models
from omnieval.runner.progress import ProgressBoard
from omnieval.runner.rescore import rescore_records
from omnieval.runner.scoring_pass import needs_judge, scoring_mark
from omnieval.runner.services import (
    JudgeSource,
    build_judges,
    close_judges,
    job_runner,
    journal_has_judges,
    judge_fingerprints,
    make_artifact_store,
)
from omnieval.scoring.aggregate import BenchmarkAggregation, TaskAggregation
from omnieval.scoring.judging import JudgeClient, NoJudges
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
    tasks: list[TaskAggregation] = field(default_factory=list)
    benchmarks: list[BenchmarkAggregation] = field(default_factory=list)
    rescored: int = 0
    seed: int = 0
    #: trial key -> the JSON text of the compact request it sent (for samples.jsonl)
    request_bodies: dict[str, str] = field(default_factory=dict)

    @property
    def condition_order(self) -> list[str]:
        return self.variant_order


def aggregation_specs(
    tasks: list[TaskPlan], benchmarks: list[BenchmarkPlan]
) -> tuple[list[TaskAggregation], list[BenchmarkAggregation]]:
    """What aggregation needs to know of each task and benchmark."""
    task_specs = [
        TaskAggregation(
            name=tp.task.name,
            metrics=tp.task.metrics,
            corpus_metrics=tp.task.corpus_metrics,
            reducers=_reducers(tp.replicates),
            scoring=tp.task.scoring_fingerprint(),
            benchmark=tp.benchmark,
        )
        for tp in tasks
    ]
    bench_specs = [
        BenchmarkAggregation(
            name=b.name,
            tasks=[tp.task.name for tp in tasks if tp.benchmark == b.name],
            tree=b.tree,
            gates=b.gates,
            joint=b.joint,
        )
        for b in benchmarks
    ]
    return task_specs, bench_specs


def _reducers(spec: ReplicateSpec | None) -> dict[str, str] | None:
    if spec is None or spec.scheme == "none":
        return None
    return dict(spec.reducers) if spec.reducers else None


def _judges_for(
    config: RunConfig,
    journal: Journal,
    offline: bool = False,
    fingerprints: dict[str, dict[str, Any]] | None = None,
) -> JudgeClient:
    """The run's judge handle: journaled judge trials, served from the journal where present."""
    if not config.judges and not journal_has_judges(journal):
        return NoJudges()
    return build_judges(config, journal, offline=offline, fingerprints=fingerprints)


async def execute_async(
    config: RunConfig,
    redactor: Redactor,
    models: dict[str, Model] | None = None,
    console: Console | None = None,
    force: bool = False,
) -> RunState:
    """Plan, pre-flight, infer and journal; the caller holds the run directory's lock.

    A run directory holding another plan is refused unless `force` (`plan_guard`); settings an
    earlier `rescore` gave are kept unless `config` sets them (`scoring_settings`)."""
    console = console or Console(stderr=True)
    run_dir = config.run_dir
    previous = _previous_manifest(run_dir)
    config = scoring_settings.restore_settings(config, previous)
    plan = make_plan(config, models)
    warning = plan_guard.check_plan(run_dir, config, plan, force)
    if warning:
        log.warning(warning)
        console.print(warning, markup=False, highlight=False)
    with frozen_heap():
        return await _execute_plan(config, redactor, plan, console, previous)


async def _execute_plan(
    config: RunConfig,
    redactor: Redactor,
    plan: Plan,
    console: Console,
    previous: dict[str, Any],
) -> RunState:
    """Journal, pre-flight, infer and score the planned trials (the plan's objects frozen out
    of garbage collection)."""
    run_dir = config.run_dir
    journal = Journal(run_dir / rundir.JOURNAL)
    judges: JudgeClient | None = None
    try:
        judges = _judges_for(config, journal)
        _write_manifest(
            run_dir,
            config,
            plan,
            redactor,
            judge_fingerprints(judges),
            scoring_settings.kept_settings(config, previous),
        )
        if journal.migrated_from:
            console.print(
                f"upgraded the journal of {run_dir} from schema {journal.migrated_from}",
                markup=False,
            )
        journal.set_plan(p.trial.key for p in plan.trials)
        done = journal.finished_keys(include_failed=not config.retry_failed)
        pending = [p for p in plan.trials if p.trial.key not in done]
        rejudge = _judged_scoring_errors(plan, journal)  # left by an earlier run's failed judge
        resumed = len(plan.trials) - len(pending)
        log.info("planned %d trials, %d already journaled", len(plan.trials), resumed)
        if resumed:
            console.print(f"resuming {run_dir}: {resumed} of {len(plan.trials)} trials done")
        totals: dict[str, int] = defaultdict(int)
        for planned in pending:
            totals[planned.trial.model] += 1
        board = ProgressBoard(dict(totals), enabled=config.progress, console=console)
        try:
            executor = Executor(
                plan.models,
                journal,
                board,
                redactor,
                seed=config.seed,
                generation=config.generation,
                judges=judges,
                artifacts=make_artifact_store(run_dir),
                jobs=job_runner(journal),
                build_media=media_builder(config, pending),
            )
            if config.preflight and pending:
                await preflight_models(plan.models, pending)
            with board:
                if config.doctor:
                    pending = await _fail_unreadable_media(pending, executor, console)
                await executor.run(pending)
        finally:
            await asyncio.gather(*(m.close() for m in plan.models.values()))
        rescored = await _rescore_stale(plan, journal, config, judges, console, rejudge)
        task_specs, bench_specs = aggregation_specs(plan.tasks, plan.benchmarks)
        return RunState(
            run_dir=run_dir,
            name=config.name,
            records=list(journal.records()),
            request_bodies=journal.request_bodies(),
            samples=plan.samples_by_task(),
            executed=len(pending),
            resumed=resumed,
            variant_order=_variant_order(c for tp in plan.tasks for c in tp.conditions),
            models={alias: model.fingerprint() for alias, model in plan.models.items()},
            tasks=task_specs,
            benchmarks=bench_specs,
            rescored=rescored,
            seed=config.seed,
        )
    finally:
        if judges is not None:
            await close_judges(judges)
        journal.close()


async def _rescore_stale(
    plan: Plan,
    journal: Journal,
    config: RunConfig,
    judges: JudgeClient,
    console: Console,
    rejudge: set[str],
) -> int:
    """Re-score journaled trials whose scores are missing or were made under other scoring
    settings (a resumed run whose `scoring:` changed), or whose judge failed in an earlier run
    (`rejudge`), and say so."""
    marks = journal.scoring_marks()
    current = {tp.task.name: scoring_mark(tp.task) for tp in plan.tasks}
    stale_keys = {
        p.trial.key
        for p in plan.trials
        if p.trial.key in marks and marks[p.trial.key] != current[p.trial.task]
    }
    changed = {
        p.trial.task
        for p in plan.trials
        if p.trial.key in stale_keys and marks[p.trial.key] is not None
    }
    stale_keys |= rejudge
    if not stale_keys:
        return 0
    records = [r for r in journal.records() if r.trial.key in stale_keys]
    outcome = await rescore_records(
        records,
        {tp.task.name: tp.task for tp in plan.tasks},
        plan.samples_by_task(),
        {alias: model.fingerprint() for alias, model in plan.models.items()},
        config.generation,
        judges,
        run_dir=journal.path.parent,
    )
    journal.update_scores(outcome.updates, outcome.marks)
    why = (
        f"the scoring settings of {', '.join(sorted(changed))} changed since they were journaled"
        if changed
        else "they were journaled without a score (an interrupted run, or an older omnieval) "
        "or their judged scoring failed (a judge that did not answer is asked again)"
    )
    message = f"re-scored {len(outcome.updates)} journaled trials: {why}"
    log.info(message)
    console.print(message, markup=False)
    return len(outcome.updates)


def _judged_scoring_errors(plan: Plan, journal: Journal) -> set[str]:
    """Answered trials of judged tasks whose scoring failed: a judge that did not answer leaves
    a scoring error, and the rerun asks it again (answered judge calls are journaled, so only the
    failed ones cost a call); the parent's response is kept."""
    judged = {tp.task.name for tp in plan.tasks if needs_judge(tp.task)}
    if not judged:
        return set()
    errors = journal.scoring_error_keys()
    return {p.trial.key for p in plan.trials if p.trial.task in judged and p.trial.key in errors}


def rescore_journal(
    run_dir: Path,
    console: Console | None = None,
    scoring: str | None = None,
    settings: Mapping[str, Any] | Iterable[str] | None = None,
    judges_from: JudgeSource | None = None,
) -> RunState:
    """Re-extract and re-score every journaled response without running any model; the caller
    holds the run directory's lock. `scoring` / `settings` change scoring-only settings first
    (`omnieval.runner.scoring_settings`) and are kept in the manifest; `judges_from`
    re-resolves judge aliases with secrets from the environment (a models file and .env)."""
    return asyncio.run(rescore_journal_async(run_dir, console, scoring, settings, judges_from))


async def rescore_journal_async(
    run_dir: Path,
    console: Console | None = None,
    scoring: str | None = None,
    settings: Mapping[str, Any] | Iterable[str] | None = None,
    judges_from: JudgeSource | None = None,
) -> RunState:
    console = console or Console(stderr=True)
    manifest = rundir.read_manifest(run_dir)
    config = RunConfig.model_validate(manifest["config"])
    given = scoring_settings.settings_from(scoring, settings, config)
    change = None
    if given:
        change = scoring_settings.apply_settings(config, given, manifest.get("tasks") or {})
        config = change.config
    if judges_from is not None:
        config = config.model_copy(update={"judges": judges_from.resolve(config.judges)})
    task_plans, bench_plans = select_benchmarks(config)
    tasks = {tp.task.name: tp.task for tp in task_plans}
    journal = Journal(run_dir / rundir.JOURNAL)
    judges: JudgeClient | None = None
    try:
        samples = {name: {s.id: s for s in task.samples()} for name, task in tasks.items()}
        model_prints: dict[str, dict[str, Any]] = dict(manifest.get("models") or {})
        judges = _judges_for(
            config, journal, offline=True, fingerprints=manifest.get("judges") or None
        )
        records = list(journal.records(planned_only=False))
        outcome = await rescore_records(
            records, tasks, samples, model_prints, config.generation, judges, run_dir=run_dir
        )
        changed = journal.update_scores(outcome.updates, outcome.marks)
        if change is not None:  # kept once the journal holds the scores made under them
            _keep_settings(run_dir, manifest, change)
        planned = set(journal.planned_keys())
        fresh = {key: (extraction, score) for key, extraction, score in outcome.updates}
        log.info("re-scored %d trials (%d without a known sample)", changed, outcome.missing)
        if outcome.missing:
            console.print(
                f"{outcome.missing} journaled trials belong to samples no longer in the data"
            )
        for line in scoring_settings.describe(
            {tp.task.name: tp.task.scoring_fingerprint() for tp in task_plans}
        ):
            console.print(line, markup=False, highlight=False)
        task_specs, bench_specs = aggregation_specs(task_plans, bench_plans)
        return RunState(
            run_dir=run_dir,
            name=config.name,
            records=[_updated(record, fresh) for record in records if record.trial.key in planned],
            request_bodies=journal.request_bodies(),
            samples=samples,
            resumed=changed,
            variant_order=_variant_order(
                c
                for entry in manifest.get("tasks", {}).values()
                for c in entry.get("conditions", entry.get("variants", []))
            ),
            models=model_prints,
            tasks=task_specs,
            benchmarks=bench_specs,
            rescored=changed,
            seed=config.seed,
        )
    finally:
        if judges is not None:
            await close_judges(judges)
        journal.close()


def _keep_settings(
    run_dir: Path, manifest: dict[str, Any], change: scoring_settings.ScoringChange
) -> None:
    """Write the new scoring settings into the manifest (config, tasks, `scoring_settings`)."""
    updated = dict(manifest)
    config = dict(updated["config"])
    config["benchmarks"] = [
        {**bench, "args": new.args}
        for bench, new in zip(config["benchmarks"], change.config.benchmarks, strict=True)
    ]
    updated["config"] = config
    tasks = {name: dict(entry) for name, entry in (updated.get("tasks") or {}).items()}
    for name, prints in change.scoring.items():
        if name in tasks:
            tasks[name]["scoring"] = prints
    updated["tasks"] = tasks
    saved = {k: dict(v) for k, v in (updated.get(scoring_settings.MANIFEST_KEY) or {}).items()}
    for bench, values in change.applied.items():
        saved.setdefault(bench, {}).update(values)
    updated[scoring_settings.MANIFEST_KEY] = saved
    rundir.update_manifest(run_dir, updated)


def _updated(
    record: TrialRecord, fresh: dict[str, tuple[Extraction | None, Score | None]]
) -> TrialRecord:
    if record.trial.key not in fresh:
        return record
    extraction, score = fresh[record.trial.key]
    return record.model_copy(update={"extraction": extraction, "score": score})


def _variant_order(variants: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(variants))


_MEDIA_FIX = "replace or re-fetch the file, then rerun the same command (only such trials rerun)"


async def _fail_unreadable_media(
    pending: list[PlannedTrial], executor: Executor, console: Console
) -> list[PlannedTrial]:
    """Pre-flight: trials whose media is missing or undecodable fail now, naming the file."""
    samples = {(p.trial.task, p.sample.id): p.sample for p in pending}
    problems = find_media_problems(samples.values(), progress=False)
    if not problems:
        return pending
    bad = {str(problem.path): problem for problem in problems}
    console.print(f"{len(problems)} media file(s) cannot be used:", style="bold red", markup=False)
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
        await executor.finish(
            planned,
            Response(
                status=TrialStatus.FAILED,
                error=f"media file {hit.path} is {hit.problem}: {hit.detail}; {_MEDIA_FIX}",
                attempts=0,
            ),
            None,
        )
    return keep


def _previous_manifest(run_dir: Path) -> dict[str, Any]:
    try:
        return rundir.read_manifest(run_dir)
    except (FileNotFoundError, ValueError):
        return {}


def _write_manifest(
    run_dir: Path,
    config: RunConfig,
    plan: Plan,
    redactor: Redactor,
    judges: dict[str, dict[str, Any]],
    kept: dict[str, dict[str, Any]] | None = None,
) -> None:
    extra = {scoring_settings.MANIFEST_KEY: kept} if kept else {}
    rundir.write_manifest(
        run_dir,
        {
            "config": redacted_dump(config, redactor),
            "tasks": {
                tp.task.name: {
                    "benchmark": tp.benchmark,
                    "fingerprint": tp.task.fingerprint(),
                    "scoring": tp.task.scoring_fingerprint(),
                    "conditions": tp.conditions,
                    "replicates": tp.replicates.model_dump() if tp.replicates else None,
                }
                for tp in plan.tasks
            },
            "plan_fingerprint": plan_fingerprint(plan),
            "models": {alias: model.fingerprint() for alias, model in plan.models.items()},
            "judges": judges,
            "trials": len(plan.trials),
            **extra,
        },
        redactor,
    )
