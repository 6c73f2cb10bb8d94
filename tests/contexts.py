"""Trial contexts for calling a task's `extract` / `score` directly in tests."""

from __future__ import annotations

from typing import Any

from omnieval.types import Sample, Trial, TrialContext


def ctx_for(
    sample: Sample, condition: str = "default", model: dict[str, Any] | None = None
) -> TrialContext:
    trial = Trial(key="k", model="m", task=sample.task, sample_id=sample.id, condition=condition)
    return TrialContext.create(trial=trial, sample=sample, model=model)
