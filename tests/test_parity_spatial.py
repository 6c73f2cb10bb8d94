"""Parity with upstream dyn-bench's metric code (`utils/cal_metrics.py` at b5b3ce8): the
fixture holds what upstream's own functions returned (tests/parity/spatial_upstream.py says how
it was made); omnieval's parity settings must give the same numbers on every row: J&F of mask
sequences (band boundary, unpredicted frames skipped, wrong sizes resized), first-token QA
matching through the QA task, ground-truth loading (gaps, image modes) and the per-category
numbers and Overall of a run."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from omnieval.benchmarks.spatial.loader import mask_path
from omnieval.benchmarks.spatial.masks import decode_rle
from omnieval.benchmarks.spatial.scoring import UPSTREAM_BLANK_SHAPE, ground_truth, sequence_scores
from omnieval.benchmarks.spatial.task import OVERALL, SpatialBenchmark, SpatialQaTask
from omnieval.scoring.aggregate import aggregate
from omnieval.scoring.items import BenchmarkAggregation, TaskAggregation
from omnieval.types import (
    ChoiceTarget,
    Response,
    Sample,
    Score,
    Trial,
    TrialContext,
    TrialRecord,
)

FIXTURE = json.loads(
    (Path(__file__).parent / "parity" / "fixtures" / "spatial.json").read_text(encoding="utf-8")
)


def _masks(rows: list[dict[str, Any]]) -> list[np.ndarray]:
    return [decode_rle(r["rle"], r["size"]) for r in rows]


@pytest.mark.parametrize("row", FIXTURE["jf"], ids=lambda r: r["name"])
def test_band_jf_with_skipped_frames_matches_upstream(row: dict[str, Any]) -> None:
    pred, gt = _masks(row["pred"]), _masks(row["gt"])
    ours = sequence_scores(
        dict(enumerate(pred)), gt, "band", "skip", band_threshold=row["bound_th"]
    )
    for metric in ("J", "F", "J&F"):
        assert ours[metric] == pytest.approx(row["upstream"][metric], abs=1e-12), metric


def _ctx(sample: Sample) -> TrialContext:
    trial = Trial(key="k", model="m", task="spatial/qa", sample_id=sample.id, condition="default")
    return TrialContext.create(trial=trial, sample=sample)


def test_first_token_through_the_qa_task_matches_upstream() -> None:
    wrong = []
    for row in FIXTURE["qa"]:
        answer = row["answer"].strip().upper()  # the loader's reading of a letter answer
        sample = Sample(
            id="0",
            task="spatial/qa",
            parts=(),
            target=ChoiceTarget(answer=answer, options=("w", "x", "y", "z")),
        )
        task = SpatialQaTask("qa", [sample], scoring="first-token")
        ctx = _ctx(sample)
        extraction = task.extract(ctx, Response(text=row["prediction"]))
        got = task.score(ctx, extraction).values["accuracy"]
        if got != row["upstream"]:
            wrong.append(f"{row}: ours {got}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("row", FIXTURE["gt"], ids=lambda r: r["name"])
def test_ground_truth_loading_matches_upstream(row: dict[str, Any], tmp_path: Path) -> None:
    for name, data in row["files"].items():
        (tmp_path / name).write_bytes(base64.b64decode(data))
    number = row["object_id"].rsplit("_", 1)[-1]
    paths, frames = [], []
    for position in range(row["n"]):
        found = mask_path(tmp_path, position, number)
        if found is not None:
            paths.append(found)
            frames.append(position)
    ours = ground_truth(paths, frames, row["n"], UPSTREAM_BLANK_SHAPE, leading_blank="fallback")
    theirs = _masks(row["upstream"])
    assert [m.shape for m in ours] == [m.shape for m in theirs]
    for mine, upstream in zip(ours, theirs, strict=True):
        assert np.array_equal(mine, upstream)


SUFFIX = {  # upstream's category and kind -> the release file suffix
    ("Camera-Object", False): "cameraqa",
    ("Camera-Object", True): "cameramask",
    ("Inter-Object", False): "qa",
    ("Inter-Object", True): "objmask",
    ("Object-Scene", False): "sceneqa",
    ("Object-Scene", True): "scenemask",
}


def _edition(root: Path, results: list[dict[str, Any]]) -> None:
    """A release-layout dataset with one item per result row (one scene, one frame)."""
    frames = root / "frames" / "ds" / "s"
    frames.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(frames / "frame_0000.png")
    files: dict[str, Any] = {}
    for index, row in enumerate(results):
        suffix = SUFFIX[(row["category"], row["is_segmentation"])]
        if row["is_segmentation"]:
            files.setdefault(suffix, {})[f"o_{index}"] = {"question": "segment it"}
        else:
            item = {"question": "q", "options": ["A. x", "B. y"], "answer": "A"}
            files.setdefault(suffix, []).append(item)
    folder = root / "multi_json" / "ds"
    folder.mkdir(parents=True)
    for suffix, data in files.items():
        (folder / f"s_{suffix}.json").write_text(json.dumps(data), encoding="utf-8")


def test_category_numbers_and_overall_match_upstream(tmp_path: Path) -> None:
    table = FIXTURE["categories"]
    results = table["results"]
    _edition(tmp_path, results)
    bench = SpatialBenchmark(tmp_path, qa_scoring="first-token", jf="band", missing_frames="skip")
    tasks = {t.name: t for t in bench.tasks()}
    queues: dict[str, list[dict[str, Any]]] = {}
    for row in results:
        suffix = SUFFIX[(row["category"], row["is_segmentation"])]
        queues.setdefault(f"spatial/{suffix}", []).append(row)
    records = []
    for name, task in tasks.items():
        for sample, row in zip(task.samples(), queues[name], strict=True):
            trial = Trial(key=sample.id, model="m", task=name, sample_id=sample.id, condition="c")
            if row["is_segmentation"]:
                value = row["J&F"]
                metrics = ("J&F", "J", "F", "J-recall", "F-recall", "J-decay", "F-decay")
                score = Score(values=dict.fromkeys(metrics, value))
                records.append(TrialRecord(trial=trial, response=Response(text=""), score=score))
            else:
                ctx = TrialContext.create(trial=trial, sample=sample)
                response = Response(text="A" if row["accuracy"] == 1.0 else "B")
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
        for t in tasks.values()
    ]
    benchmark = BenchmarkAggregation("spatial", list(tasks), bench.tree(), [])
    samples = {t.name: {s.id: s for s in t.samples()} for t in tasks.values()}
    result = aggregate(records, tasks=specs, benchmarks=[benchmark], samples=samples)
    for category, numbers in table["upstream"].items():
        for key, theirs in numbers.items():
            kind = key.startswith("Mask")
            name = f"spatial/{SUFFIX[(category, kind)]}"
            group = next(g for g in result.groups if g.task == name and g.group == "overall")
            metric = group.metrics["J&F" if kind else "accuracy"]
            if key.endswith("Count"):
                assert metric.n == theirs, (category, key)
            else:
                assert metric.value * 100 == pytest.approx(theirs, abs=1e-9), (category, key)
    overall = next(n for n in result.nodes if n.node == OVERALL)
    assert overall.value.value * 100 == pytest.approx(table["overall"], abs=1e-9)


def test_the_fixture_names_its_source() -> None:
    assert FIXTURE["upstream"].endswith("LilyYang0504/dyn-bench")
    assert FIXTURE["commit"].startswith("b5b3ce8") and len(FIXTURE["jf"]) >= 59
    assert len(FIXTURE["qa"]) >= 48 and len(FIXTURE["gt"]) >= 11
