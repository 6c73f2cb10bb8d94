"""The generated AVI-Bench edition end to end: generator -> loader -> `avibench-solver` through
`api.evaluate` (real WAV / PNG / MP4 files, real SQLite journal), `oracle` at the maximum in both
scoring modes, the modality ablations pulling the two-modality tasks toward chance, determinism
by seed, the release format, and the CLI."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from omnieval import api
from omnieval.benchmarks.avibench.synth import controls_for, generate_avibench
from omnieval.benchmarks.avibench.synth_definitions import STAGE_OF, TASKS
from omnieval.demo import run_avibench_demo
from omnieval.report.results import RunResults

N = 3
SOLVER = "avibench-solver"
CONDITIONS = ["default", "no-audio", "no-frames", "no-images"]
#: answered with an option word (or a count / multi-answer string), scored by accuracy
OPTION_TASKS = ("ASQA", "VSQA_I", "VSQA_V", "AVSQA", "AVM", "AVH", "VAH", "AVQA")
STRUCTURED_TASKS = ("AMIC", "VMIC", "AVL", "AVLG", "VAR", "AVR", "AVC")
#: tasks that need the sound and the picture: (task, the ablations that remove one of them)
NEEDS_BOTH = {
    "AVL": ("no-audio", "no-images"),
    "AVLG": ("no-audio", "no-images"),
    "VAR": ("no-audio", "no-images"),
    "AVR": ("no-audio", "no-images"),
    "AVM": ("no-audio", "no-frames"),
    "AVSQA": ("no-audio", "no-frames"),
}


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_avibench(tmp_path_factory.mktemp("avibench-synth"), n=N, seed=5)


def _run(edition: Path, out: Path, models: list[str], mode: str, **bench: Any) -> RunResults:
    outcome = api.evaluate(
        {
            "name": f"avibench-generated-{mode}",
            "output": str(out),
            "benchmarks": [
                {"name": "avibench", "args": {"data_dir": str(edition), "mode": mode}, **bench}
            ],
            "models": models,
            "progress": False,
        }
    )
    return outcome.results


def _score(results: RunResults, model: str, condition: str, task: str) -> float:
    name = f"avibench/{task}"
    group = results.find(model, condition, name)
    assert group.failed == 0, f"{model} {condition} {task}: {group.failed} failed trials"
    value = group.metrics[results.headline(name)].value
    assert value is not None
    return float(value)


@pytest.fixture(scope="module")
def default_run(edition: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResults:
    """The solver and the oracle, default scoring, every modality ablation: one run."""
    out = tmp_path_factory.mktemp("avibench-runs")
    return _run(edition, out, [SOLVER, "oracle"], "default", conditions=CONDITIONS)


def test_the_solver_answers_every_task_from_the_signal(default_run: RunResults) -> None:
    for task in OPTION_TASKS + STRUCTURED_TASKS:
        best = _score(default_run, "oracle", "default", task)
        got = _score(default_run, SOLVER, "default", task)
        assert got >= 0.95 * best, f"{task}: solver {got:.3f} vs oracle {best:.3f}"
    for task in (*OPTION_TASKS, "AMIC", "VMIC", "VAR", "AVR"):
        assert _score(default_run, SOLVER, "default", task) == 1.0, task
    # boxes: the solver's boxes are the drawn shapes' (rounded to 4 decimals)
    assert _score(default_run, SOLVER, "default", "AVL") > 0.99
    assert _score(default_run, SOLVER, "default", "AVLG") > 0.99
    # the pre-questions are answered too (they gate the formal ones)
    for task in ("ASQA", "VSQA_I", "VSQA_V", "AVSQA"):
        assert _score(default_run, SOLVER, "default", f"{task}/pre") == 1.0
    overall = default_run.node(SOLVER, "default", "avibench:overall").value
    assert overall is not None and overall.value is not None and overall.value > 0.97


def test_oracle_reaches_the_maximum_in_default_scoring(default_run: RunResults) -> None:
    for task in TASKS:
        if task == "AVC":  # a caption against several references: the mean similarity, < 1
            continue
        assert _score(default_run, "oracle", "default", task) == pytest.approx(1.0, abs=1e-4)


def test_oracle_and_solver_reach_the_maximum_in_parity_scoring(
    edition: Path, default_run: RunResults, tmp_path: Path
) -> None:
    parity = _run(edition, tmp_path / "runs", [SOLVER, "oracle"], "parity")
    for task in TASKS:
        best = _score(parity, "oracle", "default", task)
        if task != "AVC":
            assert best == pytest.approx(1.0, abs=1e-4), task
        assert _score(parity, SOLVER, "default", task) >= 0.95 * best, task


def test_the_solver_hears_the_wav_when_the_video_is_muted(edition: Path, tmp_path: Path) -> None:
    """`video_audio: separate` sends the wav and mutes the video (the default sends the video's
    own soundtrack): the synchrony tasks are still solved."""
    runs = tmp_path / "runs"
    tasks = ["AVSQA", "AVM", "AVQA"]
    args = {"video_audio": "separate", "tasks": tasks}
    outcome = api.evaluate(
        {
            "name": "avibench-separate",
            "output": str(runs),
            "benchmarks": [{"name": "avibench", "args": {"data_dir": str(edition), **args}}],
            "models": [SOLVER],
            "progress": False,
        }
    )
    for task in tasks:
        assert _score(outcome.results, SOLVER, "default", task) == 1.0, task


def test_ablations_pull_the_two_modality_tasks_toward_chance(default_run: RunResults) -> None:
    for task, ablations in NEEDS_BOTH.items():
        full = _score(default_run, SOLVER, "default", task)
        for ablation in ablations:
            ablated = _score(default_run, SOLVER, ablation, task)
            # yes/no: chance 1/2; everything else far below it
            assert ablated <= 0.5 and ablated < full - 0.45, (task, ablation, ablated)
    # ... while a one-modality task keeps its score when the other modality goes
    assert _score(default_run, SOLVER, "no-audio", "VSQA_I") == 1.0
    assert _score(default_run, SOLVER, "no-audio", "VMIC") == 1.0
    assert _score(default_run, SOLVER, "no-images", "ASQA") == 1.0
    assert _score(default_run, SOLVER, "no-frames", "AMIC") == 1.0
    # and each loses it without its own modality
    assert _score(default_run, SOLVER, "no-audio", "ASQA") <= 0.5
    assert _score(default_run, SOLVER, "no-images", "VSQA_I") <= 0.5
    assert _score(default_run, SOLVER, "no-frames", "VSQA_V") <= 0.5


def test_release_layout_pre_questions_and_controls(edition: Path) -> None:
    facts = json.loads((edition / "edition.json").read_text())
    assert facts == {"generator": "avibench", "version": "1", "n": N, "seed": 5,
                     "tasks": list(TASKS)}  # fmt: skip
    assert "havib_constants" in (edition / "definitions.py").read_text()
    for task in TASKS:
        folder = edition / "levels" / STAGE_OF[task] / task
        entries = json.loads((folder / "data.json").read_text())
        for entry in entries:
            assert entry["task"] == task and set(entry) == {"id", "task", "subtask", "input",
                                                            "output"}  # fmt: skip
            media = [*(entry["input"]["image_list"] or []), *(entry["input"]["audio_list"] or [])]
            media += [entry["input"]["video"]] if entry["input"]["video"] else []
            assert media and all(m.startswith("./input/") for m in media)
            assert all((folder / m).stat().st_size > 0 for m in media)
        if task in ("ASQA", "VSQA_I", "VSQA_V", "AVSQA"):
            formal, pre = entries[0::2], entries[1::2]
            assert len(formal) == N + controls_for(N)
            assert [p["id"] for p in pre] == [f"pre_{f['id']}" for f in formal]
            controls = [f["output"]["question_answer"] for f in formal[N:]]
            assert controls == ["not sure"] * controls_for(N)
            assert [p["output"]["question_answer"] for p in pre] == ["yes"] * N + ["no"] * (
                controls_for(N)
            )
        else:
            assert [e["id"] for e in entries] == [f"{i:05d}" for i in range(N)]
    avlg = json.loads((edition / "levels/reasoning/AVLG/data.json").read_text())[0]
    assert len(avlg["input"]["image_list"]) == 10 and len(avlg["input"]["audio_list"]) == 1
    assert set(avlg["output"]["question_answer"]["bbox"]) == {f"frame_{k}" for k in range(10)}


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return h.hexdigest()


def test_generation_is_deterministic_by_seed(tmp_path: Path) -> None:
    tasks = ["AVSQA", "AVLG", "AMIC"]
    first = _digest(generate_avibench(tmp_path / "a", n=2, seed=9, tasks=tasks))
    assert _digest(generate_avibench(tmp_path / "b", n=2, seed=9, tasks=tasks)) == first
    assert _digest(generate_avibench(tmp_path / "c", n=2, seed=10, tasks=tasks)) != first
    # item i does not depend on n
    generate_avibench(tmp_path / "d", n=3, seed=9, tasks=["AMIC"])
    small = json.loads((tmp_path / "a/levels/perception/AMIC/data.json").read_text())
    large = json.loads((tmp_path / "d/levels/perception/AMIC/data.json").read_text())
    assert large[:2] == small
    wav = "levels/perception/AMIC/input/wavs/00001.wav"
    assert (tmp_path / "a" / wav).read_bytes() == (tmp_path / "d" / wav).read_bytes()


def test_bad_arguments_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown AVI-Bench task.*AVX"):
        generate_avibench(tmp_path, n=1, tasks=["AVX"])
    with pytest.raises(ValueError, match="n must be at least 1"):
        generate_avibench(tmp_path, n=0)
    release = tmp_path / "release"
    (release / "levels/perception/AMIC").mkdir(parents=True)
    with pytest.raises(ValueError, match="not a generated AVI-Bench edition"):
        generate_avibench(release, n=1, tasks=["AMIC"])
    assert (release / "levels/perception/AMIC").is_dir()  # untouched
    # a generated edition is regenerated in place: the task folder is replaced whole
    again = generate_avibench(tmp_path / "again", n=2, seed=1, tasks=["VAR"])
    generate_avibench(again, n=1, seed=1, tasks=["VAR"])
    wavs = sorted(p.name for p in (again / "levels/understand/VAR/input/wavs").iterdir())
    assert wavs == [f"00000_{k:02d}.wav" for k in range(4)]


def test_cli_generates_the_chosen_tasks(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "omnieval.cli", "generate", "avibench"]
    subprocess.run(
        [*command, "--out", str(tmp_path / "a"), "--n", "1", "--seed", "2", "--tasks", "avl,asqa"],
        check=True,
        capture_output=True,
    )
    written = sorted(p.parent.name for p in (tmp_path / "a/levels").rglob("data.json"))
    assert written == ["ASQA", "AVL"]
    facts = json.loads((tmp_path / "a/edition.json").read_text())
    assert facts["n"] == 1 and facts["seed"] == 2 and facts["tasks"] == ["AVL", "ASQA"]


def test_demo_runs_a_small_avibench_edition(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=200)
    results = run_avibench_demo(tmp_path, n=1, seed=0, console=console).results
    overall = {
        condition: results.node(SOLVER, condition, "avibench:overall").value
        for condition in ("default", "no-audio", "no-frames")
    }
    values = {c: v.value for c, v in overall.items() if v is not None}
    assert values["default"] > 0.97
    assert values["no-audio"] < 0.6 and values["no-frames"] < 0.85
    assert "avibench-solver" in console.file.getvalue()  # type: ignore[attr-defined]
    # the baselines answer every task (structured candidates), far below the solver
    for model in ("random", "constant"):
        for task in TASKS:
            assert results.find(model, "default", f"avibench/{task}").failed == 0, (model, task)
        node = results.node(model, "default", "avibench:overall").value
        assert node is not None and node.value is not None and node.value < 0.6 * values["default"]
    # a second call reuses the edition
    run_avibench_demo(tmp_path, n=1, seed=0, console=console)
    assert console.file.getvalue().count("generating an AVI-Bench edition") == 1  # type: ignore[attr-defined]
