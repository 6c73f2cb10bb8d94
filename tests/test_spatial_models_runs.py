"""The spatial model paths inside real runs on the generated edition (`api.evaluate`, SQLite
journal, artifacts stored under the run directory): `grounded-sam2` in process and behind
`omnieval serve` (reached through the `openai` provider declaring `output: masks`) answers the
mask tasks with a mask for every frame and is unsupported on the QA tasks; `spatial-family`
(VST's think format around an `openai` endpoint) answers the QA tasks, its `</think>` answer
extracted, and is unsupported on the mask tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from omnieval import api, registry
from omnieval.benchmarks.spatial.synth import generate_spatial
from omnieval.models.masks.pipeline import GroundedSam2
from omnieval.models.serve import BackgroundServer, ServeOptions, create_app
from omnieval.types import Outcome, TrialRecord
from tests.loopback import LoopbackConfig, LoopbackServer
from tests.sam2_tiny import save_tiny_sam2

QA_TASKS = ("spatial/cameraqa", "spatial/qa", "spatial/sceneqa")
MASK_TASKS = ("spatial/cameramask", "spatial/objmask", "spatial/scenemask")
N_FRAMES = 4


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spatial-models") / "edition"
    return generate_spatial(root, n=2, seed=3, frames=N_FRAMES, height=48, width=64)


@pytest.fixture(scope="module")
def grounding() -> Iterator[LoopbackServer]:
    reply = '[{"bbox_2d": [8, 8, 40, 30], "label": "object"}]'
    with LoopbackServer(LoopbackConfig(reply=reply)) as server:
        yield server


@pytest.fixture(scope="module")
def thinker() -> Iterator[LoopbackServer]:
    with LoopbackServer(LoopbackConfig(reply="<think>It is on the left.</think> B")) as server:
        yield server


def _by(outcome: api.RunOutcome, model: str, tasks: tuple[str, ...]) -> list[TrialRecord]:
    return [r for r in outcome.records if r.trial.model == model and r.trial.task in tasks]


def test_mask_and_family_models_in_a_run(
    edition: Path,
    tmp_path: Path,
    grounding: LoopbackServer,
    thinker: LoopbackServer,
) -> None:
    sam2_dir = save_tiny_sam2(tmp_path / "sam2")
    ground: dict[str, Any] = {
        "provider": "openai",
        "init_args": {"model": "loopback", "base_url": grounding.url},
    }
    served_model = GroundedSam2(grounding=ground, sam2_path=str(sam2_dir))
    app = create_app(served_model, ServeOptions(alias="sam2-served"))
    with BackgroundServer(app) as server:
        outcome = api.evaluate(
            {
                "name": "models",
                "output": str(tmp_path / "runs"),
                "benchmarks": [{"name": "spatial", "args": {"data_dir": str(edition)}}],
                "models": [
                    {
                        "alias": "sam2",
                        "provider": "grounded-sam2",
                        "init_args": {"grounding": ground, "sam2_path": str(sam2_dir)},
                    },
                    {
                        "alias": "sam2-served",
                        "provider": "openai",
                        "init_args": {
                            "model": "sam2-served",
                            "base_url": f"{server.url}/v1",
                            "output": "masks",
                        },
                    },
                    {
                        "alias": "vst",
                        "provider": "spatial-family",
                        "init_args": {
                            "family": "vst",
                            "video_dir": str(tmp_path / "videos"),
                            "model": {
                                "provider": "openai",
                                "init_args": {
                                    "model": "loopback",
                                    "base_url": thinker.url,
                                    "inputs": ["text", "image", "video"],
                                },
                            },
                        },
                    },
                ],
                "progress": False,
            }
        )
    asyncio.run(served_model.close())
    for alias in ("sam2", "sam2-served"):
        masks = _by(outcome, alias, MASK_TASKS)
        assert masks and all(r.outcome is Outcome.SCORED for r in masks), alias
        for record in masks:
            assert record.score is not None and 0.0 <= record.score.values["J&F"] <= 1.0
            stored = record.response.artifacts
            assert len(stored) == N_FRAMES  # one mask per frame shown
            assert all(a.path and a.sha256 and a.kind == "mask" for a in stored)
            assert all((outcome.run_dir / str(a.path)).is_file() for a in stored)
        qa = _by(outcome, alias, QA_TASKS)
        assert qa and all(r.outcome is Outcome.UNSUPPORTED for r in qa), alias
    # in process, the masks are named for the object the trial asks about
    in_process = _by(outcome, "sam2", MASK_TASKS)
    benchmark = registry.benchmarks.get("spatial")(data_dir=str(edition))
    objects = {
        (task.name, sample.id): sample.metadata["object"]
        for task in benchmark.tasks()
        if task.name in MASK_TASKS
        for sample in task.samples()
    }
    assert len(set(objects.values())) > 1  # the edition asks about several objects
    for record in in_process:
        obj = objects[(record.trial.task, record.trial.sample_id)]
        names = [a.name for a in record.response.artifacts]
        assert names == [f"masks/{obj}/{i:05d}.png" for i in range(N_FRAMES)]
    vst_qa = _by(outcome, "vst", QA_TASKS)
    assert vst_qa and all(r.outcome is Outcome.SCORED for r in vst_qa)
    assert all(r.response.text == "B" for r in vst_qa)
    answers = {
        (task.name, sample.id): sample.target.answer  # type: ignore[union-attr]
        for task in benchmark.tasks()
        if task.name in QA_TASKS
        for sample in task.samples()
    }
    for record in vst_qa:  # "B" after </think> is scored as the letter B
        assert record.score is not None
        right = answers[(record.trial.task, record.trial.sample_id)] == "B"
        assert record.score.values["accuracy"] == float(right)
    assert all(r.outcome is Outcome.UNSUPPORTED for r in _by(outcome, "vst", MASK_TASKS))
    # the grounding model was asked once per mask trial of each grounded-sam2 model
    assert len(grounding.bodies) == 2 * len(in_process)
