"""STAR-Bench end to end through `api.evaluate` (real SQLite journal, real WAV files):
hand-computed AA / ACR with a failed replicate, robust evaluation off, the room fallback, the
generator's CLI and the demo. The generated edition's families are checked in
tests/test_starbench_generated.py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from omnieval import api
from tests.starbench_fixture import Scripted, write_release

assert Scripted.name == "test-starbench-script"  # registered on import

RULES = [
    # P1 (answer p1high): r0 right, r1 right, r2 fails
    ["<A>: p1low", "C"],
    ["<A>: p1high", "A"],
    ["<A>: p1mid", "FAIL"],
    # P2: both runs right
    ["<A>: p2a", "A"],
    ["<A>: p2b", "B"],
    # P3: always D, right only in r2
    ["<A>: p3", "D"],
    # S1: r0 and r1 right, r2 wrong
    ["<A>: s1a", "A"],
    ["<A>: s1d", "B"],
    ["<A>: s1c", "A"],
]


def _run(tmp_path: Path, root: Path, data: str, models: list[Any], **bench: Any) -> api.RunOutcome:
    args = {"data_dir": str(root), "data": data, **bench.pop("args", {})}
    return api.evaluate(
        {
            "name": "starbench",
            "output": str(tmp_path / "runs"),
            "benchmarks": [{"name": "starbench", "args": args, **bench}],
            "models": models,
            "progress": False,
        }
    )


SCRIPT = {"alias": "script", "provider": "test-starbench-script", "init_args": {"rules": RULES}}


@pytest.mark.parametrize("scoring", ["default", "starbench"])
def test_aa_and_acr_match_hand_computed_values(tmp_path: Path, scoring: str) -> None:
    root = write_release(tmp_path / "release")
    outcome = _run(tmp_path, root, "pc+sr", [SCRIPT], args={"scoring": scoring})
    results = outcome.results
    pitch = results.find("script", "default", "starbench/pc/pitch")
    # 5 runs, 4 right (the failed run counts as wrong, as upstream's "ERROR" response does)
    assert pitch.trials == 5 and pitch.failed == 1
    assert pitch.metrics["AA"].value == pytest.approx(4 / 5)  # trial mean, not (2/3 + 1) / 2
    assert pitch.metrics["ACR"].value == pytest.approx(1 / 2)
    loud = results.find("script", "default", "starbench/pc/loudness")
    assert loud.metrics["AA"].value == pytest.approx(1 / 4) and loud.metrics["ACR"].value == 0
    spatial = results.find("script", "default", "starbench/sr")
    assert spatial.trials == 3
    assert spatial.metrics["AA"].value == pytest.approx(2 / 3) and spatial.metrics["ACR"].value == 0
    # perception total: macro over sub-categories; the run: the mean over datasets
    total = results.node("script", "default", "starbench/pc:total")
    assert total.value.value == pytest.approx((4 / 5 + 1 / 4) / 2)
    # per category: macro over its sub-categories (P3's loudness is alone in "level")
    assert results.node("script", "default", "starbench/pc:non-spatial").value.value == 4 / 5
    assert results.node("script", "default", "starbench/pc:level").value.value == 1 / 4
    final = results.node("script", "default", "starbench:final-MA")
    assert final.value.value == pytest.approx(((4 / 5 + 1 / 4) / 2 + 2 / 3) / 2)
    # the ACR twins: the same means over each task's ACR (pitch 1/2, loudness 0, sr 0)
    acr = {n.node: n for n in results.nodes if n.model == "script" and n.metric == "ACR"}
    assert acr["starbench/pc:total:ACR"].value.value == pytest.approx((1 / 2 + 0) / 2)
    assert acr["starbench/pc:non-spatial:ACR"].value.value == pytest.approx(1 / 2)
    assert acr["starbench/pc:level:ACR"].value.value == 0
    assert acr["starbench:final-MA:ACR"].value.value == pytest.approx(((1 / 2 + 0) / 2 + 0) / 2)
    assert acr["starbench:final-MA:ACR"].children == {
        "starbench/pc:total:ACR": 0.5,
        "starbench/sr": 0.5,
    }
    assert final.metric == "AA" and total.metric == "AA"
    rows = [
        json.loads(line) for line in (outcome.run_dir / "samples.jsonl").read_text().splitlines()
    ]
    replicates = {(r["sample_id"], r["replicate"]) for r in rows}
    assert ("P3", "rotation3") in replicates and ("S1", "rotation2") in replicates
    # upstream's run summary: percent rounded to 2 decimals per dataset, Samples = distinct
    # items (pc: P1, P2, P3; sr: S1), Final MA = mean of the rounded values, samples summed
    summary = list(
        csv.DictReader(io.StringIO((outcome.run_dir / "starbench_summary.csv").read_text()))
    )
    assert [(r["Dataset"], r["AA"], r["ACR"], r["Samples"]) for r in summary] == [
        ("pc", "52.5", "25.0", "3"),
        ("sr", "66.67", "0.0", "1"),
        ("Final MA", str((52.5 + 66.67) / 2), str(12.5), "4"),
    ]
    assert {(r["model"], r["condition"]) for r in summary} == {("script", "default")}
    assert (
        "| script | default | Final MA | 59.585 | 12.500 | 4 |"
        in (outcome.run_dir / "starbench_summary.md").read_text()
    )


def test_robust_evaluation_off_is_one_upstream_run(tmp_path: Path) -> None:
    root = write_release(tmp_path / "release")
    outcome = _run(tmp_path, root, "pc+sr+tr", [SCRIPT, "oracle"], replicates={"scheme": "none"})
    results = outcome.results
    # r = 0 only: P1 and P2 right, P3 wrong (its answer is B), S1 right
    assert results.find("script", "default", "starbench/pc/pitch").metrics["accuracy"].value == 1
    assert results.find("script", "default", "starbench/pc/loudness").metrics["accuracy"].value == 0
    assert results.find("script", "default", "starbench/sr").metrics["accuracy"].value == 1
    temporal = results.find("oracle", "default", "starbench/tr")
    assert temporal.trials == 2 and temporal.metrics["accuracy"].value == 1
    # no ACR without circular evaluation: the ACR twins are left out, the headline nodes stay
    assert "ACR" not in {n.metric for n in results.nodes}
    assert results.node("oracle", "default", "starbench:final-MA").value.value == 1
    # the summary's ACR is then the AA (one run per item), as upstream computes it
    summary = list(
        csv.DictReader(io.StringIO((outcome.run_dir / "starbench_summary.csv").read_text()))
    )
    oracle = [
        (r["Dataset"], r["AA"], r["ACR"], r["Samples"]) for r in summary if r["model"] == "oracle"
    ]
    assert oracle == [
        ("pc", "100.0", "100.0", "3"),
        ("sr", "100.0", "100.0", "1"),  # in the order the datasets were asked for
        ("tr", "100.0", "100.0", "2"),
        ("Final MA", "100.0", "100.0", "6"),
    ]


def test_room_falls_back_to_synthetic_without_pyroomacoustics(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from omnieval.benchmarks.starbench import room

    assert room.resolve_room("auto") == "pyroomacoustics"  # installed with the test extra
    monkeypatch.setattr(room, "available", lambda: False)
    with caplog.at_level("WARNING"):
        assert room.resolve_room("auto") == "synthetic"
    assert "pyroomacoustics is not installed" in caplog.text
    with pytest.raises(ValueError, match="omnieval\\[starbench\\]"):
        room.resolve_room("pyroomacoustics")
    with pytest.raises(ValueError, match="room must be one of"):
        room.resolve_room("anechoic")


COMMAND = [sys.executable, "-m", "omnieval.cli", "generate", "starbench"]


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return h.hexdigest()


def test_cli_generates_a_deterministic_release(tmp_path: Path) -> None:
    def generate(out: Path, seed: int, *extra: str) -> str:
        subprocess.run(
            [*COMMAND, "--out", str(out), "--n", "1", "--seed", str(seed), *extra],
            check=True,
            capture_output=True,
        )
        return _digest(out)

    first = generate(tmp_path / "a", 5)
    assert (tmp_path / "a/meta_info/holistic_reasoning_temporal.json").is_file()
    # the default room is pyroomacoustics when it is installed (the test extra installs it)
    assert json.loads((tmp_path / "a/edition.json").read_text())["room"] == "pyroomacoustics"
    assert generate(tmp_path / "b", 5) == first
    assert generate(tmp_path / "c", 6) != first
    assert generate(tmp_path / "d", 5, "--room", "synthetic") != first
    assert json.loads((tmp_path / "d/edition.json").read_text())["room"] == "synthetic"


DEMO = [sys.executable, "-m", "omnieval.cli", "demo", "--benchmark", "starbench"]


def test_demo_runs_a_small_starbench_edition(tmp_path: Path) -> None:
    done = subprocess.run(
        [*DEMO, "--n", "1", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "starbench-solver" in done.stdout + done.stderr
    results = json.loads(next((tmp_path / "runs").glob("*/results.json")).read_text())
    solver = [
        g for g in results["groups"] if g["model"] == "starbench-solver" and g["group"] == "overall"
    ]
    assert solver and all(g["metrics"]["AA"]["value"] == 1 for g in solver)


def test_switching_scoring_rescores_without_rerunning_the_model(tmp_path: Path) -> None:
    root = write_release(tmp_path / "release")
    lower = {
        "alias": "lower",
        "provider": "test-starbench-script",
        "init_args": {"rules": [["<A>:", "answer: a"]]},
    }
    first = _run(tmp_path, root, "pc", [lower], args={"scoring": "default"})
    pitch = first.results.find("lower", "default", "starbench/pc/pitch")
    assert pitch.metrics["AA"].value == pytest.approx(2 / 5)  # "a" read as A: right in 2 runs
    second = _run(tmp_path, root, "pc", [lower], args={"scoring": "starbench"})
    assert second.executed == 0 and second.resumed == first.executed
    parity = second.results.find("lower", "default", "starbench/pc/pitch")
    assert parity.metrics["AA"].value == 0  # upstream keeps "a", never equal to "A"
    rows = [json.loads(x) for x in (second.run_dir / "samples.jsonl").read_text().splitlines()]
    assert {(r["extraction"], r["extraction_rule"]) for r in rows} == {("a", "starbench:keyword")}
