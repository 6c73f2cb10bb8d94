"""A run's AVI-Bench scores as a leaderboard entry (upstream's schema v2), validated by the
schema's own rules before it is written.

    omnieval avibench export RUN_DIR --model ALIAS --out entry.json \
        --model-name "My Model" --provider "Lab" --release-date 2025-01-31 \
        --release-url https://example.org/model [--condition default] [--source-url URL]

Scores are 0-100 (two decimals) or null: overall, the four stages, the taxonomy (L1 exact,
L2 provisional, L3/L4 null with the reason in `notes`), and each of the 14 paper tasks'
headline. Coverage counts the 14 paper tasks and the samples scored against the published
5,864. `python -m omnieval.benchmarks.avibench.export` takes the same arguments.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from omnieval.benchmarks.avibench import taxonomy
from omnieval.benchmarks.avibench.benchmark import OVERALL, paper_task_node, stage_node
from omnieval.benchmarks.avibench.layout import PAPER_TASKS, TOTAL_SAMPLES

SCHEMA_VERSION = 2
BENCHMARK_VERSION = "omnieval-avibench"
FIELDS = {
    "id", "model_name", "provider", "model_id", "model_release_date",
    "model_release_source_url", "benchmark_version", "source", "evaluation_date",
    "coverage", "scores", "submitter", "notes",
}  # fmt: skip
SOURCE_TYPES = {"paper", "participant", "maintainer"}


class EntryError(ValueError):
    """A leaderboard entry breaks the schema's rules; the message names the field."""


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100.0 * value, 2)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", text).strip("-").lower()
    return slug if len(slug) >= 2 else f"{slug}-run"


def run_scores(results: Mapping[str, Any], model: str, condition: str) -> dict[str, Any]:
    """Stage, overall, task and taxonomy values (0-1) of one model and condition, from the
    content of a run's results.json (read as plain JSON: this layer sits below the report)."""
    nodes = {
        n["node"]: n["value"]["value"]
        for n in results.get("nodes", [])
        if n["model"] == model and n["condition"] == condition and n["benchmark"] == "avibench"
    }
    groups = {
        g["task"]: g
        for g in results.get("groups", [])
        if g["model"] == model and g["condition"] == condition and g["group"] == "overall"
    }
    if not any(name.startswith("avibench/") for name in groups):
        pairs = sorted(
            {(g["model"], g["condition"]) for g in results.get("groups", [])
             if str(g["task"]).startswith("avibench/")}
        )  # fmt: skip
        known = ", ".join(f"{m} ({c})" for m, c in pairs) or "none"
        raise EntryError(
            f"the run has no AVI-Bench scores for model {model!r} under condition "
            f"{condition!r}; it has: {known}"
        )
    infos = results.get("tasks", {})
    tasks: dict[str, float | None] = {}
    for task in PAPER_TASKS:
        name = paper_task_node(task)
        value = nodes.get(name)
        if value is None and name in groups:
            headline = infos.get(name, {}).get("headline", "accuracy")
            metric = groups[name]["metrics"].get(headline)
            value = metric["value"] if metric is not None else None
        tasks[task] = value
    samples = sum(
        int(g["items"])
        for name, g in groups.items()
        if name.startswith("avibench/") and not name.endswith("/pre")
    )
    stages = {s: nodes.get(stage_node(s)) for s in taxonomy.STAGE_TASKS}
    known_stages = {s: v for s, v in stages.items() if v is not None}
    known_tasks = {t: v for t, v in tasks.items() if v is not None}
    return {
        "overall": nodes.get(OVERALL),
        "stages": stages,
        "tasks": tasks,
        "taxonomy": taxonomy.taxonomy(known_stages, known_tasks),
        "samples": samples,
    }


def leaderboard_entry(
    results: Mapping[str, Any],
    model: str,
    *,
    model_name: str,
    provider: str,
    release_date: str,
    release_url: str,
    condition: str = "default",
    source_type: str = "participant",
    source_url: str | None = None,
    model_id: str | None = None,
    submitter: str | None = None,
    evaluation_date: str | None = None,
) -> dict[str, Any]:
    """The schema-v2 entry of `model` in a run (validated)."""
    scores = run_scores(results, model, condition)
    levels = scores["taxonomy"]
    done_tasks = sum(1 for v in scores["tasks"].values() if v is not None)
    full = done_tasks == len(PAPER_TASKS) and scores["samples"] >= TOTAL_SAMPLES
    reasons = [f"{level.key}: {level.reason}" for level in levels if level.status != "exact"]
    run = results.get("run", "?")
    unavailable = "; ".join(r for r in reasons if not r.startswith("l2"))
    notes = f"omnieval run {run}, condition {condition}. L2 is provisional; {unavailable}"
    entry: dict[str, Any] = {
        "id": _slug(f"{model_name}-{results.get('run', 'run')}"),
        "model_name": model_name,
        "provider": provider,
        "model_id": model_id or model,
        "model_release_date": release_date,
        "model_release_source_url": release_url,
        "benchmark_version": BENCHMARK_VERSION,
        "source": {"type": source_type, "url": source_url or release_url},
        "evaluation_date": evaluation_date or date.today().isoformat(),
        "coverage": {
            "status": "full" if full else "partial",
            "tasks_completed": done_tasks,
            "tasks_total": len(PAPER_TASKS),
            "samples_completed": min(scores["samples"], TOTAL_SAMPLES),
            "samples_total": TOTAL_SAMPLES,
        },
        "scores": {
            "overall": _pct(scores["overall"]),
            "stages": {s: _pct(v) for s, v in scores["stages"].items()},
            "taxonomy": {level.key: _pct(level.value) for level in levels},
            "tasks": {t: _pct(v) for t, v in scores["tasks"].items()},
        },
        "submitter": submitter,
        "notes": notes[:1000],
    }
    validate_entry(entry)
    return entry


# --------------------------------------------------------------------------- validation


def _text(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EntryError(f"{where}.{key} must be a non-empty string")
    return value


def _https(value: str, where: str) -> None:
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.netloc:
        raise EntryError(f"{where} must be an https URL")


def _day(value: Any, where: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise EntryError(f"{where} must be YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise EntryError(f"{where} must be a real date (YYYY-MM-DD)") from None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _scores(value: Any, where: str) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            if not isinstance(key, str) or not key.strip():
                raise EntryError(f"{where} has an empty metric name")
            _scores(child, f"{where}.{key}")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EntryError(f"{where} must be a number or null")
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise EntryError(f"{where} must be between 0 and 100")


def validate_entry(entry: dict[str, Any], where: str = "entry") -> None:
    """The schema-v2 rules: fields, id slug, dates, https URLs, source, coverage consistency,
    scores 0-100 or null, notes of at most 1000 characters."""
    unknown = set(entry) - FIELDS
    if unknown:
        raise EntryError(f"{where} has unsupported fields: {', '.join(sorted(unknown))}")
    ident = _text(entry, "id", where)
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,99}", ident):
        raise EntryError(f"{where}.id must be a 2-100 character slug")
    for key in ("model_name", "provider", "model_id", "benchmark_version"):
        _text(entry, key, where)
    _day(_text(entry, "model_release_date", where), f"{where}.model_release_date")
    _https(_text(entry, "model_release_source_url", where), f"{where}.model_release_source_url")
    source = entry.get("source")
    if not isinstance(source, dict) or set(source) != {"type", "url"}:
        raise EntryError(f"{where}.source must hold exactly type and url")
    if source["type"] not in SOURCE_TYPES:
        raise EntryError(f"{where}.source.type must be one of {', '.join(sorted(SOURCE_TYPES))}")
    _https(_text(source, "url", f"{where}.source"), f"{where}.source.url")
    if entry.get("evaluation_date") is not None:
        _day(entry["evaluation_date"], f"{where}.evaluation_date")
    _coverage(entry.get("coverage"), f"{where}.coverage")
    scores = entry.get("scores")
    if not isinstance(scores, dict) or set(scores) - {"overall", "stages", "taxonomy", "tasks"}:
        raise EntryError(f"{where}.scores must be an object of overall, stages, taxonomy, tasks")
    _scores(scores, f"{where}.scores")
    notes = entry.get("notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > 1000):
        raise EntryError(f"{where}.notes must be text of at most 1000 characters")
    if entry.get("submitter") is not None and not isinstance(entry["submitter"], str):
        raise EntryError(f"{where}.submitter must be text or null")


def _coverage(coverage: Any, where: str) -> None:
    allowed = {"status", "tasks_completed", "tasks_total", "samples_completed", "samples_total"}
    if not isinstance(coverage, dict) or set(coverage) - allowed:
        raise EntryError(f"{where} must be an object with {', '.join(sorted(allowed))}")
    status = coverage.get("status")
    if status not in ("full", "partial"):
        raise EntryError(f"{where}.status must be full or partial")
    done: Any = coverage.get("tasks_completed")
    total: Any = coverage.get("tasks_total")
    if not _count(done) or not _count(total):
        raise EntryError(f"{where} task counts must be non-negative integers")
    if total == 0 or done > total:
        raise EntryError(f"{where} task counts are inconsistent")
    if status == "full" and done != total:
        raise EntryError(f"{where} is full but does not cover every task")
    samples: Any = coverage.get("samples_completed")
    samples_total: Any = coverage.get("samples_total")
    if (samples is None) != (samples_total is None):
        raise EntryError(f"{where} must give both sample counts or neither")
    if samples is not None:
        if not _count(samples) or not _count(samples_total) or samples > samples_total:
            raise EntryError(f"{where} sample counts are inconsistent")
        if status == "full" and samples != samples_total:
            raise EntryError(f"{where} is full but sample coverage is incomplete")
    if status == "partial" and done == total and (samples is None or samples == samples_total):
        raise EntryError(f"{where} is partial but reports full coverage")


def read_run_results(run_dir: Path) -> dict[str, Any]:
    """The content of a run's results.json, or a clear error naming the file."""
    path = run_dir / "results.json"
    if not path.is_file():
        raise EntryError(f"{path} not found: is {run_dir} an omnieval run directory?")
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise EntryError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(found, dict):
        raise EntryError(f"{path} does not hold a results object")
    return found


def entry_text(entry: Mapping[str, Any]) -> str:
    """The entry as written to a file: indented JSON and a final newline."""
    return json.dumps(entry, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--model", required=True, help="the model alias in the run")
    parser.add_argument("--condition", default="default")
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--release-date", required=True, help="YYYY-MM-DD")
    parser.add_argument("--release-url", required=True, help="https URL of the model's release")
    parser.add_argument("--source-url", default=None)
    parser.add_argument("--source-type", default="participant", choices=sorted(SOURCE_TYPES))
    parser.add_argument("--submitter", default=None)
    parser.add_argument("--out", type=Path, default=None, help="write here (default: stdout)")
    args = parser.parse_args(argv)
    try:
        entry = leaderboard_entry(
            read_run_results(args.run_dir),
            args.model,
            model_name=args.model_name,
            provider=args.provider,
            release_date=args.release_date,
            release_url=args.release_url,
            condition=args.condition,
            source_type=args.source_type,
            source_url=args.source_url,
            submitter=args.submitter,
        )
    except (EntryError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    text = entry_text(entry)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
