"""`random` and `constant` on every task of the generated AVI-Bench edition: the structured
tasks (counts, boxes, per-frame boxes, index lists, captions, option-less counting questions)
give them candidate answers in a `structured` answer space, so no trial fails, they score below
the solver, and chance levels stay on the choice tasks only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from omnieval import api
from omnieval.benchmarks.avibench.candidates import structured_candidates
from omnieval.benchmarks.avibench.synth import generate_avibench
from omnieval.benchmarks.avibench.synth_definitions import TASKS
from omnieval.report.results import RunResults
from omnieval.types import AudioPart, Sample, TextTarget

SOLVER = "avibench-solver"
BASELINES = ("random", "constant")
#: choice tasks whose every item lists its options (a uniform guess has a chance level)
LISTED_CHOICE = ("ASQA", "VSQA_I", "VSQA_V", "AVM", "AVH", "VAH")
STRUCTURED = ("AMIC", "VMIC", "AVL", "AVLG", "VAR", "AVR", "AVC", "AVQA", "AVSQA")


def _run(edition: Path, out: Path, mode: str) -> RunResults:
    outcome = api.evaluate(
        {
            "name": f"avibench-baselines-{mode}",
            "output": str(out),
            "benchmarks": [{"name": "avibench", "args": {"data_dir": str(edition), "mode": mode}}],
            "models": [SOLVER, *BASELINES],
            "progress": False,
        }
    )
    return outcome.results


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_avibench(tmp_path_factory.mktemp("avibench-baselines"), n=2, seed=11)


@pytest.fixture(scope="module", params=["default", "parity"])
def results(
    request: pytest.FixtureRequest, edition: Path, tmp_path_factory: pytest.TempPathFactory
) -> RunResults:
    return _run(edition, tmp_path_factory.mktemp("runs"), str(request.param))


def _headline(results: RunResults, model: str, task: str) -> float:
    name = f"avibench/{task}"
    group = results.find(model, "default", name)
    assert group.failed == 0, f"{model} {task}: {group.failed} failed trials"
    value = group.metrics[results.headline(name)].value
    assert value is not None, f"{model} {task}: no headline score"
    return float(value)


def test_baselines_answer_every_task_without_a_failed_trial(results: RunResults) -> None:
    for task in TASKS:
        solver = _headline(results, SOLVER, task)
        for model in BASELINES:
            got = _headline(results, model, task)
            assert 0.0 <= got <= solver, f"{model} {task}: {got:.3f} above the solver"
            if task in STRUCTURED:  # content-blind candidates cannot match the signal
                assert got < solver, f"{model} {task}: {got:.3f} not below the solver {solver:.3f}"
    for model in BASELINES:
        overall = results.node(model, "default", "avibench:overall").value
        best = results.node(SOLVER, "default", "avibench:overall").value
        assert overall is not None and overall.value is not None
        assert best is not None and best.value is not None
        assert overall.value < 0.6 * best.value, model


def test_chance_levels_stay_on_listed_choice_tasks(results: RunResults) -> None:
    for task in LISTED_CHOICE:
        assert results.tasks[f"avibench/{task}"].chance, task
    for task in STRUCTURED:
        assert results.tasks[f"avibench/{task}"].chance == {}, task


def test_candidates_follow_each_answer_format() -> None:
    def sample(options: object, parts: tuple[object, ...] = ()) -> Sample:
        return Sample(
            id="00000", task="avibench/X", parts=parts, target=TextTarget(references=("1",)),
            metadata={"options": options},
        )  # fmt: skip

    counts = structured_candidates("counts", "AMIC", sample(["dog", "cat", "not sure"]))
    assert ast.literal_eval(counts[0]) == {"dog": 0, "cat": 0}
    boxes = structured_candidates("boxes", "AVL", sample(["dog", "no available option"]))
    assert boxes == (repr({"dog_1": [0.25, 0.25, 0.75, 0.75]}),)
    audio = AudioPart(path=Path("a.wav"))
    three = structured_candidates("indices", "VAR", sample(None, (audio, audio, audio)))
    assert [ast.literal_eval(c) for c in three] == [[0], [1], [0, 1], []]
    one = structured_candidates("indices", "VAR", sample(None, (audio,)))
    assert [ast.literal_eval(c) for c in one] == [[0], []]
    assert structured_candidates("choice", "AVQA", sample(None))[0] == "0"
    assert structured_candidates("choice", "AVQA", sample("left, right")) == ("left", "right")
    assert structured_candidates("multi", "AVSQA", sample(None)) == ()
