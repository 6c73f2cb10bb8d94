"""results.json: aggregated metrics with uncertainty, schema-versioned and deterministic.

It holds no timestamps or timings, so an interrupted-and-resumed run writes the same file as an
uninterrupted one; those live in `manifest.yaml` and `samples.jsonl`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from omnieval.types import GroupResult, TrialRecord

RESULTS_SCHEMA = "omnieval.results/1"


class Totals(BaseModel):
    trials: int
    answered: int
    failed: int
    extraction_failed: int
    retries: int

    @property
    def failed_rate(self) -> float:
        return self.failed / self.trials if self.trials else 0.0


class RunResults(BaseModel):
    """The content of results.json."""

    schema_id: str = RESULTS_SCHEMA
    run: str
    totals: Totals
    #: alias -> model fingerprint: provider, settings and media transport policy
    models: dict[str, dict[str, Any]] = {}
    groups: list[GroupResult]

    def overall(self) -> list[GroupResult]:
        return [g for g in self.groups if g.group == "overall"]

    def find(
        self, model: str, variant: str, task: str | None = None, group: str = "overall"
    ) -> GroupResult:
        for result in self.groups:
            if (
                result.model == model
                and result.variant == variant
                and result.group == group
                and (task is None or result.task == task)
            ):
                return result
        known = {
            "model": sorted({r.model for r in self.groups}),
            "variant": sorted({r.variant for r in self.groups}),
            "task": sorted({r.task for r in self.groups}),
            "group": sorted({r.group for r in self.groups}),
        }
        given = {"model": model, "variant": variant, "task": task, "group": group}
        unknown = [
            f"{k} {v!r} (known: {', '.join(known[k])})"
            for k, v in given.items()
            if v is not None and v not in known[k]
        ]
        raise KeyError(
            f"no result for model={model} variant={variant} task={task} group={group}"
            + (f"; unknown {'; '.join(unknown)}" if unknown else "")
        )


def totals_of(records: list[TrialRecord]) -> Totals:
    failed = sum(1 for r in records if r.response.failed)
    return Totals(
        trials=len(records),
        answered=len(records) - failed,
        failed=failed,
        extraction_failed=sum(
            1 for r in records if r.extraction is not None and not r.extraction.ok
        ),
        retries=sum(max(0, r.response.attempts - 1) for r in records),
    )


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_results(path: Path, results: RunResults) -> None:
    data = results.model_dump(mode="json", by_alias=True)
    for group in data["groups"]:
        group["failed_rate"] = group["failed"] / group["trials"] if group["trials"] else 0.0
    write_json_atomic(path, data)


def read_results(path: Path) -> RunResults:
    data = json.loads(path.read_text(encoding="utf-8"))
    for group in data.get("groups", []):
        group.pop("failed_rate", None)
    return RunResults.model_validate(data)
