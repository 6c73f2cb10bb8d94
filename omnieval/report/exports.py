"""samples.jsonl: one line per trial with its response, extraction and score."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from omnieval.runner.transforms import rotate_choice
from omnieval.types import ChoiceTarget, Sample, TrialRecord


def trial_identity(record: TrialRecord) -> dict[str, Any]:
    """The columns that name a trial, first in every per-trial table (jsonl, csv, parquet)."""
    trial = record.trial
    return {
        "key": trial.key,
        "model": trial.model,
        "task": trial.task,
        "sample_id": trial.sample_id,
        "condition": trial.condition,
        "replicate": trial.replicate or None,
    }


def trial_row(record: TrialRecord, sample: Sample | None) -> dict[str, Any]:
    response, extraction = record.response, record.extraction
    target = _trial_target(record, sample)
    return {
        **trial_identity(record),
        "replicate_params": record.replicate_params or None,
        "groups": list(record.groups),
        "status": response.status.value,
        "outcome": record.outcome.value,
        "response": response.text,
        "error": response.error,
        "extraction": extraction.value if extraction else None,
        "extraction_rule": extraction.rule if extraction else None,
        "extraction_ok": extraction.ok if extraction else None,
        "scores": record.score.values if record.score else None,
        "scoring_error": record.score.error if record.score else None,
        "artifacts": [a.model_dump(mode="json") for a in response.artifacts] or None,
        "request": record.request,
        "target": target,
        "latency_s": round(response.latency_s, 6),
        "attempts": response.attempts,
        "usage": response.usage.model_dump() if response.usage else None,
        "finish_reason": response.finish_reason,
    }


def _trial_target(record: TrialRecord, sample: Sample | None) -> dict[str, Any] | None:
    """The per-trial target: a rotated trial's answer letter is the rotated one."""
    if sample is None:
        return None
    target = sample.target
    shift = record.replicate_params.get("shift")
    if isinstance(target, ChoiceTarget) and isinstance(shift, int) and shift:
        target = rotate_choice(target, shift)
    return target.model_dump(mode="json")


def write_samples_jsonl(
    path: Path,
    records: Iterable[TrialRecord],
    samples: dict[str, dict[str, Sample]],
    request_bodies: dict[str, str] | None = None,
) -> int:
    """One line per trial. `request_bodies` (trial key -> JSON text, as journaled) fill the
    `request` field of records read without their requests, spliced in without decoding."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    bodies = request_bodies or {}
    count = 0
    with tmp.open("w", encoding="utf-8") as out:
        for record in records:
            sample = samples.get(record.trial.task, {}).get(record.trial.sample_id)
            row = trial_row(record, sample)
            body = bodies.get(record.trial.key) if row["request"] is None else None
            if body is None:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                del row["request"]
                line = json.dumps(row, ensure_ascii=False)
                out.write(f'{line[:-1]}, "request": {body}}}\n')
            count += 1
    os.replace(tmp, path)
    return count
