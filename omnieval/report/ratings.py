"""Human ratings in the results: mean rating per rater x model x task x condition."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from omnieval.report.results import RunResults, read_results, write_results
from omnieval.runner import rundir
from omnieval.runner.ratings import ROLE


def rating_summary(run_dir: Path) -> list[dict[str, Any]]:
    """[{rater, model, task, condition, mean, n}] from the run's journal (empty: no ratings)."""
    path = run_dir / rundir.JOURNAL
    if not path.is_file():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if "judge_trials" not in tables:
            return []
        rows = db.execute(
            "SELECT j.judge, j.response, t.model, t.task, t.condition FROM judge_trials j "
            "JOIN trials t ON t.key = j.parent_key WHERE j.role = ? AND j.status = 'ok'",
            (ROLE,),
        ).fetchall()
    finally:
        db.close()
    cells: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    for judge, response, model, task, condition in rows:
        rater = str(json.loads(judge).get("name", "human:?")).removeprefix("human:")
        answer = json.loads(json.loads(response).get("text") or "{}")
        cells[(rater, model, task, condition)].append(int(answer["rating"]))
    return [
        {
            "rater": rater,
            "model": model,
            "task": task,
            "condition": condition,
            "mean": sum(values) / len(values),
            "n": len(values),
        }
        for (rater, model, task, condition), values in sorted(cells.items())
    ]


def refresh_ratings(run_dir: Path) -> RunResults:
    """Put the journal's current human ratings into the run's results.json; return it."""
    results = read_results(run_dir / rundir.RESULTS)
    ratings = rating_summary(run_dir)
    if ratings != results.human_ratings:
        results = results.model_copy(update={"human_ratings": ratings})
        write_results(run_dir / rundir.RESULTS, results)
    return results
