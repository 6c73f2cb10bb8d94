"""STAR-Bench end to end through `api.evaluate` (real SQLite journal, real WAV files):
hand-computed AA / ACR with a failed replicate, robust evaluation off, the generated edition
solved from the signal, the spatial answers falling to chance without interaural cues, and the
generator's CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from omnieval import api
from omnieval.benchmarks.starbench.synth import generate_starbench
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


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_starbench(
        tmp_path_factory.mktemp("starbench-synth"), n=3, seed=8, room="pyroomacoustics"
    )


def test_generated_edition_is_solved_from_the_signal(edition: Path, tmp_path: Path) -> None:
    models = ["starbench-solver", "oracle", "constant", "random"]
    outcome = _run(tmp_path, edition, "starbench_all+pc", models)
    results = outcome.results
    tasks = sorted({g.task for g in results.groups})
    # pc (6 sub-categories), pc_sp (azimuth, elevation, distance), pc_nsp (pitch, loudness,
    # duration) + tr, tr_cap, tr_uncut, sr, sr_ch
    assert len(tasks) == 17
    for task in tasks:
        solver = results.find("starbench-solver", "default", task)
        assert solver.failed == 0 and solver.extraction_failed == 0
        aa, acr = solver.metrics["AA"].value, solver.metrics["ACR"].value
        assert aa >= 0.9 and acr <= aa, (task, aa, acr)
        oracle = results.find("oracle", "default", task)
        assert oracle.metrics["AA"].value == 1 and oracle.metrics["ACR"].value == 1, task
        constant = results.find("constant", "default", task)
        assert constant.metrics["ACR"].value == 0 and constant.metrics["AA"].value < 1, task
        assert results.find("random", "default", task).failed == 0
    # 3-option rotations: "A" is right in exactly one run of each item
    pitch = results.find("constant", "default", "starbench/pc/pitch")
    assert pitch.metrics["AA"].value == pytest.approx(1 / 3)
    assert results.node("oracle", "default", "starbench:final-MA").value.value == 1


def test_spatial_answers_fall_to_chance_without_interaural_cues(
    edition: Path, tmp_path: Path
) -> None:
    mono = {"alias": "mono", "provider": "starbench-solver", "init_args": {"downmix": True}}
    outcome = _run(tmp_path, edition, "pc_sp+sr+sr_ch+pc_nsp", [mono])
    results = outcome.results

    def share(meta: str, answers: set[str], sub: str | None = None) -> float:
        items = json.loads((edition / "meta_info" / meta).read_text())
        items = [i for i in items if sub is None or i["sub-category"] == sub]
        return sum(i["answer"] in answers for i in items) / len(items)

    # without left/right differences the solver always says "front" / "in front" / "in the same
    # direction": it is right exactly on the items whose answer that is (every run of them),
    # whatever the rotation
    pc_sp = "foundation_perception_spatial.json"
    azimuth = results.find("mono", "default", "starbench/pc_sp/azimuth").metrics["AA"].value
    assert azimuth == pytest.approx(share(pc_sp, {"front"}, "azimuth"))
    # sr (3 runs per item whatever the sub-category): motion and relation are interaural
    same = {"it stays in front", "in the same direction as the low tone"}
    sr_meta = "holistic_reasoning_spatial.json"
    for task in ("starbench/sr", "starbench/sr_ch"):
        for sub in ("motion", "relation"):
            group = results.find("mono", "default", task, group=f"spatial/{sub}")
            assert group.metrics["AA"].value == pytest.approx(share(sr_meta, same, sub))
            assert group.metrics["AA"].value < 0.9
        # three tones: with no interaural difference the ranking stays low, middle, high
        three = results.find("mono", "default", task, group="spatial/relation3")
        assert three.metrics["AA"].value == pytest.approx(_mono_relation3_share(edition))
        assert three.metrics["AA"].value < 0.9
        # an approaching or receding source changes level: a monaural cue, still heard
        trajectory = results.find("mono", "default", task, group="spatial/trajectory")
        assert trajectory.metrics["AA"].value >= 0.9
    assert azimuth < 0.9
    # elevation (a spectral notch) and distance (direct-to-reverberant ratio) are monaural
    # cues, as in hearing: they survive the downmix, and so do the mono perception families
    for sub in ("pc_sp/elevation", "pc_sp/distance", "pc_nsp/pitch"):
        assert results.find("mono", "default", f"starbench/{sub}").metrics["AA"].value >= 0.9


def _mono_relation3_share(edition: Path) -> float:
    """The share of three-tone items a listener without interaural cues gets right: it ranks
    the tones low, middle, high (left to right), so it is right when that is the answer."""
    items = json.loads((edition / "meta_info/holistic_reasoning_spatial.json").read_text())
    items = [i for i in items if i["sub-category"] == "relation3"]
    guess = {"leftmost": "the low tone", "rightmost": "the high tone", "middle": "the middle tone"}
    right = 0
    for item in items:
        word = next(w for w in guess if w in item["question"].split("one. ")[1])
        right += item["answer"] == guess[word]
    return right / len(items)


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 items per family, the distance family simulated by pyroomacoustics."""
    return generate_starbench(
        tmp_path_factory.mktemp("starbench-room"), n=12, seed=11, room="pyroomacoustics"
    )


def test_simulated_room_distance_and_three_tones_are_solved(larger: Path, tmp_path: Path) -> None:
    assert json.loads((larger / "edition.json").read_text())["room"] == "pyroomacoustics"
    mono = {"alias": "mono", "provider": "starbench-solver", "init_args": {"downmix": True}}
    outcome = _run(tmp_path, larger, "pc_sp+sr", ["starbench-solver", mono])
    results = outcome.results
    distance = results.find("starbench-solver", "default", "starbench/pc_sp/distance")
    assert distance.trials == 36 and distance.failed == 0
    assert distance.metrics["AA"].value >= 0.9, distance.metrics["AA"].value
    # the DRR is a monaural cue: a mono listener keeps it, in the simulated room too
    mono_distance = results.find("mono", "default", "starbench/pc_sp/distance")
    assert mono_distance.metrics["AA"].value >= 0.9
    three = results.find("starbench-solver", "default", "starbench/sr", group="spatial/relation3")
    assert three.trials == 36 and three.metrics["AA"].value >= 0.9, three.metrics["AA"].value
    items = json.loads((larger / "meta_info/holistic_reasoning_spatial.json").read_text())
    asked = {i["question"].rsplit(" ", 2)[-1] for i in items if i["sub-category"] == "relation3"}
    assert asked == {"leftmost?", "middle?", "rightmost?"}  # all three questions are generated
    assert len({i["answer"] for i in items if i["sub-category"] == "relation3"}) == 3
    chance = results.find("mono", "default", "starbench/sr", group="spatial/relation3")
    assert chance.metrics["AA"].value == pytest.approx(_mono_relation3_share(larger))
    assert chance.metrics["AA"].value < 0.9


def test_simulated_room_is_deterministic_by_seed(larger: Path, tmp_path: Path) -> None:
    again = generate_starbench(tmp_path / "again", n=12, seed=11, room="pyroomacoustics")
    assert _digest(again) == _digest(larger)
    synthetic = generate_starbench(tmp_path / "synthetic", n=12, seed=11, room="synthetic")
    assert json.loads((synthetic / "edition.json").read_text())["room"] == "synthetic"
    rel = "starbench_audios/foundation_perception/distance/synth_pc_distance_0.wav"
    assert (synthetic / rel).read_bytes() != (larger / rel).read_bytes()


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
