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

from omnieval.report.acuity import AcuityResult
from omnieval.types import GroupResult, MetricSpec, NodeResult, Outcome, TrialRecord

RESULTS_SCHEMA = "omnieval.results/2"
READABLE_SCHEMAS = ("omnieval.results/1", RESULTS_SCHEMA)


class Totals(BaseModel):
    trials: int
    answered: int
    failed: int
    extraction_failed: int
    retries: int
    unsupported: int = 0
    scoring_errors: int = 0

    @property
    def failed_rate(self) -> float:
        return self.failed / self.trials if self.trials else 0.0


class TaskInfo(BaseModel):
    """How a task was scored and what its metrics are."""

    benchmark: str = ""
    #: the metric outputs reported for the task (after replicate reduction), headline first
    metrics: list[MetricSpec] = []
    headline: str = "accuracy"
    #: the headline metric's outputs shown in the leaderboard (e.g. AA and ACR)
    display: list[str] = []
    replicated: bool = False
    #: the task's scoring settings (e.g. `{"scoring": "vsync"}` for upstream parity)
    scoring: dict[str, Any] = {}
    #: output name -> what a uniform guess among each item's options scores (accuracy and its
    #: replicate reductions of choice tasks; omnieval.scoring.chance)
    chance: dict[str, float] = {}


class RunResults(BaseModel):
    """The content of results.json."""

    schema_id: str = RESULTS_SCHEMA
    run: str
    totals: Totals
    #: alias -> model fingerprint: provider, settings and media transport policy
    models: dict[str, dict[str, Any]] = {}
    #: conditions in run order
    conditions: list[str] = []
    tasks: dict[str, TaskInfo] = {}
    groups: list[GroupResult]
    #: aggregation nodes above tasks (category, stage, overall, formulas)
    nodes: list[NodeResult] = []
    #: alias -> the wiring probe's verdict rows (omnieval.probe), when the run was probed
    probe: dict[str, list[dict[str, Any]]] = {}
    #: temporal acuity (psychometric fit of "in sync" answers against the offset; acuity.py)
    acuity: list[AcuityResult] = []
    #: human ratings (omnieval rate): rater, model, task, condition, mean (1-5), n
    human_ratings: list[dict[str, Any]] = []

    def overall(self) -> list[GroupResult]:
        return [g for g in self.groups if g.group == "overall"]

    def find(
        self, model: str, condition: str, task: str | None = None, group: str = "overall"
    ) -> GroupResult:
        for result in self.groups:
            if (
                result.model == model
                and result.condition == condition
                and result.group == group
                and (task is None or result.task == task)
            ):
                return result
        known = {
            "model": sorted({r.model for r in self.groups}),
            "condition": sorted({r.condition for r in self.groups}),
            "task": sorted({r.task for r in self.groups}),
            "group": sorted({r.group for r in self.groups}),
        }
        given = {"model": model, "condition": condition, "task": task, "group": group}
        unknown = [
            f"{k} {v!r} (known: {', '.join(known[k])})"
            for k, v in given.items()
            if v is not None and v not in known[k]
        ]
        raise KeyError(
            f"no result for model={model} condition={condition} task={task} group={group}"
            + (f"; unknown {'; '.join(unknown)}" if unknown else "")
        )

    def node(self, model: str, condition: str, node: str) -> NodeResult:
        for result in self.nodes:
            if result.model == model and result.condition == condition and result.node == node:
                return result
        raise KeyError(f"no node {node!r} for model={model} condition={condition}")

    def headline(self, task: str) -> str:
        info = self.tasks.get(task)
        return info.headline if info is not None else "accuracy"

    def rows(self) -> list[dict[str, Any]]:
        """One plain row per group result and metric (what `to_pandas` tabulates)."""
        out: list[dict[str, Any]] = []
        for result in self.groups:
            info = self.tasks.get(result.task)
            for metric, value in result.metrics.items():
                out.append(
                    {
                        "model": result.model,
                        "condition": result.condition,
                        "task": result.task,
                        "group": result.group,
                        "metric": metric,
                        "value": value.value,
                        "ci_low": value.ci_low,
                        "ci_high": value.ci_high,
                        "stderr": value.stderr,
                        "n": value.n,
                        "method": value.method,
                        "headline": info is not None
                        and metric in (info.display or [info.headline]),
                        "chance": info.chance.get(metric) if info is not None else None,
                        "trials": result.trials,
                        "items": result.items,
                        "failed": result.failed,
                        "extraction_failed": result.extraction_failed,
                        "unsupported": result.unsupported,
                    }
                )
        return out

    def to_pandas(self) -> Any:
        """The group results as a pandas DataFrame, one row per (model, condition, task, group,
        metric) with value, ci_low, ci_high, stderr, n, method, headline, chance and the trial
        counts. Needs the optional extra `pandas` (`pip install 'omnieval[pandas]'`)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "RunResults.to_pandas() needs pandas, which omnieval does not install by "
                "default: pip install 'omnieval[pandas]'"
            ) from None
        columns = list(_ROW_COLUMNS)
        return pd.DataFrame(self.rows(), columns=columns)


_ROW_COLUMNS = (
    "model",
    "condition",
    "task",
    "group",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "stderr",
    "n",
    "method",
    "headline",
    "chance",
    "trials",
    "items",
    "failed",
    "extraction_failed",
    "unsupported",
)


def totals_of(records: list[TrialRecord]) -> Totals:
    outcomes = [r.outcome for r in records]
    failed = outcomes.count(Outcome.FAILED)
    unsupported = outcomes.count(Outcome.UNSUPPORTED)
    return Totals(
        trials=len(records),
        answered=len(records) - failed - unsupported,
        failed=failed,
        extraction_failed=sum(
            1
            for r in records
            if r.extraction is not None and not r.extraction.ok and r.outcome is Outcome.SCORED
        ),
        retries=sum(max(0, r.response.attempts - 1) for r in records),
        unsupported=unsupported,
        scoring_errors=outcomes.count(Outcome.SCORING_ERROR),
    )


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_results(path: Path, results: RunResults) -> None:
    data = results.model_dump(mode="json", by_alias=True)
    for group in data["groups"]:
        group["failed_rate"] = group["failed"] / group["trials"] if group["trials"] else 0.0
    for node in data.get("nodes", []):
        if node.get("coverage") is None:  # only nodes that declare a coverage carry one
            node.pop("coverage", None)
    write_json_atomic(path, data)


def read_results(path: Path) -> RunResults:
    """Read results.json of this schema or an older one (schema 1 named conditions variants)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    schema = data.get("schema_id")
    if schema not in READABLE_SCHEMAS:
        raise ValueError(f"{path}: unknown results schema {schema!r}")
    for group in data.get("groups", []):
        group.pop("failed_rate", None)
    if schema != RESULTS_SCHEMA:
        data["schema_id"] = RESULTS_SCHEMA
    return RunResults.model_validate(data)
