"""Spatial parity for failed model calls: in parity mode (`qa_scoring: first-token`, `jf: band`)
a run reports dyn-bench's category means, where a call that raised counts 0 (its `eval.py`
appends 0.0 for it, and for every mask item of a model without mask support), beside the
default metrics, which leave failed trials out.

A real run through `api.evaluate` on a small generated edition (PNG frames and masks, mask
artifacts, SQLite journal): `test-failing-oracle` fails some QA and mask calls and answers some
wrongly; `random` answers QA only (unsupported on masks). Each upstream value is computed here
by hand from the journaled trials (sum of the scored values / all items x 100)."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnieval import api
from omnieval.benchmarks.spatial.synth import generate_spatial
from omnieval.benchmarks.spatial.task import OVERALL, SpatialBenchmark
from omnieval.benchmarks.spatial.upstream_means import OVERALL_NODE, upstream_node
from omnieval.types import Outcome, TrialRecord

QA_TASKS = ("spatial/cameraqa", "spatial/qa", "spatial/sceneqa")
MASK_TASKS = ("spatial/cameramask", "spatial/objmask", "spatial/scenemask")
PARITY = {"qa_scoring": "first-token", "jf": "band", "missing_frames": "skip"}
FAILING = {"alias": "failing", "provider": "test-failing-oracle"}


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_spatial(tmp_path_factory.mktemp("spatial") / "edition", n=4, seed=3, frames=4)


@pytest.fixture(scope="module")
def run(edition: Path, tmp_path_factory: pytest.TempPathFactory) -> api.RunOutcome:
    return api.evaluate(
        {
            "name": "spatial-failed",
            "output": str(tmp_path_factory.mktemp("runs")),
            "benchmarks": [{"name": "spatial", "args": {"data_dir": str(edition), **PARITY}}],
            "models": [FAILING, "random"],
            "plugins": ["omnieval_testmodels"],
            "progress": False,
        }
    )


def _records(run: api.RunOutcome, model: str, task: str) -> list[TrialRecord]:
    return [r for r in run.records if r.trial.model == model and r.trial.task == task]


def _hand_upstream(records: list[TrialRecord], metric: str) -> float:
    """dyn-bench's category mean: a scored item its value, any other 0, over every item."""
    values = [
        r.score.values[metric] if r.outcome is Outcome.SCORED and r.score else 0.0 for r in records
    ]
    return sum(values) / len(values) * 100


def _node_value(run: api.RunOutcome, model: str, name: str) -> tuple[float, int]:
    node = run.results.node(model, "default", name)
    assert node.mode == "joint"
    return node.value.value, node.value.n


def test_upstream_means_count_failed_calls_as_zero(run: api.RunOutcome) -> None:
    outcomes = {
        kind: [r.outcome for t in tasks for r in _records(run, "failing", t)]
        for kind, tasks in (("qa", QA_TASKS), ("mask", MASK_TASKS))
    }
    # the model did fail calls of both kinds, and answered others
    for kind in ("qa", "mask"):
        assert Outcome.FAILED in outcomes[kind] and Outcome.SCORED in outcomes[kind], kind
    hand: list[float] = []
    for task in QA_TASKS + MASK_TASKS:
        metric = "accuracy" if task in QA_TASKS else "J&F"
        records = _records(run, "failing", task)
        expected = _hand_upstream(records, metric)
        value, n = _node_value(run, "failing", upstream_node(task, metric))
        assert value == pytest.approx(expected) and n == len(records), task
        hand.append(expected)
    value, n = _node_value(run, "failing", OVERALL_NODE)
    assert value == pytest.approx(sum(hand) / len(hand))
    assert n == sum(len(_records(run, "failing", t)) for t in QA_TASKS + MASK_TASKS)


def test_default_metrics_still_leave_failed_trials_out(run: api.RunOutcome) -> None:
    lower = 0
    for task in QA_TASKS + MASK_TASKS:
        metric = "accuracy" if task in QA_TASKS else "J&F"
        records = _records(run, "failing", task)
        scored = [
            r.score.values[metric] for r in records if r.outcome is Outcome.SCORED and r.score
        ]
        group = run.results.find("failing", "default", task)
        assert group.metrics[metric].value == pytest.approx(sum(scored) / len(scored)), task
        assert group.failed == sum(r.outcome is Outcome.FAILED for r in records)
        upstream, _ = _node_value(run, "failing", upstream_node(task, metric))
        lower += upstream < 100 * group.metrics[metric].value - 1e-9
    assert lower  # a failed call pulled some upstream mean below omnieval's


def test_a_model_without_masks_scores_zero_upstream(run: api.RunOutcome) -> None:
    """`random`: unsupported on the mask tasks, which upstream counts 0 (omnieval's Overall is
    over its QA tasks only)."""
    qa: list[float] = []
    for task in QA_TASKS:
        value, _ = _node_value(run, "random", upstream_node(task, "accuracy"))
        assert value == pytest.approx(_hand_upstream(_records(run, "random", task), "accuracy"))
        qa.append(value)
    for task in MASK_TASKS:
        records = _records(run, "random", task)
        assert {r.outcome for r in records} == {Outcome.UNSUPPORTED}
        assert _node_value(run, "random", upstream_node(task, "J&F")) == (0.0, len(records))
    overall, _ = _node_value(run, "random", OVERALL_NODE)
    assert overall == pytest.approx(sum(qa) / 6)
    ours = run.results.node("random", "default", OVERALL)
    assert ours.value.value == pytest.approx(sum(qa) / 3 / 100)


def test_upstream_nodes_only_in_parity_mode(edition: Path) -> None:
    assert SpatialBenchmark(data_dir=str(edition)).joint_metrics() == []
    qa_only = SpatialBenchmark(data_dir=str(edition), qa_scoring="first-token").joint_metrics()
    assert [m.name for m in qa_only] == [upstream_node(t, "accuracy") for t in QA_TASKS]
    both = SpatialBenchmark(data_dir=str(edition), **PARITY).joint_metrics()  # type: ignore[arg-type]
    assert both[-1].name == OVERALL_NODE and len(both) == 7
