"""AVI-Bench `mode: parity` against upstream's own scores: the fixture
`tests/parity/fixtures/avibench.json` holds scenarios of data.json entries and refined
predictions, and what upstream's `eval.py` (commit 2ba4eb0b) returned for each, written by
`tests/parity/avibench_upstream.py`. The first scenario mixes many items per task; each of the
others holds one adversarial table per task (mostly one item), so a task score there is that
item's score. Every task is loaded from the entries as released, every prediction is scored by
omnieval and aggregated (gates, corpus metrics, the pooled VSQA), and the result must equal
upstream's to its five decimals, for every scenario and every number upstream printed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from omnieval.benchmarks.avibench.benchmark import AviBenchmark
from omnieval.benchmarks.avibench.layout import TASKS
from omnieval.benchmarks.avibench.task import AviTask
from omnieval.types import TrialContext
from tests.avibench_scoring import aggregate_records, score_task

FIXTURE = json.loads(
    (Path(__file__).resolve().parent / "parity" / "fixtures" / "avibench.json").read_text(
        encoding="utf-8"
    )
)
#: upstream's output key -> (our task, metric) of the scalar tasks
SCALAR = {"asqa": "ASQA", "avsqa": "AVSQA", "avm": "AVM", "avh": "AVH", "vah": "VAH",
          "avqa": "AVQA"}  # fmt: skip
CORPUS = {
    "amic": ("AMIC", {"Average": "Average", "Semantic": "Semantic", "Instance": "Instance"}),
    "vmic": ("VMIC", {"Average": "Average", "Semantic": "Semantic", "Instance": "Instance"}),
    "avl": ("AVL", {"Average": "Average", "mIoU": "mIoU", "Instance": "Instance"}),
    "var": ("VAR", {m: m for m in ("Average", "Recall@1", "Recall@3", "F1_score")}),
    "avr": ("AVR", {m: m for m in ("Average", "Recall@1", "Recall@3", "F1_score")}),
}


def run_ours(root: Path, scenario: dict[str, Any]) -> Any:
    table = {task: FIXTURE["definitions"].get(task, {}) for task in TASKS}
    (root / "definitions.py").write_text(f"havib_constants = {table!r}\n", encoding="utf-8")
    predictions: dict[str, list[str | None]] = {}
    for task, rows in scenario["tasks"].items():
        folder = root / "levels" / TASKS[task][0] / task
        folder.mkdir(parents=True)
        (folder / "data.json").write_text(json.dumps(rows["data"]), encoding="utf-8")
        predictions[task] = rows["predictions"]
    bench = AviBenchmark(root, mode="parity")

    def prediction(task: AviTask, ctx: TrialContext) -> str | None:
        # upstream skips a slot without a prediction (None): score_task leaves it out
        return predictions[task.folder_task][int(ctx.sample.id)]

    records = [r for task in bench._tasks for r in score_task(task, prediction, groups=False)]
    return aggregate_records(bench, records)


def _ours(result: Any, task: str, metric: str) -> float | None:
    for group in result.groups:
        if group.task == f"avibench/{task}" and group.group == "overall":
            return float(group.metrics[metric].value)
    return None


def _same(ours: float | None, theirs: float) -> bool:
    if ours is None:
        return False
    if isinstance(theirs, float) and math.isnan(theirs):
        return math.isnan(ours)
    # upstream rounds every number to five decimals but the retrieval Average (a mean of
    # rounded parts): ours must be that number, or round to it
    return abs(ours - theirs) <= 1e-12 or round(ours, 5) == theirs


@pytest.mark.parametrize("scenario", FIXTURE["scenarios"], ids=lambda s: s["name"])
def test_every_upstream_number_matches(scenario: dict[str, Any], tmp_path: Path) -> None:
    result = run_ours(tmp_path, scenario)
    upstream = {k: v for stage in scenario["upstream"].values() for k, v in stage.items()}
    wrong: list[str] = []
    for key, theirs in upstream.items():
        if key in SCALAR:
            checks = [(SCALAR[key], "accuracy", theirs)]
        elif key in CORPUS:
            task, names = CORPUS[key]
            checks = [(task, ours, theirs[up]) for up, ours in names.items()]
        elif key == "avlg":
            checks = [("AVLG", "mIoU", theirs)]
        elif key == "vsqa":
            node = next((n for n in result.nodes if n.node == "avibench/VSQA"), None)
            value = None if node is None else float(node.value.value)
            if not _same(value, theirs):
                wrong.append(f"vsqa: ours {value}, upstream {theirs}")
            continue
        else:
            raise AssertionError(f"unexpected upstream key {key}")
        for task, metric, value in checks:
            ours = _ours(result, task, metric)
            if not _same(ours, value):
                data = scenario["tasks"][task]
                wrong.append(f"{task} {metric}: ours {ours}, upstream {value}; {data}")
    assert not wrong, "\n".join(wrong)


def test_the_fixture_covers_every_scored_task() -> None:
    seen = {k for s in FIXTURE["scenarios"] for st in s["upstream"].values() for k in st}
    assert seen == {*SCALAR, *CORPUS, "avlg", "vsqa"}
    assert FIXTURE["commit"].startswith("2ba4eb0b") and len(FIXTURE["scenarios"]) >= 40
