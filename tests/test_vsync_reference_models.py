"""`random`, `constant` and `oracle` on V-SYNC's generated editions (Level 1 and Levels 2/3's
"should X speak now?"): every trial answered, the oracle right on every item, and the guessing
models not (the plumbing check the other benchmarks' tests make too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnieval import api
from omnieval.benchmarks.vsync.synth import generate_vsync
from tests.conftest import N_WHEN, synth_config

MODELS = ["random", "constant", "oracle"]


def _check(outcome: api.RunOutcome, task: str, n: int) -> None:
    assert outcome.results.totals.failed == 0
    accuracy = {m: outcome.results.find(m, "avt", task).metrics["accuracy"] for m in MODELS}
    assert all(a.n == n for a in accuracy.values()), accuracy
    assert accuracy["oracle"].value == 1.0
    assert accuracy["constant"].value < 1.0 and accuracy["random"].value < 1.0


def _run(tmp_path: Path, name: str, benchmark: dict[str, Any]) -> api.RunOutcome:
    return api.evaluate(
        {
            "name": name,
            "output": str(tmp_path / "runs"),
            "progress": False,
            "benchmarks": [{**benchmark, "variants": ["avt"]}],
            "models": MODELS,
        }
    )


def test_reference_models_on_a_generated_level1_edition(tmp_path: Path) -> None:
    generate_vsync(tmp_path / "v1", 6, seed=0, config=synth_config("formant"), workers=1)
    outcome = _run(tmp_path, "l1", {"name": "vsync", "args": {"data_dir": str(tmp_path / "v1")}})
    _check(outcome, "vsync/level1", 6)


def test_reference_models_on_the_generated_when_edition(
    vsync_when_edition: Path, tmp_path: Path
) -> None:
    args = {"data_dir": str(vsync_when_edition), "levels": ["when"]}
    args["cache_dir"] = str(tmp_path / "cache")
    outcome = _run(tmp_path, "l2", {"name": "vsync-level2", "args": args})
    _check(outcome, "vsync/when", N_WHEN)
