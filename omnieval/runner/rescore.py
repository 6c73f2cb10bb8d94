"""Re-extracting and re-scoring journaled trials without inference.

Used by `omnieval rescore`, and by a resumed run whose task scoring settings changed since
trials were journaled (or whose trials were journaled before they could be scored). Judge calls
are served from the journal; only missing ones reach a judge model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnieval.benchmarks.base import Task
from omnieval.runner.scoring_pass import needs_await, score_later, score_now, scoring_mark
from omnieval.runner.transforms import replicate_from_journal
from omnieval.runner.trial_request import build_trial_request, trial_sample
from omnieval.scoring.judging import JudgeClient
from omnieval.types import (
    Extraction,
    GenerationParams,
    Request,
    Sample,
    Score,
    TrialContext,
    TrialRecord,
    TrialStatus,
)


@dataclass
class RescoreOutcome:
    updates: list[tuple[str, Extraction | None, Score | None]] = field(default_factory=list)
    marks: dict[str, str] = field(default_factory=dict)
    #: journaled trials whose task or sample is no longer in the data
    missing: int = 0


def record_context(
    record: TrialRecord,
    task: Task,
    sample: Sample,
    model: dict[str, Any],
    generation: GenerationParams,
    run_dir: Path | None = None,
) -> TrialContext:
    """The trial's context rebuilt from the journal; its request is rebuilt on first use."""
    replicate = replicate_from_journal(record.trial.replicate, record.replicate_params)
    view = trial_sample(task, sample, replicate)

    def rebuild() -> Request | None:
        try:
            return build_trial_request(task, view, record.trial.condition, replicate, generation)
        except Exception:
            return None

    return TrialContext.create(
        trial=record.trial,
        sample=view,
        original=sample,
        replicate=replicate,
        model=model,
        build_request=rebuild,
        run_dir=run_dir,
    )


async def rescore_records(
    records: Sequence[TrialRecord],
    tasks: dict[str, Task],
    samples: dict[str, dict[str, Sample]],
    models: dict[str, dict[str, Any]],
    generation: GenerationParams,
    judges: JudgeClient,
    run_dir: Path | None = None,
) -> RescoreOutcome:
    outcome = RescoreOutcome()
    waiting: list[tuple[str, Task, TrialContext, TrialRecord]] = []
    for record in records:
        task = tasks.get(record.trial.task)
        sample = samples.get(record.trial.task, {}).get(record.trial.sample_id)
        if task is None or sample is None:
            outcome.missing += 1
            continue
        key = record.trial.key
        if record.response.status is not TrialStatus.OK:
            outcome.updates.append((key, None, None))
            continue
        ctx = record_context(
            record, task, sample, models.get(record.trial.model, {}), generation, run_dir
        )
        outcome.marks[key] = scoring_mark(task)
        if needs_await(task):
            waiting.append((key, task, ctx, record))
        else:
            outcome.updates.append((key, *score_now(task, ctx, record.response)))
    if waiting:
        results = await asyncio.gather(
            *(score_later(task, ctx, record.response, judges) for _, task, ctx, record in waiting)
        )
        for (key, _, _, _), (extraction, score) in zip(waiting, results, strict=True):
            outcome.updates.append((key, extraction, score))
    return outcome
