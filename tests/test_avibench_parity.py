"""AVI-Bench `mode: parity` against upstream's own scores: the fixture
`tests/parity/fixtures/avibench.json` holds data.json entries, refined predictions and what
upstream's `eval.py` (commit 2ba4eb0b) returned for them, written by
`tests/parity/avibench_upstream.py`. Each task is loaded from the entries as released, every
prediction is scored by omnieval and aggregated (gates, corpus metrics, the pooled VSQA), and the
result must equal upstream's to its five decimals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnieval.benchmarks.avibench.benchmark import AviBenchmark
from omnieval.benchmarks.avibench.layout import TASKS
from omnieval.benchmarks.avibench.task import AviTask
from omnieval.types import TrialContext
from tests.avibench_scoring import aggregate_records, score_task

FIXTURE = Path(__file__).resolve().parent / "parity" / "fixtures" / "avibench.json"


@pytest.fixture(scope="module")
def parity_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Any]:
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    root = tmp_path_factory.mktemp("avi-parity")
    table = {task: fixture["definitions"].get(task, {}) for task in TASKS}
    (root / "definitions.py").write_text(f"havib_constants = {table!r}\n", encoding="utf-8")
    predictions: dict[str, list[str | None]] = {}
    for task, rows in fixture["tasks"].items():
        folder = root / "levels" / TASKS[task][0] / task
        folder.mkdir(parents=True)
        (folder / "data.json").write_text(json.dumps(rows["data"]), encoding="utf-8")
        predictions[task] = rows["predictions"]
    bench = AviBenchmark(root, mode="parity")

    def prediction(task: AviTask, ctx: TrialContext) -> str | None:
        # upstream skips a slot without a prediction (None): score_task leaves it out
        return predictions[task.folder_task][int(ctx.sample.id)]

    records = [r for task in bench._tasks for r in score_task(task, prediction, groups=False)]
    return fixture["upstream"], aggregate_records(bench, records)


def _ours(result: Any, task: str, metric: str) -> float:
    group = next(g for g in result.groups if g.task == f"avibench/{task}" and g.group == "overall")
    return float(group.metrics[metric].value)


SCALARS = [
    ("sensation", "asqa", "ASQA"),
    ("sensation", "avsqa", "AVSQA"),
    ("perception", "avm", "AVM"),
    ("reasoning", "avh", "AVH"),
    ("reasoning", "vah", "VAH"),
    ("reasoning", "avqa", "AVQA"),
]


@pytest.mark.parametrize(("stage", "key", "task"), SCALARS)
def test_accuracy_tasks_match_upstream(parity_run: Any, stage: str, key: str, task: str) -> None:
    upstream, result = parity_run
    assert round(_ours(result, task, "accuracy"), 5) == upstream[stage][key]


def test_pooled_vsqa_matches_upstream(parity_run: Any) -> None:
    upstream, result = parity_run
    node = next(n for n in result.nodes if n.node == "avibench/VSQA")
    assert round(node.value.value, 5) == upstream["sensation"]["vsqa"]


@pytest.mark.parametrize(
    ("stage", "key", "task", "metrics"),
    [
        ("perception", "amic", "AMIC", ("Average", "Semantic", "Instance")),
        ("perception", "vmic", "VMIC", ("Average", "Semantic", "Instance")),
        ("perception", "avl", "AVL", ("Average", "mIoU", "Instance")),
        ("understand", "var", "VAR", ("Average", "Recall@1", "Recall@3", "F1_score")),
        ("understand", "avr", "AVR", ("Average", "Recall@1", "Recall@3", "F1_score")),
    ],
)
def test_corpus_tasks_match_upstream(
    parity_run: Any, stage: str, key: str, task: str, metrics: tuple[str, ...]
) -> None:
    upstream, result = parity_run
    for metric in metrics:
        assert _ours(result, task, metric) == pytest.approx(upstream[stage][key][metric], abs=1e-9)


def test_avlg_matches_upstream(parity_run: Any) -> None:
    upstream, result = parity_run
    assert round(_ours(result, "AVLG", "mIoU"), 5) == upstream["reasoning"]["avlg"]
