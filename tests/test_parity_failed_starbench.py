"""STAR-Bench parity for failed model calls: with `scoring: starbench` a run reports upstream's
totals, where a call that raised is a wrong run (upstream's runner answers "ERROR: ..." for it
and keeps the row), beside the default totals, which leave failed trials out.

Runs through `api.evaluate` on the hand-written release of `tests/starbench_fixture.py` (real
WAV files, real journal) with the scripted model, whose `FAIL` answers raise. Each upstream
value is computed here by hand from the journaled runs with upstream's formulas (right runs /
all runs; items with every run right / all items; percent rounded to two decimals; perception:
the mean of the rounded sub-category values)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from omnieval import api
from omnieval.benchmarks.starbench.summary import upstream_node
from omnieval.benchmarks.starbench.task import StarBenchmark
from omnieval.types import Outcome, TrialRecord
from tests.starbench_fixture import Scripted, write_release

assert Scripted.name == "test-starbench-script"  # registered on import

RULES = [
    # P1 (pitch, answer p1high): r0 right, r1 right, r2 fails
    ["<A>: p1low", "C"],
    ["<A>: p1high", "A"],
    ["<A>: p1mid", "FAIL"],
    # P2 (pitch): both runs fail (its audio is only P2's)
    ["P2.wav", "FAIL"],
    # P3 (loudness): always D, right only in r2
    ["<A>: p3", "D"],
    # S1 (sr): r0 and r1 right, r2 wrong
    ["<A>: s1a", "A"],
    ["<A>: s1d", "B"],
    ["<A>: s1c", "A"],
]
SCRIPT = {"alias": "script", "provider": "test-starbench-script", "init_args": {"rules": RULES}}
AA = upstream_node("starbench/pc:total", "AA")


def _run(tmp: Path, root: Path, scoring: str, **bench: Any) -> api.RunOutcome:
    args = {"data_dir": str(root), "data": "pc+sr", "scoring": scoring}
    return api.evaluate(
        {
            "name": f"starbench-{scoring}",
            "output": str(tmp / "runs"),
            "benchmarks": [{"name": "starbench", "args": args, **bench}],
            "models": [SCRIPT],
            "progress": False,
        }
    )


def _task_records(outcome: api.RunOutcome, task: str) -> list[TrialRecord]:
    return [r for r in outcome.records if r.trial.task == task]


def _hand_total(records: list[TrialRecord]) -> tuple[float, float, int]:
    """Upstream's `_calculate_metrics` by hand: a run is right only when it was scored 1."""
    right = {
        id(r): r.outcome is Outcome.SCORED and r.score is not None and r.score.values["accuracy"]
        for r in records
    }
    items: dict[str, list[bool]] = {}
    for r in records:
        items.setdefault(r.trial.sample_id, []).append(bool(right[id(r)]))
    aa = round(100 * sum(bool(v) for v in right.values()) / len(records), 2)
    acr = round(100 * sum(all(v) for v in items.values()) / len(items), 2)
    return aa, acr, len(items)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_release(tmp_path_factory.mktemp("starbench-failed") / "release")


@pytest.fixture(scope="module")
def parity(release: Path, tmp_path_factory: pytest.TempPathFactory) -> api.RunOutcome:
    return _run(tmp_path_factory.mktemp("parity"), release, "starbench")


def test_upstream_totals_count_failed_runs_and_items(parity: api.RunOutcome) -> None:
    results = parity.results
    pitch = _task_records(parity, "starbench/pc/pitch")
    loud = _task_records(parity, "starbench/pc/loudness")
    sr = _task_records(parity, "starbench/sr")
    # the script did fail: one run of P1 and both runs of P2
    failed = sorted(
        (r.trial.sample_id, r.trial.replicate) for r in pitch if r.outcome is Outcome.FAILED
    )
    assert failed == [("P1", "rotation2"), ("P2", "rotation0"), ("P2", "rotation1")]
    hand = {name: _hand_total(rs) for name, rs in (("pitch", pitch), ("loud", loud), ("sr", sr))}
    assert hand["pitch"] == (40.0, 0.0, 2)  # 2 right of 5 runs; P1 and P2 not all right
    assert hand["loud"] == (25.0, 0.0, 1)
    assert hand["sr"] == (66.67, 0.0, 1)
    pc_aa = round((hand["pitch"][0] + hand["loud"][0]) / 2, 2)
    pc_acr = round((hand["pitch"][1] + hand["loud"][1]) / 2, 2)

    def node(base: str, metric: str) -> Any:
        found = results.node("script", "default", upstream_node(base, metric))
        assert found.mode == "joint" and found.metric == f"upstream {metric}"
        return found.value

    assert (node("starbench/pc:total", "AA").value, node("starbench/pc:total", "AA").n) == (
        pc_aa,
        3,
    )
    assert node("starbench/pc:total", "ACR").value == pc_acr
    assert (node("starbench/sr", "AA").value, node("starbench/sr", "AA").n) == (66.67, 1)
    assert node("starbench/sr", "ACR").value == 0.0
    final_aa = node("starbench:final-MA", "AA")
    assert final_aa.value == pytest.approx((pc_aa + 66.67) / 2) and final_aa.n == 4
    assert node("starbench:final-MA", "ACR").value == 0.0


def test_default_totals_still_leave_failed_trials_out(parity: api.RunOutcome) -> None:
    """The parity nodes are added; the usual ones keep omnieval's rule: P2 (every run failed)
    is left out of pitch, P1's failed run counts 0 for P1."""
    results = parity.results
    pitch = results.find("script", "default", "starbench/pc/pitch")
    assert pitch.metrics["AA"].value == pytest.approx(2 / 3)
    assert pitch.metrics["ACR"].value == 0.0 and pitch.items == 1
    total = results.node("script", "default", "starbench/pc:total")
    assert total.value.value == pytest.approx((2 / 3 + 1 / 4) / 2)
    final = results.node("script", "default", "starbench:final-MA")
    assert final.value.value == pytest.approx(((2 / 3 + 1 / 4) / 2 + 2 / 3) / 2)


def test_parity_summary_prints_upstream_numbers(parity: api.RunOutcome) -> None:
    summary = list(
        csv.DictReader(io.StringIO((parity.run_dir / "starbench_summary.csv").read_text()))
    )
    assert [(r["Dataset"], r["AA"], r["ACR"], r["Samples"]) for r in summary] == [
        ("pc", "32.5", "0.0", "3"),  # (40 + 25) / 2; P2 is a sample, as upstream counts it
        ("sr", "66.67", "0.0", "1"),
        ("Final MA", str((32.5 + 66.67) / 2), "0.0", "4"),
    ]


def test_default_scoring_has_no_upstream_nodes(release: Path, tmp_path: Path) -> None:
    outcome = _run(tmp_path, release, "default")
    assert not [n for n in outcome.results.nodes if n.mode == "joint"]
    summary = (outcome.run_dir / "starbench_summary.csv").read_text()
    # omnieval's totals: pitch AA 2/3 -> 66.67 (P2 left out), loudness 25 -> 45.84 (upstream's
    # rounding of 45.835); 2 samples of pc
    assert "pc,45.84,0.0,2" in summary
    assert StarBenchmark(data_dir=str(release), data="sr").joint_metrics() == []


def test_robust_evaluation_off_counts_a_failed_call_wrong(release: Path, tmp_path: Path) -> None:
    """One run per item: P2's call fails. Upstream: pitch 1 right of 2 runs (50 %, ACR = AA);
    here the failed trial is left out (accuracy 1 over P1 alone)."""
    outcome = _run(tmp_path, release, "starbench", replicates={"scheme": "none"})
    results = outcome.results
    pitch = _task_records(outcome, "starbench/pc/pitch")
    assert [r.outcome for r in pitch if r.trial.sample_id == "P2"] == [Outcome.FAILED]
    assert _hand_total(pitch) == (50.0, 50.0, 2)
    assert results.find("script", "default", "starbench/pc/pitch").metrics["accuracy"].value == 1.0
    pc = results.node("script", "default", AA).value
    loud = _hand_total(_task_records(outcome, "starbench/pc/loudness"))
    assert loud == (0.0, 0.0, 1)  # r0 shows P3's answer as B; the script says D
    assert (pc.value, pc.n) == (round((50.0 + 0.0) / 2, 2), 3)
    acr = results.node("script", "default", upstream_node("starbench/pc:total", "ACR"))
    assert acr.value.value == pc.value
