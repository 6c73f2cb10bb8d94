"""The run's services behind the executor: the artifact store, the judge handle, provider jobs.

Each is built per run from the run directory, the run configuration and the journal (judge
trials and pending provider jobs keep their own tables in the journal's SQLite file).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnieval.config import (
    ConfigError,
    ModelSpec,
    RunConfig,
    load_aliases,
    load_environment,
    resolve_model,
)
from omnieval.models.base import Model
from omnieval.redaction import REDACTED
from omnieval.runner.artifacts import ArtifactStore
from omnieval.runner.execute import JobRunner
from omnieval.runner.jobs import PendingJobs, generate_with_job
from omnieval.runner.journal import Journal
from omnieval.runner.judge import JudgeJournal, Judges
from omnieval.runner.plan import build_model, place_model
from omnieval.runner.retry import RetryPolicy
from omnieval.scoring.judging import JudgeClient
from omnieval.types import Request, Response


def make_artifact_store(run_dir: Path) -> ArtifactStore:
    return ArtifactStore(run_dir)


def job_runner(journal: Journal) -> JobRunner:
    """Drives `jobs` models: the provider job id is journaled before polling starts."""
    pending = PendingJobs(journal.connection)

    async def run(model: Model, request: Request, trial_key: str, policy: RetryPolicy) -> Response:
        timing = model.job_polling()
        return await generate_with_job(
            model,
            request,
            trial_key,
            pending,
            poll_interval_s=timing.poll_interval_s,
            timeout_s=timing.timeout_s,
            max_poll_interval_s=timing.max_poll_interval_s,
            submit_policy=policy,
        )

    return run


def journal_has_judges(journal: Journal) -> bool:
    row = journal.connection.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='judge_trials'"
    ).fetchone()
    if row is None:
        return False
    return journal.connection.execute("SELECT 1 FROM judge_trials LIMIT 1").fetchone() is not None


@dataclass(frozen=True)
class JudgeSource:
    """Where a rescore finds judge credentials: the judge aliases of the run are resolved again
    from a models file and the environment (`.env`), never from the manifest."""

    models_file: Path | None = None
    env_file: Path | None = None

    def resolve(self, judges: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
        env = load_environment(self.env_file)
        aliases = load_aliases(self.models_file, env)
        resolved: dict[str, ModelSpec] = {}
        for role, spec in judges.items():
            if not _redacted(spec.init_args):
                resolved[role] = spec
            elif spec.alias in aliases:
                resolved[role] = resolve_model(spec.alias, aliases)
            else:
                raise ConfigError(
                    f"judge {role!r} ({spec.alias}) holds a secret the manifest does not keep; "
                    f"give a models file that defines the alias {spec.alias!r}"
                )
        return resolved


def _redacted(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_redacted(v) for v in value.values())
    if isinstance(value, list):
        return any(_redacted(v) for v in value)
    return value == REDACTED


def build_judges(
    config: RunConfig,
    journal: Journal,
    offline: bool = False,
    fingerprints: dict[str, dict[str, Any]] | None = None,
) -> JudgeClient:
    """The judge handle of a run (or a rescore).

    In a run, every configured role gets its model, placed like the run's models (under
    `executor: ray`, as Ray replicas unless `ray.models` leaves it out). On rescore
    (`offline`), the manifest's judge settings are used when they hold no redacted secret;
    otherwise the judge answers already journaled are served and a missing one is a scoring
    error naming the role.
    """
    judge_journal = JudgeJournal(journal.connection)
    usable = {
        role: spec
        for role, spec in config.judges.items()
        if not (offline and _redacted(spec.init_args))
    }
    if offline and len(usable) < len(config.judges):
        return Judges.offline(judge_journal, fingerprints)
    if not usable:  # only journaled answers can be served
        return Judges.offline(judge_journal, fingerprints)
    # a run places its judges like its models (Ray replicas or in-process); a rescore judges here
    models = {
        role: build_model(spec, config.seed) if offline else place_model(spec, config)
        for role, spec in usable.items()
    }
    return Judges(judge_journal, {role: (models[role], usable[role]) for role in usable})


async def close_judges(judges: JudgeClient) -> None:
    if isinstance(judges, Judges):
        judges.journal.flush()
        await asyncio.gather(*(role.model.close() for role in judges.role_objects()))


def judge_fingerprints(judges: JudgeClient) -> dict[str, dict[str, Any]]:
    """Role -> the judge model's fingerprint (recorded in the manifest for offline rescores)."""
    if not isinstance(judges, Judges):
        return {}
    return {role: judges.judge_fingerprint(role) for role in judges.roles}
