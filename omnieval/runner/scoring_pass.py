"""Extraction and scoring of one trial, shared by the run and by `rescore`.

A scoring exception (or a judge that cannot answer) never removes a trial from the denominator:
it becomes a *scoring error*, journaled with its reason, counted, and scored 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from omnieval.benchmarks.base import Task
from omnieval.runner.keys import canonical_json
from omnieval.scoring.judging import JudgeClient
from omnieval.types import Extraction, Response, Score, TrialContext

log = logging.getLogger("omnieval.runner")


def scoring_mark(task: Task) -> str:
    """A short digest of the task's scoring fingerprint, journaled with every score."""
    body = canonical_json({"task": task.name, "scoring": task.scoring_fingerprint()})
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def needs_judge(task: Task) -> bool:
    """Whether the task's scoring may ask a judge (it overrides `Task.evaluate`)."""
    return type(task).evaluate is not Task.evaluate


def needs_await(task: Task) -> bool:
    """Whether scoring this task can wait (a judge call, or heavy work in a worker thread)."""
    return task.heavy_scoring or type(task).evaluate is not Task.evaluate


def scoring_error(ctx: TrialContext, err: BaseException) -> tuple[Extraction, Score]:
    log.warning(
        "scoring failed for task=%s sample=%s condition=%s: %s: %s",
        ctx.trial.task,
        ctx.trial.sample_id,
        ctx.trial.condition,
        type(err).__name__,
        err,
    )
    detail = f"{type(err).__name__}: {err}"
    return Extraction(rule="error", ok=False, detail=detail), Score(values={}, error=detail)


def score_now(task: Task, ctx: TrialContext, response: Response) -> tuple[Extraction, Score]:
    """Rule-based extraction and scoring, synchronously (tasks that need no await)."""
    try:
        extraction = task.extract(ctx, response)
        return extraction, task.score(ctx, extraction)
    except Exception as err:
        return scoring_error(ctx, err)


async def score_later(
    task: Task, ctx: TrialContext, response: Response, judges: JudgeClient
) -> tuple[Extraction, Score]:
    """Extraction and scoring that may call judges or run in a worker thread."""
    try:
        if type(task).evaluate is Task.evaluate and task.heavy_scoring:
            return await asyncio.to_thread(score_now, task, ctx, response)
        return await task.evaluate(ctx, response, judges)
    except Exception as err:
        return scoring_error(ctx, err)
