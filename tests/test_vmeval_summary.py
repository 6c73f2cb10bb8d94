"""Upstream's summaries of judge scores (`GPT4OEvaluator_summary.json` statistics and the
analysis script's success rates), pooled from per-domain tallies, against hand-computed values."""

from __future__ import annotations

import pytest

from omnieval.benchmarks.vmeval.summary import (
    TALLY_METRICS,
    DomainTally,
    ScoreTally,
    model_statistics,
    summary_json,
    summary_markdown,
    tally_metric,
    task_statistics,
)

MAZE = [5, 4, 1, 3, 5]
SUDOKU = [2, 2, 0, 5]


def test_task_statistics_hand_computed() -> None:
    # maze: mean 18/5; sorted 1 3 4 5 5 -> median 4; squared deviations 11.2 / 4 = 2.8
    stats = task_statistics(ScoreTally.of(MAZE))
    assert stats == {
        "total_samples": 5, "evaluated_samples": 5, "completion_rate": 1.0,
        "mean_score": 3.6, "median_score": 4.0, "std_score": 1.67,
        "min_score": 1, "max_score": 5,
        "score_distribution": {"0": 0, "1": 1, "2": 0, "3": 1, "4": 1, "5": 2},
    }
    # sudoku: mean 9/4 = 2.25 -> 2.25; median (2 + 2) / 2; squared deviations 12.75 / 3 = 4.25
    stats = task_statistics(ScoreTally.of(SUDOKU))
    assert (stats["mean_score"], stats["median_score"], stats["std_score"]) == (2.25, 2.0, 2.06)
    assert stats["score_distribution"] == {"0": 1, "1": 0, "2": 2, "3": 0, "4": 0, "5": 1}
    assert task_statistics(ScoreTally.of([3]))["std_score"] == 0.0  # upstream: one score -> 0.0
    assert task_statistics(ScoreTally())["status"] == "pending"


def test_tallies_pool_to_the_statistics_of_all_scores() -> None:
    pooled = ScoreTally.of(MAZE) + ScoreTally.of(SUDOKU)
    assert pooled == ScoreTally.of(MAZE + SUDOKU)
    # 0 1 2 2 3 4 5 5 5: mean 3, median 3, squared deviations 28 -> stdev sqrt(3.5), pstdev
    assert model_statistics(pooled) == {
        "total_samples": 9, "evaluated_samples": 9, "mean_score": 3.0, "median_score": 3.0,
        "std_score": 1.87,
        "score_distribution": {"0": 1, "1": 1, "2": 2, "3": 1, "4": 1, "5": 3},
    }
    assert pooled.pstdev() == pytest.approx((28 / 9) ** 0.5)
    assert pooled.successes == 4 and pooled.success_rate() == pytest.approx(400 / 9)


def test_scores_off_the_rubric_count_but_leave_the_median_unknown() -> None:
    tally = ScoreTally.of([5, 7]) + ScoreTally.of([1])
    assert (tally.n, tally.other, tally.successes, tally.low, tally.high) == (3, 1, 2, 1, 7)
    assert tally.mean() == pytest.approx(13 / 3)
    # squared deviations: 25 + 49 + 1 - 169/3 = 56/3, / 2
    assert tally.stdev() == pytest.approx((28 / 3) ** 0.5)
    assert tally.median() is None
    assert tally.distribution()["5"] == 1 and sum(tally.distribution().values()) == 2
    half = ScoreTally.of([4.5, 5]) + ScoreTally.of([4.0])  # upstream keeps fractional scores
    assert (half.n, half.other, half.total, half.successes) == (3, 1, 13.5, 3)
    assert half.mean() == 4.5 and half.median() is None
    assert half.distribution()["4"] == 1 and half.distribution()["5"] == 1
    with pytest.raises(ValueError, match="not a finite number"):
        ScoreTally.of([float("nan")])


def test_summary_structure_and_tables() -> None:
    rows = [
        DomainTally("a", "maze", ScoreTally.of(MAZE), None),
        DomainTally("a", "sudoku", ScoreTally.of(SUDOKU), None),
        DomainTally("b", "maze", ScoreTally.of([5, 5]), None),
    ]
    data = summary_json(rows)
    g = data["global_statistics"]
    # 0 1 2 2 3 4 5 5 5 5 5: mean 37/11, median 4
    assert (g["total_models"], g["total_tasks"], g["total_samples"]) == (2, 3, 11)
    assert (g["mean_score"], g["median_score"], g["min_score"], g["max_score"]) == (
        3.36, 4.0, 0, 5
    )
    assert list(data["models"]["a"]["tasks"]) == ["maze_task", "sudoku_task"]
    assert data["models"]["b"]["model_statistics"]["score_distribution"]["5"] == 2
    text = summary_markdown(rows)
    # ranked by success rate: b 100%, a 4/9
    assert "| 1 | b | 2 | 2 | 100.00% | 5.000 | 0.000 | 5.00 | 100.0% |" in text
    assert "| 2 | a | 9 | 4 | 44.44% | 3.000 | 1.764 | 3.00 |" in text
    assert "| a | sudoku | 4 | 1 | 25.00% | 2.250 | 2.00 | 2.06 | 0 | 5 |" in text
    assert "scores: 11, successes (4-5): 6, failures: 5, success rate 54.55%" in text


# scores (sorted) per model and domain; the expected values below are the output of upstream's
# own `GPT4OEvaluator._rebuild_summary_from_files` (ae2e8dc) on these scores written as its
# `GPT4OEvaluator.json` files in the 3-level layout (model/generator/task_type/task_id)
UPSTREAM_FIXTURE = {
    ("m1", "maze"): [4, 4], ("m1", "chess"): [2, 4], ("m1", "sudoku"): [0, 4, 4, 5],
    ("m2", "maze"): [3], ("m2", "chess"): [1, 1, 4], ("m2", "sudoku"): [3, 3, 3, 4, 4, 5],
    ("m3", "maze"): [1, 1, 1, 3, 4, 5, 5], ("m3", "chess"): [5],
    ("m3", "sudoku"): [0, 0, 0, 1, 2, 2, 4],
}


def test_summary_matches_upstreams_own_output() -> None:
    rows = [DomainTally(m, d, ScoreTally.of(s), None) for (m, d), s in UPSTREAM_FIXTURE.items()]
    data = summary_json(rows)
    assert data["global_statistics"] == {
        "total_models": 3, "total_tasks": 9, "total_samples": 33, "evaluated_samples": 33,
        "mean_score": 2.79, "median_score": 3, "std_score": 1.69, "min_score": 0,
        "max_score": 5,
        "score_distribution": {"0": 4, "1": 6, "2": 3, "3": 5, "4": 10, "5": 5},
    }
    upstream_models = {
        "m1": (3.38, 4.0, 1.6, {"0": 1, "1": 0, "2": 1, "3": 0, "4": 5, "5": 1}),
        "m2": (3.1, 3.0, 1.29, {"0": 0, "1": 2, "2": 0, "3": 4, "4": 3, "5": 1}),
        "m3": (2.27, 2, 1.91, {"0": 3, "1": 4, "2": 2, "3": 1, "4": 2, "5": 3}),
    }
    for model, (mean, median, std, dist) in upstream_models.items():
        stats = data["models"][model]["model_statistics"]
        assert (stats["mean_score"], stats["median_score"], stats["std_score"]) == (
            mean, median, std
        )
        assert stats["score_distribution"] == dist
    # upstream's analysis script (analysis/plot.py before 74596cc) on the same scores prints
    # "1 m1 75.00% 3.375 1.495", "2 m2 40.00% 3.100 1.221", "3 m3 33.33% 2.267 1.843", the
    # domain averages 75.0% / 27.8% / 52.4% and "Overall Success Rate: 45.45%"
    text = summary_markdown(rows)
    assert "| 1 | m1 | 8 | 6 | 75.00% | 3.375 | 1.495 | 4.00 | 75.0% |" in text
    assert "| 2 | m2 | 10 | 4 | 40.00% | 3.100 | 1.221 | 3.00 | 27.8% |" in text
    assert "| 3 | m3 | 15 | 5 | 33.33% | 2.267 | 1.843 | 2.00 | 52.4% |" in text
    assert "success rate 45.45%" in text


def test_tally_metrics_rebuild_the_tally() -> None:
    scores = [5.0, 4.0, 1.0, 7.0, 0.0, 5.0]
    tally = ScoreTally.of(scores)
    values = {name: tally_metric(name, scores) for name in TALLY_METRICS}
    assert values["judge_scored"] == 6 and values["judge_score_sum"] == 22
    assert values["judge_score_sumsq"] == 25 + 16 + 1 + 49 + 0 + 25
    assert values["judge_successes"] == 4 and values["judge_score_count_other"] == 1
    assert [values[f"judge_score_count_{v}"] for v in range(6)] == list(tally.counts)
    assert list(tally.counts) == [1, 1, 0, 0, 1, 2]
