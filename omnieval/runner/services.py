"""The run's services behind the executor: the artifact store, the judge handle, provider jobs.

Each is built per run from the run directory and its journal.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from omnieval.config import RunConfig
from omnieval.runner.execute import JobRunner
from omnieval.runner.journal import Journal
from omnieval.scoring.judging import JudgeClient, NoJudges
from omnieval.types import Artifact


class ArtifactStore:
    """Artifacts under `artifacts/<trial key>/<name>`, written atomically with their sha256."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def store(self, trial_key: str, artifacts: Sequence[Artifact]) -> tuple[Artifact, ...]:
        stored = []
        for artifact in artifacts:
            if artifact.stored:
                stored.append(artifact)
                continue
            data = artifact.data
            if data is None and artifact.source is not None:
                data = artifact.source.read_bytes()
            if data is None:
                raise ValueError(f"artifact {artifact.name!r} of {trial_key} has no content")
            rel = Path("artifacts") / trial_key / artifact.name
            target = self.run_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            with tmp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            stored.append(
                artifact.model_copy(
                    update={
                        "data": None,
                        "source": None,
                        "path": rel.as_posix(),
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                    }
                )
            )
        return tuple(stored)


def make_artifact_store(run_dir: Path) -> ArtifactStore:
    return ArtifactStore(run_dir)


def job_runner(journal: Journal) -> JobRunner | None:
    return None


def journal_has_judges(journal: Journal) -> bool:
    return False


def build_judges(config: RunConfig, journal: Journal, offline: bool = False) -> JudgeClient:
    return NoJudges()


async def close_judges(judges: JudgeClient) -> None:
    return None
