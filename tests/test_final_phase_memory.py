"""The final phase of a run (aggregation and outputs) streams: report.html and the sample tables
are written as they are made, equal to the outputs built in memory, in memory per trial that
stays small (traced by tracemalloc, as a ratio per trial; no timing)."""

from __future__ import annotations

import csv
import gc
import json
import math
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from omnieval import api
from omnieval.report.html.browser import browser_data, read_sample_rows, relative_url
from omnieval.report.html.page import render_report, write_report
from omnieval.report.run_samples import run_samples
from omnieval.report.tables import flat_rows, write_sample_tables
from omnieval.runner.memory import bulk_objects
from tests.conftest import write_mcq

ITEMS = 250  # x 4 rotations x 2 models = 2,000 trials


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> api.RunOutcome:
    root = tmp_path_factory.mktemp("final-phase")
    path = write_mcq(root / "mcq.jsonl", ITEMS)
    return api.evaluate(
        {
            "name": "final",
            "output": str(root / "runs"),
            "progress": False,
            "benchmarks": [
                {
                    "name": "mcq",
                    "args": {"path": str(path)},
                    "replicates": {"scheme": "rotation", "k": "all"},
                }
            ],
            "models": ["constant", "random"],
        }
    )


def page_in_memory(run_dir: Path, outcome: api.RunOutcome) -> str:
    """report.html as `render_report` makes it from every row at once."""
    samples, problem = run_samples(run_dir)
    assert not problem
    rows = list(read_sample_rows(run_dir / "samples.jsonl"))
    browser = browser_data(rows, samples, run_dir.resolve(), relative_url(run_dir.resolve()))
    return render_report(outcome.results, browser, ratings=outcome.results.human_ratings)


def test_report_written_as_made_equals_the_page_rendered_in_memory(
    run: api.RunOutcome, tmp_path: Path
) -> None:
    assert len(run.records) == ITEMS * 4 * 2
    page = (run.run_dir / "report.html").read_text(encoding="utf-8")
    assert page == page_in_memory(run.run_dir, run)
    data = json.loads(page.split('id="omnieval-data">')[1].split("</script>")[0])
    assert len(data["browser"]["rows"]) == ITEMS * 4 * 2
    # rows that need the cleaned JSON (a NaN score) and the escaped "</": both ways agree
    copy = tmp_path / "copy"
    shutil.copytree(run.run_dir, copy)
    lines = (copy / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    first["scores"] = {"accuracy": math.nan}
    second["response"] = "</script><script>alert(1)</script>"
    lines[:2] = [json.dumps(first), json.dumps(second)]
    (copy / "samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    written = write_report(copy, run.results, lambda: run_samples(copy)[0])
    text = written.read_text(encoding="utf-8")
    assert text == page_in_memory(copy, run)
    assert "NaN" not in text and "</script><script>alert" not in text
    embedded = json.loads(text.split('id="omnieval-data">')[1].split("</script>")[0])
    assert embedded["browser"]["rows"][0][10] == {"accuracy": None}


def test_sample_tables_written_row_by_row_equal_the_tables_of_flat_rows(
    run: api.RunOutcome, tmp_path: Path
) -> None:
    columns, rows = flat_rows(run.records)
    expected_csv = tmp_path / "expected.csv"
    with expected_csv.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    expected_parquet = tmp_path / "expected.parquet"
    pq.write_table(pa.table({c: [row.get(c) for row in rows] for c in columns}), expected_parquet)
    assert (run.run_dir / "samples.csv").read_bytes() == expected_csv.read_bytes()
    assert (run.run_dir / "samples.parquet").read_bytes() == expected_parquet.read_bytes()
    assert pq.read_table(run.run_dir / "samples.parquet").num_rows == len(run.records)


def traced(action: Callable[[], Any]) -> tuple[int, int]:
    """(peak, kept) bytes Python allocated while `action` ran with the cyclic collector paused,
    as the final phase runs (`bulk_objects`); `kept` is what is still allocated afterwards."""
    gc.collect()
    with bulk_objects():
        tracemalloc.start()
        try:
            action()
            kept, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak, kept


def test_outputs_need_little_memory_per_trial_and_leave_none_behind(
    run: api.RunOutcome, tmp_path: Path
) -> None:
    trials = len(run.records)
    samples = run_samples(run.run_dir)[0]
    write_sample_tables(tmp_path, run.records)  # the first call imports pyarrow
    report_peak, report_kept = traced(lambda: write_report(run.run_dir, run.results, samples))
    tables_peak, tables_kept = traced(lambda: write_sample_tables(tmp_path, run.records))
    page = (run.run_dir / "report.html").stat().st_size
    # Holding every row of samples.jsonl as dicts (as report.html was once made) cost ~8 KB per
    # trial here, 28 times the page's own size, and ~0.7 KB per trial for the tables' row dicts.
    # Written as made, what the page needs is its prompts and media lists (one prompt per
    # rotated item: ~0.25 KB per trial), the tables one list per column (~0.17 KB per trial).
    assert report_peak / trials < 1_000, (report_peak / trials, page / trials)
    assert report_peak < 2 * page, (report_peak, page)
    assert tables_peak / trials < 400, tables_peak / trials
    # nothing is left for the paused collector: no reference cycle per row
    assert report_kept / trials < 50 and tables_kept / trials < 50, (report_kept, tables_kept)
