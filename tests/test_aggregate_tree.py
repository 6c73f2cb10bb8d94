"""Item reducers, gates, corpus metrics and the aggregation tree, on hand-made records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from omnieval.scoring.aggregate import BenchmarkAggregation, TaskAggregation, aggregate
from omnieval.scoring.tree import CorpusMetric, Formula, Gate, Node, TreeError, check_tree
from omnieval.types import (
    ChoiceTarget,
    Extraction,
    MetricKind,
    MetricSpec,
    Response,
    Sample,
    Score,
    Trial,
    TrialRecord,
    TrialStatus,
)


def record(
    task: str,
    sample: str,
    value: float | None,
    replicate: str = "",
    model: str = "m",
    condition: str = "c",
    status: TrialStatus = TrialStatus.OK,
    groups: tuple[str, ...] = (),
) -> TrialRecord:
    trial = Trial(
        key=f"{model}/{condition}/{task}/{sample}/{replicate}",
        model=model,
        task=task,
        sample_id=sample,
        condition=condition,
        replicate=replicate,
    )
    if status is not TrialStatus.OK:
        return TrialRecord(trial=trial, response=Response(status=status, error="x"))
    score = Score(values={"accuracy": value}) if value is not None else None
    return TrialRecord(
        trial=trial,
        response=Response(text="A"),
        extraction=Extraction(value="A", rule="t"),
        score=score,
        groups=groups,
    )


def sample(task: str, sid: str, **metadata: str) -> Sample:
    return Sample(
        id=sid,
        task=task,
        parts=(),
        target=ChoiceTarget(answer="A", options=("a", "b")),
        metadata=dict(metadata),
    )


def test_four_replicates_one_failed_gives_aa_three_quarters_and_acr_zero() -> None:
    records = [record("t", "s1", 1.0, f"rotation{i}") for i in range(3)]
    records.append(record("t", "s1", None, "rotation3", status=TrialStatus.FAILED))
    result = aggregate(records, tasks=[TaskAggregation("t")]).groups[0]
    assert result.metrics["AA"].value == pytest.approx(0.75)
    assert result.metrics["ACR"].value == 0.0
    assert result.failed == 1 and result.items == 1


def test_an_item_whose_every_replicate_failed_is_left_out_and_counted() -> None:
    records = [record("t", "s1", 1.0, f"rotation{i}") for i in range(2)]
    records += [
        record("t", "s2", None, f"rotation{i}", status=TrialStatus.FAILED) for i in range(2)
    ]
    result = aggregate(records, tasks=[TaskAggregation("t")]).groups[0]
    assert result.items == 1 and result.failed == 2
    assert result.metrics["AA"].value == 1.0 and result.metrics["AA"].n == 1


def test_without_replicates_failed_trials_leave_the_denominator_scoring_errors_stay() -> None:
    records = [
        record("t", "a", 1.0),
        record("t", "b", None, status=TrialStatus.FAILED),
        record("t", "c", None),  # answered, but no score: a scoring error, counted as 0
        record("t", "d", None, status=TrialStatus.UNSUPPORTED),
    ]
    result = aggregate(records, tasks=[TaskAggregation("t")]).groups[0]
    assert result.metrics["accuracy"].value == 0.5 and result.metrics["accuracy"].n == 2
    assert (result.failed, result.scoring_errors, result.unsupported) == (1, 1, 1)
    assert result.metrics["accuracy"].method == "wilson"


def test_gate_zeroes_or_voids_the_gated_item_and_counts_it() -> None:
    samples = {
        "pre": {f"p{i}": sample("pre", f"p{i}") for i in range(3)},
        "formal": {f"f{i}": sample("formal", f"f{i}", gate=f"p{i}") for i in range(4)},
    }
    records = [record("pre", "p0", 1.0), record("pre", "p1", 0.0), record("pre", "p2", 1.0)]
    records += [record("formal", f"f{i}", 1.0) for i in range(4)]  # f3 has no gate item

    def run(effect: str) -> dict[str, object]:
        gate = Gate("pre", "formal", lambda s: s.metadata.get("gate"), effect)  # type: ignore[arg-type]
        bench = BenchmarkAggregation("b", ["pre", "formal"], gates=[gate])
        tasks = [TaskAggregation("pre"), TaskAggregation("formal")]
        groups = aggregate(records, tasks=tasks, benchmarks=[bench], samples=samples).groups
        formal = next(g for g in groups if g.task == "formal")
        return {
            "value": formal.metrics["accuracy"].value,
            "n": formal.metrics["accuracy"].n,
            "counts": (formal.gated, formal.voided, formal.gate_missing),
        }

    assert run("zero") == {"value": 0.75, "n": 4, "counts": (1, 0, 1)}
    assert run("void") == {"value": 1.0, "n": 3, "counts": (0, 1, 1)}


def test_macro_and_micro_nodes_and_a_formula() -> None:
    records = [record("t1", f"a{i}", 1.0 if i < 3 else 0.0) for i in range(4)]  # 0.75
    records += [record("t2", f"b{i}", 1.0 if i < 1 else 0.0) for i in range(8)]  # 0.125
    tree: list[Node | Formula] = [
        Node("macro", ("t1", "t2"), "macro", level="stage"),
        Node("micro", ("macro",), "micro", level="overall"),
        Formula("gap", ("t1", "t2"), lambda v: v["t1"] - v["t2"]),
    ]
    bench = BenchmarkAggregation("b", ["t1", "t2"], tree=tree)
    nodes = aggregate(
        records, tasks=[TaskAggregation("t1"), TaskAggregation("t2")], benchmarks=[bench]
    ).nodes
    by_name = {n.node: n for n in nodes}
    macro = by_name["macro"]
    assert macro.value.value == pytest.approx((0.75 + 0.125) / 2)
    assert macro.children == {"t1": 0.5, "t2": 0.5} and macro.value.method == "macro-normal"
    se1, se2 = (0.75 * 0.25 / 3) ** 0.5 / 2**0, (0.125 * 0.875 * 8 / 7 / 8) ** 0.5
    # the macro interval is built from the children's own standard errors
    assert macro.value.stderr == pytest.approx(
        ((0.5 * se1) ** 2 + (0.5 * se2) ** 2) ** 0.5, rel=0.2
    )
    micro = by_name["micro"]
    assert micro.value.value == pytest.approx(4 / 12)
    assert micro.children == {"macro": 1.0} and micro.value.n == 12
    assert by_name["gap"].value.value == pytest.approx(0.625)


def test_a_missing_child_marks_the_node_partial_and_a_wrong_metric_fails() -> None:
    records = [record("t1", "a", 1.0)]
    bench = BenchmarkAggregation("b", ["t1", "t2"], tree=[Node("n", ("t1", "t2"))])
    nodes = aggregate(
        records, tasks=[TaskAggregation("t1"), TaskAggregation("t2")], benchmarks=[bench]
    ).nodes
    assert nodes[0].missing == ("t2",) and nodes[0].partial
    wrong = BenchmarkAggregation("b", ["t1"], tree=[Node("n", ("t1",), metric="mIoU")])
    with pytest.raises(TreeError, match="mIoU"):
        aggregate(records, tasks=[TaskAggregation("t1")], benchmarks=[wrong])


def test_a_node_named_metric_picks_that_output_from_each_child() -> None:
    # two replicated tasks reduced to AA (trial mean, headline) and ACR (all runs right)
    runs = {
        "t1": {"a": (1.0, 1.0), "b": (1.0, 0.0)},  # AA 3/4, ACR 1/2
        "t2": {"c": (0.0, 1.0), "d": (0.0, 0.0), "e": (1.0, 1.0)},  # AA 3/6, ACR 1/3
    }
    records = [
        record(task, sid, v, replicate=f"r{i}")
        for task, items in runs.items()
        for sid, values in items.items()
        for i, v in enumerate(values)
    ]
    reductions = {"AA": "trial_mean", "ACR": "all"}
    specs = [TaskAggregation(t, reducers=reductions) for t in runs]
    tree: list[Node | Formula] = [
        Node("aa", ("t1", "t2")),
        Node("acr", ("t1", "t2"), metric="ACR"),
        Formula("gap", ("t1", "t2"), lambda v: v["t1"] - v["t2"], metric="ACR"),
        Node("acr-of-acr", ("acr",), metric="ACR"),  # a node child reports its own metric
        Node("absent", ("t1",), metric="mIoU", if_absent="skip"),
    ]
    check_tree(tree, list(runs))  # t1 under "aa" and "acr": different metrics, not shared
    nodes = {
        n.node: n
        for n in aggregate(
            records, tasks=specs, benchmarks=[BenchmarkAggregation("b", list(runs), tree=tree)]
        ).nodes
    }
    assert nodes["aa"].metric == "AA"
    assert nodes["aa"].value.value == pytest.approx((3 / 4 + 3 / 6) / 2)
    assert nodes["acr"].metric == "ACR"
    assert nodes["acr"].value.value == pytest.approx((1 / 2 + 1 / 3) / 2)
    micro = [Node("acr-micro", ("t1", "t2"), mode="micro", metric="ACR")]
    pooled = aggregate(
        records, tasks=specs, benchmarks=[BenchmarkAggregation("b", list(runs), tree=micro)]
    ).nodes
    assert pooled[0].metric == "ACR"
    assert pooled[0].value.value == pytest.approx(2 / 5)  # 2 of 5 items have every run right
    assert nodes["gap"].value.value == pytest.approx(1 / 2 - 1 / 3)
    assert nodes["acr-of-acr"].value.value == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert "absent" not in nodes  # no child has mIoU: skipped, not an error
    with pytest.raises(TreeError, match="count twice"):
        check_tree([Node("x", ("t1",), metric="ACR"), Node("y", ("t1",), metric="ACR")], ["t1"])
    strict = [Node("n", ("aa",), metric="ACR")]  # "aa" reports AA only
    with pytest.raises(TreeError, match=r"aggregates 'ACR', but \['aa'\] report \['AA'\]"):
        aggregate(
            records,
            tasks=specs,
            benchmarks=[BenchmarkAggregation("b", list(runs), tree=[tree[0], *strict])],
        )


def test_a_shared_leaf_and_an_unknown_child_are_refused() -> None:
    with pytest.raises(TreeError, match="count twice"):
        check_tree([Node("x", ("t1",)), Node("y", ("t1",))], ["t1"])
    with pytest.raises(TreeError, match="unknown child"):
        check_tree([Node("x", ("t9",))], ["t1"])


def test_a_corpus_metric_sees_the_whole_group_and_gets_a_bootstrap_interval() -> None:
    def share_of_a(records: Sequence[TrialRecord]) -> float:
        return sum(1 for r in records if r.response.text == "A") / len(records)

    corpus = CorpusMetric(MetricSpec(name="share", kind=MetricKind.CONTINUOUS), share_of_a)
    records = [record("t", f"s{i}", 1.0) for i in range(10)]
    spec = TaskAggregation("t", corpus_metrics=(corpus,))
    first = aggregate(records, tasks=[spec], seed=3).groups[0].metrics["share"]
    again = aggregate(records, tasks=[spec], seed=3).groups[0].metrics["share"]
    assert first.value == 1.0 and first.method == "bootstrap" and first.n == 10
    assert first == again  # seeded


def test_categories_sort_numbers_by_value() -> None:
    groups = ("who/offset-40ms", "who/offset+120ms", "who/offset-200ms", "who/offset+40ms")
    records = [record("t", f"s{i}", 1.0, groups=(g,)) for i, g in enumerate(groups)]
    found = [g.group for g in aggregate(records, tasks=[TaskAggregation("t")]).groups]
    assert found == [
        "overall",
        "who/offset-200ms",
        "who/offset-40ms",
        "who/offset+40ms",
        "who/offset+120ms",
    ]


def test_a_plugin_reducer_is_used_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    from omnieval import api, registry
    from omnieval.config import ConfigError
    from omnieval.scoring.reducers import Reducer
    from tests.conftest import write_mcq

    if "at-least-half" not in registry.reducers:
        registry.reducers.register("at-least-half")(
            Reducer("at-least-half", lambda v, o: float(sum(v) * 2 >= len(v)), binary=True)
        )
    mcq = write_mcq(tmp_path / "q.jsonl", 4, n_options=2)
    config = {
        "name": "custom",
        "output": str(tmp_path / "runs"),
        "benchmarks": [
            {
                "name": "mcq",
                "args": {"path": str(mcq)},
                "replicates": {"scheme": "rotation", "reducers": {"HALF": "at-least-half"}},
            }
        ],
        "models": ["constant"],
        "progress": False,
    }
    result = api.evaluate(config).results.find("constant", "default")
    assert result.metrics["HALF"].value == 1.0  # constant is right on one of two rotations
    assert result.metrics["HALF"].method == "wilson"
    config["benchmarks"][0]["replicates"]["reducers"] = {"X": "no-such-reducer"}
    config["name"] = "unknown"
    with pytest.raises(ConfigError, match=r"no-such-reducer.*known: .*item_mean"):
        api.evaluate(config)


def test_intervals_stay_inside_the_metric_range() -> None:
    # two items: AA 0.0 and 0.5 -> a t interval over item means reaches below 0 unclipped
    records = [record("t", "a", 0.0, f"rotation{i}") for i in range(2)]
    records += [record("t", "b", 1.0, "rotation0"), record("t", "b", 0.0, "rotation1")]
    aa = aggregate(records, tasks=[TaskAggregation("t")]).groups[0].metrics["AA"]
    assert aa.value == 0.25 and aa.ci_low == 0.0 and aa.ci_high is not None
    assert aa.ci_high <= 1.0
