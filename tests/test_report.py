"""Reports: report.html, samples.csv / parquet, compare, merged leaderboards, temporal acuity
and human ratings, on real runs."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from omnieval import api
from omnieval.report.acuity import acuity_of, temporal_acuity
from omnieval.report.compare import compare_runs, mcnemar_exact
from omnieval.report.merge import MergeError, merge_leaderboards
from omnieval.report.ratings import rating_summary, refresh_ratings
from omnieval.runner.ratings import RatingError, rated_keys, record_rating
from tests.conftest import synth_config, write_mcq


def run_mcq(tmp: Path, name: str, models: list[Any], path: Path, **bench: Any) -> api.RunOutcome:
    return api.evaluate(
        {
            "name": name,
            "output": str(tmp / "runs"),
            "progress": False,
            "benchmarks": [{"name": "mcq", "args": {"path": str(path), **bench}}],
            "models": models,
        }
    )


# ---------------------------------------------------------------------------- report + exports


def test_report_is_self_contained_and_lists_every_trial(tmp_path: Path) -> None:
    questions = write_mcq(tmp_path / "q.jsonl", 30)
    outcome = run_mcq(tmp_path, "r", ["random", "oracle"], questions)
    page = (outcome.run_dir / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']https?://""", page), "a network reference"
    assert "<script src" not in page and "<link" not in page
    data = json.loads(re.search(r'id="omnieval-data">(.*?)</script>', page, re.S).group(1))
    assert len(data["browser"]["rows"]) == 60
    assert 'id="leaderboard-table"' in page and "<svg" in page
    rows = list(csv.DictReader((outcome.run_dir / "samples.csv").open()))
    assert len(rows) == 60 and {r["model"] for r in rows} == {"random", "oracle"}
    assert {r["score.accuracy"] for r in rows if r["model"] == "oracle"} == {"1.0"}
    import pyarrow.parquet as pq

    table = pq.read_table(outcome.run_dir / "samples.parquet")
    assert table.num_rows == 60 and "score.accuracy" in table.column_names


def test_report_command_rebuilds_with_media_relative_or_embedded(tmp_path: Path) -> None:
    from omnieval.probe.probeset import ensure_probe_set

    probe = ensure_probe_set(tmp_path / "probe", seed=0)
    outcome = run_mcq(tmp_path, "media", ["random"], probe / "audio-tones.jsonl")
    report = outcome.run_dir / "report.html"
    report.unlink()
    command = [sys.executable, "-m", "omnieval.cli", "report", str(outcome.run_dir)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(re.search(r'id="omnieval-data">(.*?)</script>', report.read_text(), re.S)[1])
    src = data["browser"]["media"][0][0]["src"]
    assert not src.startswith("/") and (outcome.run_dir / src).resolve().is_file()
    portable = tmp_path / "portable.html"
    done = subprocess.run(
        [*command, "--embed-media", "--out", str(portable)], capture_output=True, timeout=120
    )
    assert done.returncode == 0
    assert "data:audio/x-wav;base64," in portable.read_text() or "data:audio/wav;base64," in (
        portable.read_text()
    )


# ----------------------------------------------------------------------------------- compare


def test_compare_lists_exactly_the_flipped_samples_and_matches_hand_computation(
    tmp_path: Path,
) -> None:
    questions = write_mcq(tmp_path / "q.jsonl", 40)
    a = run_mcq(tmp_path, "a", ["constant"], questions)  # always "A"
    b = run_mcq(tmp_path, "b", ["oracle"], questions)  # always right
    answers = {
        json.loads(line)["id"]: json.loads(line)["answer"]
        for line in questions.read_text().splitlines()
    }
    report = compare_runs(a.run_dir, b.run_dir)
    (row,) = report.comparisons
    expected_flips = {sid for sid, letter in answers.items() if letter != "A"}
    assert {f.sample_id for f in row.flips} == expected_flips
    assert {f.direction for f in row.flips} == {"gained"}
    first = np.array([1.0 if answers[s] == "A" else 0.0 for s in sorted(answers)])
    second = np.ones(len(answers))
    diff = second - first
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff))
    assert row.diff == pytest.approx(diff.mean())
    assert row.ci_low == pytest.approx(diff.mean() - half)
    assert row.ci_high == pytest.approx(diff.mean() + half)
    b_count, c_count = 0, len(expected_flips)
    assert row.p_value == pytest.approx(stats.binomtest(b_count, b_count + c_count).pvalue)
    assert mcnemar_exact(3, 9) == pytest.approx(stats.binomtest(3, 12).pvalue)
    html_out = tmp_path / "compare.html"
    done = subprocess.run(
        [sys.executable, "-m", "omnieval.cli", "compare", str(a.run_dir), str(b.run_dir),
         "--html", str(html_out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{len(expected_flips)} flipped" in done.stdout
    assert all(sid in html_out.read_text() for sid in expected_flips)


# ------------------------------------------------------------------------------ leaderboards


def test_leaderboard_merges_runs_and_refuses_different_fingerprints(tmp_path: Path) -> None:
    questions = write_mcq(tmp_path / "q.jsonl", 20)
    a = run_mcq(tmp_path, "a", ["random"], questions)
    b = run_mcq(tmp_path, "b", ["oracle"], questions)
    merged = merge_leaderboards([a.run_dir, b.run_dir], "csv")
    rows = list(csv.DictReader(merged.splitlines()))
    assert {r["model"] for r in rows} == {"random", "oracle"}
    assert "<table>" in merge_leaderboards([a.run_dir, b.run_dir], "html")
    other = run_mcq(tmp_path, "c", ["random"], questions, prompt="{question}\n{options}\nLetter:")
    with pytest.raises(MergeError, match=r"task 'mcq/default' differs.*fingerprint\.prompt"):
        merge_leaderboards([a.run_dir, other.run_dir])
    done = subprocess.run(
        [sys.executable, "-m", "omnieval.cli", "leaderboard", str(a.run_dir), str(other.run_dir)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "refusing to merge" in done.stderr


# --------------------------------------------------------------------------- temporal acuity


def test_psychometric_fit_recovers_a_simulated_observer() -> None:
    rng = np.random.default_rng(7)
    true_pss, true_jnd, noise = 30.0, 140.0, 30.0
    answers = {}
    for offset in range(-450, 451, 50):
        internal = offset + rng.logistic(0, noise, 50)
        answers[float(offset)] = list(np.abs(internal - true_pss) < true_jnd)
    _, fit, pss_ci, jnd_ci = acuity_of(answers, seed=1)
    assert fit is not None and pss_ci is not None and jnd_ci is not None
    assert pss_ci[0] <= true_pss <= pss_ci[1]
    assert jnd_ci[0] <= true_jnd <= jnd_ci[1]
    assert jnd_ci[1] - jnd_ci[0] < 60


def test_vsync_solver_jnd_is_below_the_smallest_offset_step(tmp_path: Path) -> None:
    from omnieval.benchmarks.vsync.synth import generate_vsync

    edition = tmp_path / "edition"
    config = synth_config("formant", sync_share=1.0, sync_styles=("flash",))
    generate_vsync(edition, 21, seed=3, config=config, workers=2)
    outcome = api.evaluate(
        {
            "name": "acuity",
            "output": str(tmp_path / "runs"),
            "progress": False,
            "benchmarks": [
                {"name": "vsync", "args": {"data_dir": str(edition)}, "conditions": ["avt"]}
            ],
            "models": ["vsync-solver"],
        }
    )
    (result,) = outcome.results.acuity
    steps = np.diff(sorted({p.offset_ms for p in result.points}))
    assert result.jnd_ms is not None and result.jnd_ms < steps.min()
    assert "Temporal acuity" in (outcome.run_dir / "leaderboard.md").read_text()
    again = temporal_acuity(outcome.records, {}, seed=0)
    assert again == []  # no samples, no offsets: nothing invented


# --------------------------------------------------------------------------------- ratings


def test_ratings_are_journaled_resumable_and_in_results(tmp_path: Path) -> None:
    questions = write_mcq(tmp_path / "q.jsonl", 6)
    outcome = run_mcq(tmp_path, "rated", ["random"], questions)
    keys = sorted(r.trial.key for r in outcome.records)
    record_rating(outcome.run_dir, "ann", keys[0], 4, "fine")
    record_rating(outcome.run_dir, "ann", keys[1], 2)
    record_rating(outcome.run_dir, "ann", keys[1], 3, "changed my mind")  # replaces
    record_rating(outcome.run_dir, "bob", keys[0], 5)
    assert rated_keys(outcome.run_dir, "ann") == {keys[0], keys[1]}
    summary = {r["rater"]: r for r in rating_summary(outcome.run_dir)}
    assert summary["ann"]["n"] == 2 and summary["ann"]["mean"] == pytest.approx(3.5)
    assert summary["bob"]["mean"] == 5
    results = refresh_ratings(outcome.run_dir)
    saved = json.loads((outcome.run_dir / "results.json").read_text())
    assert saved["human_ratings"] == [r.copy() for r in results.human_ratings]
    with pytest.raises(RatingError):
        record_rating(outcome.run_dir, "ann", keys[2], 6)
    with pytest.raises(RatingError):
        record_rating(outcome.run_dir, "ann", "nope", 3)
    with pytest.raises(RatingError):
        record_rating(outcome.run_dir, "a b", keys[2], 3)


def test_a_generated_video_is_shown_next_to_the_expected_final_frame(tmp_path: Path) -> None:
    from omnieval.benchmarks.vmeval.synth import generate_vmeval

    edition = tmp_path / "questions"
    generate_vmeval(edition, 1, 0, domains=["maze"])
    outcome = api.evaluate(
        {
            "name": "video",
            "output": str(tmp_path / "runs"),
            "progress": False,
            "benchmarks": [{"name": "vmeval", "args": {"data_dir": str(edition)}}],
            "models": ["oracle-video"],
        }
    )
    page = (outcome.run_dir / "report.html").read_text()
    data = json.loads(re.search(r'id="omnieval-data">(.*?)</script>', page, re.S)[1])
    columns = data["browser"]["columns"]
    (row,) = data["browser"]["rows"]
    artifacts = row[columns.index("artifacts")]
    expected = row[columns.index("expected")]
    assert [a["kind"] for a in artifacts] == ["video"]
    assert (outcome.run_dir / artifacts[0]["src"]).is_file()
    assert any(e["name"].startswith("final_frame") and e["kind"] == "image" for e in expected)


def test_sample_tables_keep_one_type_per_column_for_structured_answers(tmp_path: Path) -> None:
    from omnieval.report.tables import flat_rows, write_sample_tables
    from omnieval.types import Extraction, Response, Score, Trial, TrialRecord

    def record(key: str, value: Any) -> TrialRecord:
        trial = Trial(key=key, model="m", task="t", sample_id=key, condition="default")
        return TrialRecord(
            trial=trial,
            response=Response(text="x"),
            extraction=Extraction(value=value, ok=True, rule="json"),
            score=Score(values={"iou": 0.5}),
        )

    records = [record("a", "A"), record("b", [0.1, 0.2, 0.3, 0.4]), record("c", {"dog": 2})]
    _, rows = flat_rows(records)
    assert [r["extraction"] for r in rows] == ["A", "[0.1, 0.2, 0.3, 0.4]", '{"dog": 2}']
    import pyarrow.parquet as pq

    paths = write_sample_tables(tmp_path, records)
    assert pq.read_table(paths[-1]).column("extraction").to_pylist()[2] == '{"dog": 2}'
