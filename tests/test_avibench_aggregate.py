"""AVI-Bench aggregation: the published stage scores give the published Overall and L1,
double-confirm gating through the core gates, a whole run with the oracle, and the leaderboard
export checked by the schema-v2 rules."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from omnieval import api
from omnieval.benchmarks.avibench import taxonomy
from omnieval.benchmarks.avibench.benchmark import L1, OVERALL, AviBenchmark, stage_node
from omnieval.benchmarks.avibench.export import EntryError, leaderboard_entry, validate_entry
from omnieval.benchmarks.avibench.export import main as export_main
from omnieval.benchmarks.avibench.task import AviTask
from omnieval.scoring.tree import Formula, Node
from omnieval.types import TrialContext, TrialRecord

from .avibench_fixture import write_edition
from .avibench_scoring import aggregate_records, score_task

# (P, U, R, S) -> (Overall, L1) as published: docs/leaderboard/data/results.json (schema v2)
# and the README's headline table at 2ba4eb0b (Overall only; its Gemini-2.5-Pro row predates
# the paper's final numbers)
PUBLISHED = {
    "Gemini-2.5-Pro": ((54.58, 68.97, 69.06, 36.22), 57.21, 64.20),
    "Qwen2.5-Omni": ((42.81, 39.68, 58.26, 24.59), 41.33, 46.92),
    "GPT-4o": ((40.45, 48.60, 56.87, 16.81), 40.68, 48.64),
    "Gemini-2.5-Flash": ((45.97, 43.79, 63.70, 30.63), 46.02, 51.15),
    "Gemini-2.0-Flash": ((44.27, 42.11, 64.03, 29.48), 44.97, 50.14),
    "Gemini-2.5-Pro (README)": ((59.14, 49.12, 61.28, 31.61), 50.28, None),
}


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_edition(tmp_path_factory.mktemp("avi-agg") / "edition")


def test_published_stage_scores_reproduce_overall_and_l1(edition: Path) -> None:
    tree = {n.name: n for n in AviBenchmark(edition).tree()}
    overall_node, l1_formula = tree[OVERALL], tree[L1]
    assert isinstance(overall_node, Node) and overall_node.mode == "macro"
    assert overall_node.children == tuple(stage_node(s) for s in taxonomy.STAGE_TASKS)
    assert isinstance(l1_formula, Formula)
    for (p, u, r, s), overall, l1 in PUBLISHED.values():
        stages = {"perception": p, "understanding": u, "reasoning": r, "sensation": s}
        assert abs(taxonomy.overall(stages) - overall) <= 0.01
        computed = l1_formula.compute({stage_node(k): v for k, v in stages.items()})
        if l1 is not None:
            assert abs(computed - l1) <= 0.01
    levels = {
        lv.key: lv
        for lv in taxonomy.taxonomy({"perception": 1, "understanding": 1, "reasoning": 1}, {})
    }
    assert levels["l3_stage"].value is None and "chance level" in levels["l3_stage"].reason
    assert levels["l4_domain"].status == "unavailable" and levels["l2_modality"].value is None


def test_l2_is_provisional_with_its_constants_in_one_place() -> None:
    tasks = {t: 0.6 for t in taxonomy.AUDIO_DOMINANT} | {t: 0.2 for t in taxonomy.VISUAL_DOMINANT}
    stages = {"perception": 0.5, "understanding": 0.5, "reasoning": 0.5}
    levels = {lv.key: lv for lv in taxonomy.taxonomy(stages, tasks)}
    # dm = |0.6 - 0.2| / 0.4 = 1, so L2 = 0.5 * (1 - 0.5 * 1) = 0.25
    assert levels["l2_modality"].value == pytest.approx(0.25)
    assert levels["l2_modality"].status == "provisional" and taxonomy.L2_ALPHA == 0.5


def _records(bench: AviBenchmark, answers: dict[str, dict[str, str]]) -> list[TrialRecord]:
    """Every sample answered from `answers` (task -> sample id -> text), else its reference."""

    def answer(task: AviTask, ctx: TrialContext) -> str:
        return answers.get(task.name, {}).get(ctx.sample.id, task.reference_answer(ctx))

    return [record for task in bench._tasks for record in score_task(task, answer)]


def _aggregate(bench: AviBenchmark, records: list[TrialRecord]) -> Any:
    return aggregate_records(bench, records)


@pytest.mark.parametrize("mode", ["default", "parity"])
def test_a_wrong_pre_question_zeroes_its_formal_question(edition: Path, mode: str) -> None:
    bench = AviBenchmark(edition, tasks=["ASQA", "VSQA", "AVSQA"], mode=mode)  # type: ignore[arg-type]
    answers = {
        "avibench/ASQA/pre": {"00001": "no"},  # the pre of formal 00000 is wrong
        "avibench/AVSQA/pre": {"00003": "I cannot tell"},  # the pre of formal 00002
    }
    result = _aggregate(bench, _records(bench, answers))
    groups = {g.task: g for g in result.groups if g.group == "overall"}
    asqa = groups["avibench/ASQA"]
    assert asqa.metrics["accuracy"].value == 0.5 and asqa.gated == 1
    assert groups["avibench/AVSQA"].metrics["accuracy"].value == 0.5
    # VSQA_I's second formal question has only an empty pre slot: kept, counted as missing
    vsqa_i = groups["avibench/VSQA_I"]
    assert vsqa_i.metrics["accuracy"].value == 1.0 and vsqa_i.gate_missing == 1
    nodes = {n.node: n for n in result.nodes}
    sensation = nodes[stage_node("sensation")]
    assert set(sensation.children) == {"avibench/ASQA", "avibench/VSQA", "avibench/AVSQA"}
    assert sensation.value.value == pytest.approx((0.5 + 1.0 + 0.5) / 3)  # pre tasks never count
    assert nodes["avibench/VSQA"].mode == "micro"  # VSQA_I and VSQA_V pooled, as upstream


def test_oracle_run_reaches_the_maximum_and_exports_a_valid_entry(
    edition: Path, tmp_path: Path
) -> None:
    outcome = api.evaluate(
        {
            "name": "avi-oracle",
            "output": str(tmp_path / "runs"),
            "progress": False,
            "benchmarks": [{"name": "avibench", "args": {"data_dir": str(edition)}}],
            "models": ["oracle"],
        }
    )
    results = outcome.results
    for group in results.overall():
        headline = results.tasks[group.task].headline
        value = group.metrics[headline].value
        if group.task == "avibench/AVC":  # several different references: below 1 by design
            assert 0.8 < value < 1.0
        else:
            assert value == pytest.approx(1.0, abs=1e-4), group.task
    written = json.loads((outcome.run_dir / "results.json").read_text(encoding="utf-8"))
    entry = leaderboard_entry(
        written,
        "oracle",
        model_name="Oracle",
        provider="omnieval",
        release_date="2026-01-01",
        release_url="https://example.org/oracle",
    )
    assert entry["coverage"]["status"] == "partial" and entry["coverage"]["tasks_completed"] == 14
    assert entry["scores"]["stages"]["perception"] == 100.0
    assert entry["scores"]["taxonomy"]["l3_stage"] is None
    assert "l3_stage" in entry["notes"] and entry["scores"]["tasks"]["VSQA"] == 100.0
    target = tmp_path / "entry.json"
    code = export_main(
        [str(outcome.run_dir), "--model", "oracle", "--model-name", "Oracle", "--provider", "o",
         "--release-date", "2026-01-01", "--release-url", "https://example.org/o",
         "--out", str(target)]
    )  # fmt: skip
    assert code == 0 and json.loads(target.read_text())["scores"]["tasks"]["AVLG"] == 100.0
    plain_http = [
        *(str(outcome.run_dir), "--model", "oracle", "--model-name", "O", "--provider", "o"),
        *("--release-date", "2026-01-01", "--release-url", "http://example.org/o"),
    ]
    assert export_main(plain_http) == 2  # validation refuses a non-https release URL
    for broken, message in (
        ({"scores": {**entry["scores"], "overall": 101.0}}, "between 0 and 100"),
        ({"id": "x"}, "slug"),
        ({"model_release_date": "2026-02-30"}, "real date"),
        ({"source": {"type": "blog", "url": "https://x.org"}}, "source.type"),
        ({"coverage": {**entry["coverage"], "status": "full"}}, "full but"),
        ({"extra": 1}, "unsupported fields"),
    ):
        bad = copy.deepcopy(entry) | broken
        with pytest.raises(EntryError, match=message):
            validate_entry(bad)
