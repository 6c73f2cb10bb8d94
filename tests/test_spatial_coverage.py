"""What the spatial Overall covers, per model (the tree's `Coverage`: category x kind), through
real runs of `api.evaluate` on a tiny generated edition: a QA-only model (`random`) and a
mask-only model are reported as covering every category with one kind, the other kind
unsupported; a run without the Object-Scene tasks leaves the Overall partial with that category
named; results.json, leaderboard.md, the terminal leaderboard and report.html all say it. Also
the Core pieces (`check_tree` on a coverage, `node_coverage`) on hand-built inputs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from omnieval import api, registry
from omnieval.benchmarks.spatial.solver import _INPUTS, SpatialSolver
from omnieval.benchmarks.spatial.synth import generate_spatial
from omnieval.benchmarks.spatial.task import OVERALL
from omnieval.models.base import ModelCapabilities
from omnieval.report.coverage import partial_note
from omnieval.report.leaderboard import print_leaderboard
from omnieval.report.results import read_results
from omnieval.scoring.coverage import node_coverage
from omnieval.scoring.tree import Coverage, Node, TreeError, check_tree
from omnieval.types import NodeResult, Outcome

QA = {
    "Camera-Object": "spatial/cameraqa",
    "Inter-Object": "spatial/qa",
    "Object-Scene": "spatial/sceneqa",
}
MASK = {
    "Camera-Object": "spatial/cameramask",
    "Inter-Object": "spatial/objmask",
    "Object-Scene": "spatial/scenemask",
}
MASKS_ONLY = "test-spatial-masks-only"


@registry.models.register(MASKS_ONLY)
class MasksOnlySolver(SpatialSolver):
    """The pixel solver declaring masks and nothing else: unsupported on every QA task."""

    name = MASKS_ONLY
    capabilities = ModelCapabilities(inputs=_INPUTS, output="masks", max_concurrency=4)


def _run(tmp: Path, root: Path, models: list[Any], name: str, **spec: Any) -> api.RunOutcome:
    args = spec.pop("args", {})
    return api.evaluate(
        {
            "name": name,
            "output": str(tmp / "runs"),
            "benchmarks": [{"name": "spatial", "args": {"data_dir": str(root), **args}, **spec}],
            "models": models,
            "progress": False,
        }
    )


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spatial-coverage") / "edition"
    return generate_spatial(out, n=2, seed=3, frames=4, height=48, width=64)


@pytest.fixture(scope="module")
def run(edition: Path, tmp_path_factory: pytest.TempPathFactory) -> api.RunOutcome:
    models = ["random", {"alias": MASKS_ONLY, "provider": MASKS_ONLY}, "spatial-solver"]
    return _run(tmp_path_factory.mktemp("runs"), edition, models, "coverage")


def _overall(outcome: api.RunOutcome, model: str) -> NodeResult:
    return outcome.results.node(model, "default", OVERALL)


def test_qa_only_model_covers_every_category_with_qa_and_masks_are_unsupported(
    run: api.RunOutcome,
) -> None:
    masks = [r for r in run.records if r.trial.model == "random" and r.trial.task in MASK.values()]
    assert masks and all(r.outcome is Outcome.UNSUPPORTED for r in masks)
    overall = _overall(run, "random")
    coverage = overall.coverage
    assert coverage is not None and coverage.axes == ("category", "kind")
    assert coverage.covers == {
        "Camera-Object": ["QA"],
        "Inter-Object": ["QA"],
        "Object-Scene": ["QA"],
    }
    assert coverage.uncovered == {"kind": {"mask": "unsupported"}}
    assert {coverage.outcomes[t] for t in MASK.values()} == {"unsupported"}
    assert {coverage.outcomes[t] for t in QA.values()} == {"scored"}
    assert overall.partial and set(overall.missing) == set(MASK.values())  # no 0 averaged in
    assert set(overall.children) == set(QA.values())
    assert partial_note(overall) == "partial: no mask (unsupported)"


def test_mask_only_model_covers_every_category_with_masks(run: api.RunOutcome) -> None:
    overall = _overall(run, MASKS_ONLY)
    coverage = overall.coverage
    assert coverage is not None
    assert coverage.covers == {
        "Camera-Object": ["mask"],
        "Inter-Object": ["mask"],
        "Object-Scene": ["mask"],
    }
    assert coverage.uncovered == {"kind": {"QA": "unsupported"}}
    assert set(overall.missing) == set(QA.values())
    assert partial_note(overall) == "partial: no QA (unsupported)"
    full = _overall(run, "spatial-solver")
    assert full.coverage is not None and not full.missing and not full.coverage.uncovered
    assert all(kinds == ["QA", "mask"] for kinds in full.coverage.covers.values())
    assert partial_note(full) == ""


def test_results_leaderboard_and_report_name_the_coverage(run: api.RunOutcome) -> None:
    data = json.loads((run.run_dir / "results.json").read_text(encoding="utf-8"))
    stored = {n["model"]: n for n in data["nodes"] if n["node"] == OVERALL}
    assert stored["random"]["coverage"]["uncovered"] == {"kind": {"mask": "unsupported"}}
    assert stored[MASKS_ONLY]["coverage"]["covers"]["Inter-Object"] == ["mask"]
    again = read_results(run.run_dir / "results.json").node("random", "default", OVERALL)
    assert again.coverage == _overall(run, "random").coverage  # read back as written
    board = (run.run_dir / "leaderboard.md").read_text(encoding="utf-8")
    assert "## Coverage of spatial:overall (category x kind)" in board
    assert (
        "| model | condition | Camera-Object | Inter-Object | Object-Scene | not covered |" in board
    )
    assert "| random | default | QA | QA | QA | mask (unsupported) |" in board
    assert f"| {MASKS_ONLY} | default | mask | mask | mask | QA (unsupported) |" in board
    assert "| spatial-solver | default | QA, mask | QA, mask | QA, mask | - |" in board
    assert "partial: no mask (unsupported)" in board
    report = (run.run_dir / "report.html").read_text(encoding="utf-8")
    assert "Coverage of spatial:overall" in report and "mask (unsupported)" in report
    buffer = io.StringIO()
    print_leaderboard(run.results, run.records, Console(file=buffer, width=200))
    terminal = buffer.getvalue()
    assert "Coverage of spatial:overall" in terminal
    table = terminal.split("Coverage of spatial:overall", 1)[1]
    line = next(row for row in table.splitlines() if row.lstrip("│ ").startswith("random"))
    assert "QA" in line and "mask (unsupported)" in line


def test_a_missing_category_is_named_and_the_overall_is_partial(
    edition: Path, tmp_path: Path
) -> None:
    kept = [QA["Camera-Object"], QA["Inter-Object"], MASK["Camera-Object"], MASK["Inter-Object"]]
    outcome = _run(
        tmp_path,
        edition,
        ["random", "spatial-solver"],
        "no-scene",
        tasks=kept,
        args={"averaging": "object", "limit": 2},
    )
    solver = _overall(outcome, "spatial-solver")
    assert solver.coverage is not None
    assert solver.coverage.covers == {
        "Camera-Object": ["QA", "mask"],
        "Inter-Object": ["QA", "mask"],
        "Object-Scene": [],
    }
    assert solver.coverage.uncovered == {"category": {"Object-Scene": "not run"}}
    assert partial_note(solver) == "partial: no Object-Scene (not run)"
    assert len(solver.children) == 4
    # a QA-only model: the mask tasks enter through per-object formulas, equally unsupported
    qa_only = _overall(outcome, "random")
    assert qa_only.coverage is not None
    assert qa_only.coverage.outcomes["spatial/cameramask:J&F/object"] == "unsupported"
    assert qa_only.coverage.outcomes["spatial/scenemask:J&F/object"] == "not run"
    assert qa_only.coverage.uncovered == {
        "category": {"Object-Scene": "not run"},
        "kind": {"mask": "unsupported, not run"},
    }
    assert partial_note(qa_only) == (
        "partial: no Object-Scene (not run), mask (unsupported, not run)"
    )
    data = json.loads((outcome.run_dir / "results.json").read_text(encoding="utf-8"))
    formulas = [n for n in data["nodes"] if n["node"] != OVERALL]
    assert formulas and all("coverage" not in n for n in formulas)  # only declared nodes


def test_check_tree_refuses_a_coverage_that_does_not_label_the_children() -> None:
    good = Coverage(axes=("category",), labels={"a": ("X",), "b": ("Y",)})
    check_tree([Node("top", ("a", "b"), coverage=good)], ["a", "b"])
    stranger = Coverage(axes=("category",), labels={"a": ("X",), "c": ("Y",)})
    with pytest.raises(TreeError, match="unlabelled \\['b'\\], not children \\['c'\\]"):
        check_tree([Node("top", ("a", "b"), coverage=stranger)], ["a", "b", "c"])
    short = Coverage(axes=("category", "kind"), labels={"a": ("X", "QA"), "b": ("Y",)})
    with pytest.raises(TreeError, match="one per axis"):
        check_tree([Node("top", ("a", "b"), coverage=short)], ["a", "b"])


def test_node_coverage_by_outcome_on_one_axis() -> None:
    coverage = Coverage(axes=("stage",), labels={"a": ("perception",), "b": ("reasoning",)})
    result = node_coverage(coverage, {"a": "scored", "b": "failed"})
    assert result.covers == {"perception": [], "reasoning": []}
    assert result.uncovered == {"stage": {"reasoning": "failed"}}
    assert result.missing_note(("b",)) == "reasoning (failed)"
    none_run = node_coverage(coverage, {"a": "scored"})
    assert none_run.outcomes == {"a": "scored", "b": "not run"}
