"""samples.csv and samples.parquet: one flat row per trial beside samples.jsonl.

Columns: key, model, task, sample_id, condition, replicate, status, outcome, response, error,
extraction (text; structured answers as JSON), extraction_rule, extraction_ok, one
`score.<metric>` column per metric, scoring_error, latency_s, attempts. Parquet is written when
`pyarrow` is installed (extra `report`); CSV always.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from omnieval.report.exports import trial_identity
from omnieval.types import TrialRecord

CSV_NAME = "samples.csv"
PARQUET_NAME = "samples.parquet"
BASE_COLUMNS = (
    "key",
    "model",
    "task",
    "sample_id",
    "condition",
    "replicate",
    "status",
    "outcome",
    "response",
    "error",
    "extraction",
    "extraction_rule",
    "extraction_ok",
)
TAIL_COLUMNS = ("scoring_error", "latency_s", "attempts")


def flat_rows(records: Sequence[TrialRecord]) -> tuple[list[str], list[dict[str, Any]]]:
    """The column names and one flat dict per trial."""
    metrics = metric_names(records)
    return table_columns(metrics), [flat_row(record, metrics) for record in records]


def metric_names(records: Iterable[TrialRecord]) -> list[str]:
    """Every metric some trial's score holds, sorted (one `score.<metric>` column each)."""
    return sorted({m for r in records if r.score for m in r.score.values})


def table_columns(metrics: Sequence[str]) -> list[str]:
    return [*BASE_COLUMNS, *(f"score.{m}" for m in metrics), *TAIL_COLUMNS]


def flat_row(record: TrialRecord, metrics: Sequence[str]) -> dict[str, Any]:
    """One trial's row: `BASE_COLUMNS`, its `score.<metric>` values, `TAIL_COLUMNS`."""
    response, extraction = record.response, record.extraction
    row: dict[str, Any] = {
        **trial_identity(record),
        "status": response.status.value,
        "outcome": record.outcome.value,
        "response": response.text,
        "error": response.error,
        "extraction": as_text(extraction.value) if extraction else None,
        "extraction_rule": extraction.rule if extraction else None,
        "extraction_ok": extraction.ok if extraction else None,
        "scoring_error": record.score.error if record.score else None,
        "latency_s": round(response.latency_s, 6),
        "attempts": response.attempts,
    }
    values = record.score.values if record.score else {}
    for metric in metrics:
        row[f"score.{metric}"] = values.get(metric)
    return row


def as_text(value: Any) -> str | None:
    """An extracted value as one text cell: strings as they are, anything else (counts, boxes,
    index lists, dicts) as JSON, so every column keeps one type."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def write_sample_tables(run_dir: Path, records: Sequence[TrialRecord]) -> list[Path]:
    """Write samples.csv (and samples.parquet with pyarrow); return the paths written. Rows are
    made one at a time from the records: the CSV is written row by row, and the Parquet table
    is built from one list per column (no list of every row's dict)."""
    metrics = metric_names(records)
    columns = table_columns(metrics)
    written = [_write_csv(run_dir / CSV_NAME, columns, (flat_row(r, metrics) for r in records))]
    if importlib.util.find_spec("pyarrow") is not None:
        written.append(_write_parquet(run_dir / PARQUET_NAME, columns, metrics, records))
    return written


def _write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    os.replace(tmp, path)
    return path


def _write_parquet(
    path: Path, columns: list[str], metrics: Sequence[str], records: Sequence[TrialRecord]
) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    values: dict[str, list[Any]] = {name: [] for name in columns}
    for record in records:
        for name, value in flat_row(record, metrics).items():
            values[name].append(value)
    table = pa.table(values)
    del values  # the table holds its own copy
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    del table
    pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
    os.replace(tmp, path)
    return path
