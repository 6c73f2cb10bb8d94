"""samples.jsonl: one line per trial with its response, extraction and score."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from omnieval.types import Sample, TrialRecord


def trial_row(record: TrialRecord, sample: Sample | None) -> dict[str, Any]:
    trial, response, extraction = record.trial, record.response, record.extraction
    target = sample.target.model_dump(mode="json") if sample is not None else None
    return {
        "key": trial.key,
        "model": trial.model,
        "task": trial.task,
        "sample_id": trial.sample_id,
        "variant": trial.variant,
        "groups": list(record.groups),
        "status": response.status.value,
        "response": response.text,
        "error": response.error,
        "extraction": extraction.value if extraction else None,
        "extraction_rule": extraction.rule if extraction else None,
        "extraction_ok": extraction.ok if extraction else None,
        "scores": record.score.values if record.score else None,
        "target": target,
        "latency_s": round(response.latency_s, 6),
        "attempts": response.attempts,
        "usage": response.usage.model_dump() if response.usage else None,
        "finish_reason": response.finish_reason,
    }


def write_samples_jsonl(
    path: Path, records: Iterable[TrialRecord], samples: dict[str, dict[str, Sample]]
) -> int:
    tmp = path.with_suffix(path.suffix + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as out:
        for record in records:
            sample = samples.get(record.trial.task, {}).get(record.trial.sample_id)
            out.write(json.dumps(trial_row(record, sample), ensure_ascii=False) + "\n")
            count += 1
    os.replace(tmp, path)
    return count
