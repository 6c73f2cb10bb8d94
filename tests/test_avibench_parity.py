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
from omnieval.scoring.aggregate import aggregate
from omnieval.scoring.items import BenchmarkAggregation, TaskAggregation
from omnieval.types import Response, Trial, TrialContext, TrialRecord

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
    records: list[TrialRecord] = []
    for task in bench._tasks:
        for sample in task.samples():
            text = predictions[task.folder_task][int(sample.id)]
            if text is None:  # upstream skips a slot without a prediction
                continue
            trial = Trial(
                key=f"{task.name}:{sample.id}",
                model="m",
                task=task.name,
                sample_id=sample.id,
                condition="default",
            )
            ctx = TrialContext.create(trial, sample)
            response = Response(text=text)
            extraction = task.extract(ctx, response)
            records.append(
                TrialRecord(
                    trial=trial,
                    response=response,
                    extraction=extraction,
                    score=task.score(ctx, extraction),
                )
            )
    specs = [
        TaskAggregation(t.name, metrics=t.metrics, corpus_metrics=t.corpus_metrics)
        for t in bench._tasks
    ]
    benchmark = BenchmarkAggregation(
        "avibench", [t.name for t in bench._tasks], bench.tree(), bench.gates()
    )
    samples = {t.name: {s.id: s for s in t.samples()} for t in bench._tasks}
    return fixture["upstream"], aggregate(
        records, tasks=specs, benchmarks=[benchmark], samples=samples
    )


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
