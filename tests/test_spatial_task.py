"""The spatial tasks' requests (an image sequence, then upstream's prompt text) and QA scoring
(robust by default, upstream's first token in parity mode), on a generated edition."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnieval.benchmarks.spatial.prompts import QA_INSTRUCTION
from omnieval.benchmarks.spatial.synth import generate_spatial
from omnieval.benchmarks.spatial.task import SpatialBenchmark, SpatialMaskTask, SpatialQaTask
from omnieval.types import ImagePart, Response, TextPart, Trial, TrialContext


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_spatial(tmp_path_factory.mktemp("task") / "e", n=2, seed=3, frames=5)


def _ctx(task_name: str, sample_id: str, sample: object) -> TrialContext:
    trial = Trial(key="k", model="m", task=task_name, sample_id=sample_id, condition="default")
    return TrialContext.create(trial=trial, sample=sample)  # type: ignore[arg-type]


def test_requests_are_an_image_sequence_then_the_text(edition: Path) -> None:
    tasks = {t.name: t for t in SpatialBenchmark(edition, max_frames=3).tasks()}
    qa = tasks["spatial/cameraqa"]
    sample = qa.samples()[0]
    request = qa.build_request(sample, "default")
    images = [p for p in request.parts if isinstance(p, ImagePart)]
    assert [p.path.name for p in images if p.path] == [
        "frame_0000.png",
        "frame_0002.png",
        "frame_0004.png",
    ]
    assert isinstance(request.parts[-1], TextPart)
    text = request.parts[-1].text
    lines = text.split("\n")
    assert lines[0] == sample.metadata["question"]
    assert lines[1].startswith("A. ") and lines[-1] == QA_INSTRUCTION
    assert request.metadata["spatial"] == {"kind": "qa", "frames": 3}
    mask_task = tasks["spatial/cameramask"]
    assert isinstance(mask_task, SpatialMaskTask) and mask_task.output_kind == "masks"
    mask_request = mask_task.build_request(mask_task.samples()[0], "default")
    assert mask_request.metadata["spatial"]["kind"] == "mask"
    assert mask_request.metadata["spatial"]["object"].startswith("obj")
    assert mask_request.text() == mask_task.samples()[0].metadata["question"]


@pytest.mark.parametrize(
    ("answer", "robust", "first_token"),
    [("{a}", 1.0, 1.0), ("{a}.", 1.0, 1.0), ("The answer is {a}.", 1.0, 0.0), ("({a})", 1.0, 0.0)],
)
def test_qa_scoring_modes(edition: Path, answer: str, robust: float, first_token: float) -> None:
    for scoring, expected in (("default", robust), ("first-token", first_token)):
        task = next(
            t
            for t in SpatialBenchmark(edition, task_type="qa", qa_scoring=scoring).tasks()
            if isinstance(t, SpatialQaTask)
        )
        sample = task.samples()[0]
        ctx = _ctx(task.name, sample.id, sample)
        letter = sample.target.answer  # type: ignore[union-attr]
        extraction = task.extract(ctx, Response(text=answer.format(a=letter)))
        assert task.score(ctx, extraction).values["accuracy"] == expected, (scoring, answer)


def test_bad_settings_are_refused(edition: Path) -> None:
    with pytest.raises(ValueError, match="jf must be one of"):
        SpatialBenchmark(edition, jf="toolkit")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing_frames"):
        SpatialBenchmark(edition, missing_frames="drop")  # type: ignore[arg-type]


def test_mask_task_scores_in_flight_artifacts_and_journals_only_references(edition: Path) -> None:
    from omnieval.benchmarks.spatial.solver import SpatialSolver

    task = next(t for t in SpatialBenchmark(edition).tasks() if isinstance(t, SpatialMaskTask))
    sample = task.samples()[0]
    response = SpatialSolver()._solve(task.build_request(sample, "default"))
    assert response.artifacts and all(a.data for a in response.artifacts)
    extraction, score = task.evaluate_now(_ctx(task.name, sample.id, sample), response)
    assert score.values["J&F"] >= 0.9 and score.values["frames"] == 5
    assert extraction.ok and extraction.value["frames"] == list(range(5))
    assert len(extraction.model_dump_json()) < 2000  # references, never mask bytes
