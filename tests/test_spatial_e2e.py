"""The spatial benchmark end to end through `api.evaluate` (real PNG frames and masks written by
the generator, real SQLite journal, mask artifacts stored under the run directory): the solver
and the oracle on the generated edition, a QA-only model reported as unsupported on the mask
tasks, the `empty-masks` floor, per-object averaging, a rescore that reads the stored masks
again, and the generator's CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from omnieval import api
from omnieval.benchmarks.spatial.averaging import object_key, per_object_mean
from omnieval.benchmarks.spatial.synth import generate_spatial
from omnieval.benchmarks.spatial.task import OVERALL, categories_covered
from omnieval.types import Outcome, Response, Score, Trial, TrialRecord

QA_TASKS = ("spatial/cameraqa", "spatial/qa", "spatial/sceneqa")
MASK_TASKS = ("spatial/cameramask", "spatial/objmask", "spatial/scenemask")


def _run(tmp: Path, root: Path, models: list[Any], name: str, **args: Any) -> api.RunOutcome:
    return api.evaluate(
        {
            "name": name,
            "output": str(tmp / "runs"),
            "benchmarks": [{"name": "spatial", "args": {"data_dir": str(root), **args}}],
            "models": models,
            "progress": False,
        }
    )


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_spatial(tmp_path_factory.mktemp("spatial") / "edition", n=6, seed=1, frames=6)


@pytest.fixture(scope="module")
def run(edition: Path, tmp_path_factory: pytest.TempPathFactory) -> api.RunOutcome:
    tmp = tmp_path_factory.mktemp("spatial-runs")
    models = ["spatial-solver", "oracle", "random", "empty-masks"]
    return _run(tmp, edition, models, "e2e")


def _records(outcome: api.RunOutcome, model: str, tasks: tuple[str, ...]) -> list[TrialRecord]:
    return [r for r in outcome.records if r.trial.model == model and r.trial.task in tasks]


def _mean(records: list[TrialRecord], metric: str) -> float:
    values = [r.score.values[metric] if r.score else 0.0 for r in records]
    return sum(values) / len(values)


def test_solver_answers_and_segments_from_pixels(run: api.RunOutcome) -> None:
    qa = _records(run, "spatial-solver", QA_TASKS)
    masks = _records(run, "spatial-solver", MASK_TASKS)
    assert len(qa) >= 20 and len(masks) >= 12
    assert all(r.outcome is Outcome.SCORED for r in qa + masks)
    assert _mean(qa, "accuracy") >= 0.9
    assert _mean(masks, "J&F") >= 0.9
    # the masks are artifacts stored by reference under the run directory, with digests
    stored = [a for r in masks for a in r.response.artifacts]
    assert stored and all(a.path and a.sha256 for a in stored)
    first = stored[0]
    assert first.path is not None
    data = (run.run_dir / first.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == first.sha256


def test_oracle_scores_full_marks_on_both_kinds(run: api.RunOutcome) -> None:
    assert _mean(_records(run, "oracle", QA_TASKS), "accuracy") == 1.0
    masks = _records(run, "oracle", MASK_TASKS)
    assert _mean(masks, "J&F") == 1.0 and _mean(masks, "F") == 1.0
    assert run.results.node("oracle", "default", OVERALL).value.value == 1.0


def test_qa_only_model_is_unsupported_on_masks_and_the_overall_says_so(
    run: api.RunOutcome,
) -> None:
    masks = _records(run, "random", MASK_TASKS)
    assert masks and all(r.outcome is Outcome.UNSUPPORTED for r in masks)
    assert "needs masks" in (masks[0].response.error or "")
    overall = run.results.node("random", "default", OVERALL)
    assert set(overall.missing) == set(MASK_TASKS)  # not a 0 averaged in
    assert set(overall.children) == set(QA_TASKS)
    covered = categories_covered(list(overall.children))
    assert covered == {"Camera-Object": ["qa"], "Inter-Object": ["qa"], "Object-Scene": ["qa"]}
    solver = run.results.node("spatial-solver", "default", OVERALL)
    assert not solver.missing and len(solver.children) == 6


def test_empty_masks_is_the_floor(run: api.RunOutcome) -> None:
    masks = _records(run, "empty-masks", MASK_TASKS)
    assert masks and all(r.outcome is Outcome.SCORED for r in masks)
    # every generated object is visible on every frame: no "both empty = 1" to collect
    assert _mean(masks, "J&F") == 0.0


def test_rescore_reads_the_stored_masks_with_another_variant(edition: Path, tmp_path: Path) -> None:
    outcome = _run(tmp_path, edition, ["spatial-solver"], "rescore", task_type="mask", limit=2)
    records = _records(outcome, "spatial-solver", MASK_TASKS)
    assert _mean(records, "J&F") >= 0.9
    # the stored masks are read again from the run directory (never from the journal)
    tampered = records[0]
    artifact = tampered.response.artifacts[0]
    assert artifact.path is not None
    (outcome.run_dir / artifact.path).write_bytes(b"changed after the run")
    again = api.rescore(outcome.run_dir, settings={"spatial.args.jf": "band"})
    after = {r.trial.key: r for r in _records(again, "spatial-solver", MASK_TASKS)}
    broken = after[tampered.trial.key]
    assert broken.outcome is Outcome.SCORING_ERROR
    assert "does not match its sha256" in (broken.score.error if broken.score else "")
    rest = [r for key, r in after.items() if key != tampered.trial.key]
    assert rest and _mean(rest, "J&F") >= 0.9
    assert all(r.extraction and r.extraction.rule == "mask-artifacts" for r in rest)


def _absent_object_release(root: Path) -> Path:
    """One scene of 4 frames; obj1 is visible on frames 0-1 only; two expressions name obj1
    and one names obj2 (visible on every frame)."""
    scene = root / "frames" / "ds" / "room"
    masks = root / "masks" / "ds" / "room"
    scene.mkdir(parents=True)
    masks.mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(scene / f"frame_{i:04d}.png")
        one = np.zeros((20, 30), np.uint8)
        if i < 2:
            one[2:8, 2:8] = 255
        two = np.zeros((20, 30), np.uint8)
        two[10:16, 12:20] = 255
        Image.fromarray(one).save(masks / f"frame_{i:04d}_obj1.png")
        Image.fromarray(two).save(masks / f"frame_{i:04d}_obj2.png")
    base = root / "multi_json" / "ds"
    base.mkdir(parents=True)
    items = {
        "cup_1": {"question": "Segment the cup."},
        "red_thing_1": {"question": "Segment the red thing."},
        "box_2": {"question": "Segment the box."},
    }
    (base / "room_cameramask.json").write_text(json.dumps(items))
    return root


def test_floor_counts_no_target_frames_and_averaging_is_named(tmp_path: Path) -> None:
    root = _absent_object_release(tmp_path / "release")
    outcome = _run(tmp_path, root, ["empty-masks"], "floor")
    records = _records(outcome, "empty-masks", ("spatial/cameramask",))
    by_id = {r.trial.sample_id: r.score.values["J&F"] for r in records if r.score}
    # obj1 is absent on half of its frames: both empty there, J = F = 1 -> J&F 0.5
    assert by_id == {"ds/room/cup_1": 0.5, "ds/room/red_thing_1": 0.5, "ds/room/box_2": 0.0}
    group = outcome.results.find("empty-masks", "default", "spatial/cameramask")
    assert group.metrics["J&F"].value == pytest.approx(1 / 3)  # per expression (upstream)
    assert group.metrics["J&F/object"].value == pytest.approx(0.25)  # per object (DAVIS)
    per_object = _run(tmp_path, root, ["empty-masks"], "floor-object", averaging="object")
    node = per_object.results.node("empty-masks", "default", "spatial/cameramask:J&F/object")
    assert node.value.value == pytest.approx(0.25)
    overall = per_object.results.node("empty-masks", "default", OVERALL)
    assert list(overall.children) == ["spatial/cameramask:J&F/object"]
    assert overall.value.value == pytest.approx(0.25)
    expression = outcome.results.node("empty-masks", "default", OVERALL)
    assert list(expression.children) == ["spatial/cameramask"]
    assert expression.value.value == pytest.approx(1 / 3)


def test_per_object_mean_groups_expressions_by_object() -> None:
    def record(sample: str, value: float) -> TrialRecord:
        trial = Trial(key=sample, model="m", task="t", sample_id=sample, condition="default")
        return TrialRecord(trial=trial, response=Response(), score=Score(values={"J&F": value}))

    assert object_key("ds/room/cup_1") == "ds/room/obj1"
    records = [record("ds/a/x_1", 1.0), record("ds/a/y_1", 0.0), record("ds/a/z_2", 1.0)]
    assert per_object_mean(records, "J&F") == pytest.approx(0.75)


def test_generator_cli_is_deterministic(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "omnieval.cli",
            "generate",
            "spatial",
            "--out",
            str(out),
            "--n",
            "1",
            "--seed",
            "5",
            "--frames",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode == 0, done.stderr
    again = generate_spatial(tmp_path / "api", n=1, seed=5, frames=3)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for name in files:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    suffixes = {p.stem.rsplit("_", 1)[1] for p in (out / "multi_json" / "synth").glob("*.json")}
    assert {"cameraqa", "qa", "sceneqa", "cameramask", "scenemask"} <= suffixes
