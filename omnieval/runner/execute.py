"""Running planned trials: one asyncio scheduler, a worker pool per model, journal per trial.

Per trial: the request is built (condition, replicate, the run's generation settings, the
answer space); a model that cannot produce the task's output kind gets the `unsupported`
outcome without being called; the response (and its artifacts) is journaled at once; then it is
extracted and scored, synchronously for rule-based tasks, or awaiting judge calls / a worker
thread for tasks that need them (the response is journaled before that wait).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol

from omnieval.config import ModelSpec, Redactor
from omnieval.models.base import Model
from omnieval.runner import faults
from omnieval.runner.breaker import CircuitBreaker
from omnieval.runner.journal import Journal
from omnieval.runner.media_builders import MediaBuilder, build_in_thread
from omnieval.runner.plan import PlannedTrial
from omnieval.runner.progress import ProgressBoard
from omnieval.runner.retry import RetryPolicy, generate_with_retries
from omnieval.runner.scoring_pass import needs_await, score_later, score_now, scoring_mark
from omnieval.runner.trial_request import (
    build_trial_request,
    compact_request,
    trial_sample,
    with_target,
)
from omnieval.scoring.judging import JudgeClient, NoJudges
from omnieval.types import (
    Artifact,
    Extraction,
    GenerationParams,
    Request,
    Response,
    Sample,
    Score,
    TrialContext,
    TrialStatus,
)

log = logging.getLogger("omnieval.runner")


class ArtifactSink(Protocol):
    def store(self, trial_key: str, artifacts: Sequence[Artifact]) -> tuple[Artifact, ...]: ...


#: (model, request, trial key, the model's retry policy) -> response, for provider-job models
JobRunner = Callable[[Model, Request, str, RetryPolicy], Awaitable[Response]]


def effective_concurrency(spec: ModelSpec, model: Model) -> int:
    """The configured concurrency, never above what the model declares it can take."""
    return max(1, min(spec.concurrency, model.capabilities.max_concurrency))


class Executor:
    """Drives pending trials through their models and journals each one as it finishes."""

    def __init__(
        self,
        models: dict[str, Model],
        journal: Journal,
        board: ProgressBoard,
        redactor: Redactor,
        seed: int = 0,
        generation: GenerationParams | None = None,
        judges: JudgeClient | None = None,
        artifacts: ArtifactSink | None = None,
        jobs: JobRunner | None = None,
        build_media: MediaBuilder = build_in_thread,
    ) -> None:
        self.models = models
        self.journal = journal
        self.board = board
        self.redactor = redactor
        self.rng = random.Random(seed)
        self.generation = generation or GenerationParams()
        self.judges: JudgeClient = judges or NoJudges()
        self.artifacts = artifacts
        self.jobs = jobs
        self.build_media = build_media
        self._fingerprints = {alias: model.fingerprint() for alias, model in models.items()}
        self.breakers: dict[str, CircuitBreaker] = {}

    async def run(self, pending: Sequence[PlannedTrial]) -> None:
        by_model: dict[str, list[PlannedTrial]] = defaultdict(list)
        for planned in pending:
            by_model[planned.trial.model].append(planned)
        workers = []
        self.breakers = {
            alias: CircuitBreaker(alias, trials[0].model.breaker_failures, self._circuit_opened)
            for alias, trials in by_model.items()
        }
        for trials in by_model.values():
            spec = trials[0].model
            queue = iter(trials)
            limit = effective_concurrency(spec, self.models[spec.alias])
            if limit < spec.concurrency:
                log.info(
                    "model %s: concurrency %d capped at the %d it declares",
                    spec.alias,
                    spec.concurrency,
                    limit,
                )
            n_workers = min(limit, len(trials))
            workers += [self._worker(spec, queue) for _ in range(n_workers)]
        await asyncio.gather(*workers)

    async def _worker(self, spec: ModelSpec, queue: Iterator[PlannedTrial]) -> None:
        model = self.models[spec.alias]
        policy = RetryPolicy(spec.max_retries, spec.retry_base_s, spec.retry_max_s, spec.timeout_s)
        for planned in queue:  # a shared iterator: each trial goes to exactly one worker
            await self._run_one(planned, model, policy)

    def context(
        self, planned: PlannedTrial, request: Request | None, view: Sample | None = None
    ) -> TrialContext:
        if view is None:
            view = trial_sample(planned.task, planned.sample, planned.replicate)
        return TrialContext.create(
            trial=planned.trial,
            sample=view,
            original=planned.sample,
            replicate=planned.replicate,
            request=request,
            model=self._fingerprints.get(planned.trial.model, {}),
            run_dir=getattr(self.artifacts, "run_dir", None),
        )

    async def _run_one(self, planned: PlannedTrial, model: Model, policy: RetryPolicy) -> None:
        try:
            view = trial_sample(planned.task, planned.sample, planned.replicate)
            args = (planned.task, view, planned.trial.condition, planned.replicate)
            if planned.task.builds_media:
                request = await self.build_media(*args, self.generation)
            else:
                request = build_trial_request(*args, self.generation)
            ctx = self.context(planned, request, view)
        except Exception as err:
            response = Response(
                status=TrialStatus.FAILED,
                error=f"could not build the request: {type(err).__name__}: {err}",
                attempts=0,
            )
            await self.finish(planned, response, None)
            return
        needed, produced = planned.task.output_kind, model.capabilities.output
        if not model.capabilities.produces(needed) and not model.capabilities.reads_target:
            response = Response(
                status=TrialStatus.UNSUPPORTED,
                error=f"model produces {produced}; task {planned.task.name} needs {needed}",
                attempts=0,
            )
            await self.finish(planned, response, ctx)
            return
        if model.capabilities.reads_target:
            request = with_target(request, ctx, planned.task)
        if model.capabilities.jobs and self.jobs is not None:
            response = await self.jobs(model, request, planned.trial.key, policy)
        else:
            breaker = self.breakers.get(planned.trial.model)
            faults.point("trial.request")
            response = await generate_with_retries(model, request, policy, self.rng, breaker)
        await self.finish(planned, response, ctx)

    def _circuit_opened(self, breaker: CircuitBreaker) -> None:
        if self.board.console is not None:
            self.board.console.print(
                f"warning: model {breaker.model}: {breaker.consecutive} consecutive connection "
                "failures; its remaining trials are paused (recorded as failed: circuit open; "
                f"rerun the same command to retry them). Last error: {breaker.last_error}",
                markup=False,
                highlight=False,
            )

    async def finish(
        self, planned: PlannedTrial, response: Response, ctx: TrialContext | None
    ) -> None:
        """Store artifacts, journal, extract and score one finished trial."""
        response = self._scrub(response)
        if response.artifacts:
            response = await asyncio.to_thread(self._store_artifacts, planned, response)
        task = planned.task
        groups = tuple(task.groups(planned.sample))
        compact = compact_request(ctx.request) if ctx is not None and ctx.request else None
        if response.rendering is not None:  # kept with the request, deduplicated by content
            if compact is not None:
                compact = {**compact, "rendering": response.rendering}
            response = response.model_copy(update={"rendering": None})
        params: dict[str, Any] = planned.replicate.params
        answered = response.status is TrialStatus.OK and ctx is not None
        if answered and ctx is not None and needs_await(task):
            self.journal.record(planned.trial, response, None, None, groups, params, None, compact)
            extraction, score = await score_later(task, ctx, response, self.judges)
            self.journal.update_scores(
                [(planned.trial.key, extraction, score)], {planned.trial.key: scoring_mark(task)}
            )
        else:
            extraction: Extraction | None = None  # type: ignore[no-redef]
            score: Score | None = None  # type: ignore[no-redef]
            if answered and ctx is not None:
                extraction, score = score_now(task, ctx, response)
            mark = scoring_mark(task) if answered else None
            self.journal.record(
                planned.trial, response, extraction, score, groups, params, mark, compact
            )
        self._report(planned, response, score)

    def _store_artifacts(self, planned: PlannedTrial, response: Response) -> Response:
        if not response.artifacts:
            return response
        if self.artifacts is None:
            return response.model_copy(
                update={
                    "status": TrialStatus.FAILED,
                    "error": "the model returned artifacts but the run has no artifact store",
                    "artifacts": (),
                }
            )
        try:
            stored = self.artifacts.store(planned.trial.key, response.artifacts)
        except Exception as err:
            return response.model_copy(
                update={
                    "status": TrialStatus.FAILED,
                    "error": f"could not store artifacts: {type(err).__name__}: {err}",
                    "artifacts": (),
                }
            )
        return response.model_copy(update={"artifacts": stored})

    def _report(self, planned: PlannedTrial, response: Response, score: Score | None) -> None:
        if response.failed:
            log.warning(
                "trial failed: model=%s task=%s sample=%s condition=%s%s: %s",
                planned.trial.model,
                planned.trial.task,
                planned.trial.sample_id,
                planned.trial.condition,
                f" replicate={planned.trial.replicate}" if planned.trial.replicate else "",
                response.error,
            )
        metrics = planned.task.metrics  # empty for a task with corpus metrics only
        headline = metrics[0] if metrics else None
        value = score.values.get(headline.name) if score and headline else None
        retries = max(0, response.attempts - 1)
        if headline is None:
            self.board.record(planned.trial.model, response.failed, None, retries)
        else:
            self.board.record(planned.trial.model, response.failed, value, retries, headline)

    def _scrub(self, response: Response) -> Response:
        update = {}
        for field in ("error", "text"):
            value = getattr(response, field)
            if value and (clean := self.redactor.text(value)) != value:
                update[field] = clean
        return response.model_copy(update=update) if update else response
