"""Judge vs verifier on a vmeval run: both verdicts per video, and their agreement per model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omnieval.benchmarks.vmeval.agreement import Agreement, agreement
from omnieval.runner import rundir
from omnieval.runner.journal import Journal
from omnieval.types import TrialRecord


@dataclass(frozen=True)
class SideBySide:
    model: str
    task: str
    sample_id: str
    solved: bool
    judge_score: float
    judge_success: bool
    reason: str | None


def side_by_side(records: list[TrialRecord]) -> list[SideBySide]:
    rows = []
    for r in records:
        values = r.score.values if r.score is not None else {}
        if not r.trial.task.startswith("vmeval/"):
            continue
        if "solved" not in values or "judge_success" not in values:
            continue
        rows.append(
            SideBySide(
                model=r.trial.model,
                task=r.trial.task,
                sample_id=r.trial.sample_id,
                solved=values["solved"] >= 0.5,
                judge_score=values.get("judge_score", 0.0),
                judge_success=values["judge_success"] >= 0.5,
                reason=r.extraction.detail if r.extraction is not None else None,
            )
        )
    return rows


def by_model(rows: list[SideBySide]) -> dict[str, Agreement]:
    models = sorted({row.model for row in rows})
    return {
        m: agreement((row.solved, row.judge_success) for row in rows if row.model == m)
        for m in models
    }


def load_rows(run_dir: Path) -> list[SideBySide]:
    journal = Journal(run_dir / rundir.JOURNAL)
    try:
        return side_by_side(list(journal.records(planned_only=False)))
    finally:
        journal.close()
