"""`avibench-solver` on every sub-task of the generated edition, called directly on the loader's
samples (no runner): each answer compared with the entry's own answer, plus the signal rules
that the end-to-end test cannot isolate (silence, shape classes, synchrony, unreadable input)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnieval.benchmarks.avibench import solver_signal as sig
from omnieval.benchmarks.avibench.definitions import read_definitions
from omnieval.benchmarks.avibench.loader import load_task
from omnieval.benchmarks.avibench.solver import AvibenchSolver
from omnieval.benchmarks.avibench.synth import generate_avibench
from omnieval.benchmarks.avibench.synth_signals import (
    RATE,
    SHAPES,
    SOUNDS,
    Event,
    canvas,
    mix,
    paint,
    shape_mask,
)
from omnieval.media.encode import encode_png
from omnieval.models.base import PermanentModelError
from omnieval.types import ImagePart, Request, TextPart

#: seven items cover every sub-task of VSQA_I (7), VSQA_V (5), ASQA (4), AVSQA (2), AVQA (3)
TASKS = ["ASQA", "VSQA_I", "VSQA_V", "AVSQA", "AVQA", "AVL", "AVLG", "AVC"]


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_avibench(tmp_path_factory.mktemp("avibench-subtasks"), 7, 21, tasks=TASKS)


def _agrees(task: str, got: str, want: Any) -> bool:
    if task == "AVL":
        return set(ast.literal_eval(got)) == set(want["bbox"])
    if task == "AVLG":
        boxes = ast.literal_eval(got)
        return all((boxes[k] is None) == (v is None) for k, v in want["bbox"].items())
    if task == "AVC":
        return bool(got == want[0])
    return sorted(got.strip("#").split(";")) == sorted(str(want).split(";"))


@pytest.mark.parametrize("task", TASKS)
def test_every_subtask_is_answered_from_the_signal(edition: Path, task: str) -> None:
    definitions = read_definitions(edition / "definitions.py")
    split = load_task(edition, task, definitions, f"avibench/{task}", f"avibench/{task}/pre")
    solver = AvibenchSolver()
    seen = set()
    for sample in split.formal + split.pre:
        request = Request(parts=(*sample.parts, TextPart(text=sample.metadata["text"])))
        got = solver.answer(request)
        assert _agrees(task, got, sample.metadata["answer"]), (sample.id, sample.category, got)
        seen.add(sample.category)
    assert len(seen) >= {"ASQA": 4, "VSQA_I": 7, "VSQA_V": 5, "AVSQA": 2, "AVQA": 3}.get(task, 1)


def test_sound_classes_and_silence() -> None:
    rng = np.random.default_rng(0)
    for kind in SOUNDS:
        track = mix([Event(kind, 0.3, 0.25, 0.3), Event(kind, 1.0, 0.25, 0.3)], 1.6, rng)
        events = sig.classified_events(track, RATE)
        assert [e[2] for e in events] == [kind, kind]
        assert events[0][0] == pytest.approx(0.3, abs=0.02)
    assert sig.is_silent(mix([], 1.0, rng)) and sig.sound_events(mix([], 1.0, rng), RATE) == []


def test_shape_classes_at_several_sizes() -> None:
    for shape in SHAPES:
        for radius in (9.0, 14.0, 22.0):
            img = canvas()
            paint(img, shape_mask(shape, 80.3, 70.6, radius, *img.shape[:2]), (220, 40, 40))
            (blob,) = sig.blobs(img)
            assert (blob.shape, blob.colour) == (shape, "red")


def test_in_memory_images_and_unreadable_questions() -> None:
    img = canvas()
    paint(img, shape_mask("triangle", 96, 72, 18, *img.shape[:2]), (40, 70, 220))
    part = ImagePart(data=encode_png(img), mime="image/png")
    solver = AvibenchSolver()
    asked = Request(parts=(part, TextPart(text=". . What shape is in the image?")))
    assert solver.answer(asked) == "triangle"
    with pytest.raises(PermanentModelError, match="cannot read"):
        solver.answer(Request(parts=(part, TextPart(text="What is the meaning of this?"))))
