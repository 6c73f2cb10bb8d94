"""Running planned trials: one asyncio scheduler, a worker pool per model, journal per trial."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence

from omnieval.config import ModelSpec, Redactor
from omnieval.models.base import Model
from omnieval.runner.breaker import CircuitBreaker
from omnieval.runner.journal import Journal
from omnieval.runner.plan import PlannedTrial
from omnieval.runner.progress import ProgressBoard
from omnieval.runner.retry import RetryPolicy, generate_with_retries
from omnieval.types import Extraction, Response, Score, TrialStatus

log = logging.getLogger("omnieval.runner")


def score_response(
    planned: PlannedTrial, response: Response
) -> tuple[Extraction | None, Score | None]:
    """Extraction and score for an answered trial; none for a failed one."""
    if response.failed:
        return None, None
    extraction = planned.task.extract(planned.sample, response)
    return extraction, planned.task.score(planned.sample, extraction)


class Executor:
    """Drives pending trials through their models and journals each one as it finishes."""

    def __init__(
        self,
        models: dict[str, Model],
        journal: Journal,
        board: ProgressBoard,
        redactor: Redactor,
        seed: int = 0,
    ) -> None:
        self.models = models
        self.journal = journal
        self.board = board
        self.redactor = redactor
        self.rng = random.Random(seed)
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
            n_workers = max(1, min(spec.concurrency, len(trials)))
            workers += [self._worker(spec, queue) for _ in range(n_workers)]
        await asyncio.gather(*workers)

    async def _worker(self, spec: ModelSpec, queue: Iterator[PlannedTrial]) -> None:
        model = self.models[spec.alias]
        policy = RetryPolicy(spec.max_retries, spec.retry_base_s, spec.retry_max_s, spec.timeout_s)
        for planned in queue:  # a shared iterator: each trial goes to exactly one worker
            await self._run_one(planned, model, policy)

    async def _run_one(self, planned: PlannedTrial, model: Model, policy: RetryPolicy) -> None:
        try:
            request = planned.task.build_request(planned.sample, planned.trial.variant)
        except Exception as err:
            response = Response(
                status=TrialStatus.FAILED,
                error=f"could not build the request: {type(err).__name__}: {err}",
                attempts=0,
            )
        else:
            breaker = self.breakers.get(planned.trial.model)
            response = await generate_with_retries(model, request, policy, self.rng, breaker)
        self.record(planned, response)

    def _circuit_opened(self, breaker: CircuitBreaker) -> None:
        if self.board.console is not None:
            self.board.console.print(
                f"warning: model {breaker.model}: {breaker.consecutive} consecutive connection "
                "failures; its remaining trials are paused (recorded as failed: circuit open; "
                f"rerun the same command to retry them). Last error: {breaker.last_error}",
                markup=False,
                highlight=False,
            )

    def record(self, planned: PlannedTrial, response: Response) -> None:
        """Extract, score and journal one finished trial, and count it on the board."""
        response = self._scrub(response)
        try:
            extraction, score = score_response(planned, response)
        except Exception as err:  # a scoring bug is reported, the response is still kept
            log.exception("scoring failed for %s", planned.trial.sample_id)
            extraction = Extraction(rule="error", ok=False, detail=f"{type(err).__name__}: {err}")
            score = None
        groups = tuple(planned.task.groups(planned.sample))
        self.journal.record(planned.trial, response, extraction, score, groups)
        if response.failed:
            log.warning(
                "trial failed: model=%s task=%s sample=%s variant=%s: %s",
                planned.trial.model,
                planned.trial.task,
                planned.trial.sample_id,
                planned.trial.variant,
                response.error,
            )
        headline = planned.task.metric_names[0]
        accuracy = score.values.get(headline) if score else None
        self.board.record(
            planned.trial.model, response.failed, accuracy, max(0, response.attempts - 1)
        )

    def _scrub(self, response: Response) -> Response:
        update = {}
        for field in ("error", "text"):
            value = getattr(response, field)
            if value and (clean := self.redactor.text(value)) != value:
                update[field] = clean
        return response.model_copy(update=update) if update else response
