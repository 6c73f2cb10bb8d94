"""V-SYNC Levels 2 and 3: SocialOmni's format, the prefix cut, the generated edition answered by
the solver and the published metrics by hand (no leakage beyond t at a loopback server:
test_vsync_level2_leakage.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnieval import api
from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.vsync.judge_rubric import offline_score, parse_verdict
from omnieval.benchmarks.vsync.level2_loader import load_when, parse_timestamp
from omnieval.benchmarks.vsync.level2_task import parity_when
from omnieval.benchmarks.vsync.level23_metrics import (
    HowItem,
    always_yes,
    how_metrics,
    majority,
    when_metrics,
)
from omnieval.benchmarks.vsync.level23_report import summarize
from omnieval.benchmarks.vsync.prefix import video_prefix
from omnieval.benchmarks.vsync.synth_when import VsyncWhenConfig, generate_vsync_when
from omnieval.media import AudioSpec, FrameSpec, MediaCache, load_audio, probe, sample_frames
from tests.conftest import N_WHEN, when_annotations


@pytest.fixture(scope="module")
def prefix_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prefix-cache")


# --------------------------------------------------------------------------- format


def test_timestamps_follow_socialomnis_convention() -> None:
    assert parse_timestamp("00:17:00") == 17.0  # the middle field is seconds, on purpose
    assert parse_timestamp("00:17:45") == 17.0  # the last field is ignored, as upstream does
    assert parse_timestamp("1:05") == 65.0
    assert parse_timestamp("12") == 12.0
    assert parse_timestamp("3.5") == 3.5
    with pytest.raises(ValueError, match="unreadable"):
        parse_timestamp("soon")


def test_malformed_items_are_named_with_the_file(tmp_path: Path) -> None:
    bad = [
        {"video_id": "v1", "video_file": "a.mp4", "question_1": {"question": "q?"}},
        {
            "video_id": "v2",
            "video_file": "../b.mp4",
            "question_1": {"question": "q?", "timestamp": "00:03:00", "correct_answer": "B"},
        },
        {
            "video_id": "v3",
            "video_file": "c.mp4",
            "question_1": {"question": "q?", "timestamp": "00:03:00", "correct_answer": "A"},
            "question_2": {"question": "what?", "answer": ""},
        },
    ]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps({"data": bad}), encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        load_when(path, tmp_path / "videos")
    text = str(err.value)
    assert str(path) in text and "3 malformed" in text
    assert "'v1'" in text and "timestamp" in text
    assert "'v2'" in text and "'v3'" in text and "question_2.answer" in text


def test_loader_keeps_full_asr_out_of_every_sample(vsync_when_edition: Path) -> None:
    path = vsync_when_edition / "data" / "level_2" / "annotations.json"
    samples = load_when(path, path.parent / "videos")
    assert len(samples) == N_WHEN and sum(s.metadata["gold_yes"] for s in samples) == N_WHEN // 3
    for sample, item in zip(samples, when_annotations(vsync_when_edition), strict=True):
        assert sample.metadata["t"] == float(item["question_1"]["timestamp"].split(":")[1])
        assert "full_asr" not in json.dumps(sample.metadata)
        tail = item["full_asr"].splitlines()[1:]
        for line in tail:  # the continuation after t
            assert line.split("] ", 1)[1] not in json.dumps(sample.metadata["question"])


# --------------------------------------------------------------------------- prefix


def test_prefix_ends_at_t_and_is_cut_once(vsync_when_edition: Path, tmp_path: Path) -> None:
    item = when_annotations(vsync_when_edition)[0]
    source = vsync_when_edition / "data" / "level_2" / "videos" / item["video_file"]
    t = float(item["synth"]["t"])
    cache = MediaCache(tmp_path / "cache")
    first = video_prefix(source, t, cache)
    stamp = first.stat().st_mtime_ns
    again = video_prefix(source, t, cache)
    assert again == first and again.stat().st_mtime_ns == stamp  # cached, not rewritten
    assert probe(source).duration_s == pytest.approx(t + 1.5, abs=0.05)
    frames = sample_frames(first, FrameSpec())
    assert len(frames) == round(t * 25) and float(frames.timestamps[-1]) < t
    sound = load_audio(first, AudioSpec(sample_rate=16000))
    assert sound.duration_s == pytest.approx(t, abs=0.01)
    whole = load_audio(source, AudioSpec(sample_rate=16000, window=None))
    # the same sound up to t (AAC re-encoding: compare loudness, not samples)
    head = whole.samples[0][: sound.num_samples]
    assert abs(float((head**2).mean()) - float((sound.samples[0] ** 2).mean())) < 2e-4


# --------------------------------------------------------------------------- solver


def _when_run(
    name: str,
    edition: Path,
    cache: Path,
    tmp_path: Path,
    models: list[str],
    **benchmark: Any,
) -> api.RunOutcome:
    """Level 2 (`when`) of `edition` run by `models`; `benchmark` adds variants, replicates."""
    args = {"data_dir": str(edition), "levels": ["when"], "cache_dir": str(cache)}
    return api.evaluate(
        {
            "name": name,
            "output": str(tmp_path / "runs"),
            "progress": False,
            "benchmarks": [{"name": "vsync-level2", "args": args, **benchmark}],
            "models": models,
        }
    )


def test_solver_answers_when_from_both_modalities_only(
    vsync_when_edition: Path, prefix_cache: Path, tmp_path: Path
) -> None:
    models = ["vsync-solver"]
    outcome = _when_run(
        "when-solver",
        vsync_when_edition,
        prefix_cache,
        tmp_path,
        models,
        variants=["avt", "vt", "at"],
    )
    results = outcome.results
    avt = results.find("vsync-solver", "avt", "vsync/when")
    assert avt.metrics["accuracy"].value >= 0.95 and avt.failed == 0
    assert avt.metrics["macro_f1"].value >= 0.95
    for condition in ("vt", "at"):
        one = results.find("vsync-solver", condition, "vsync/when").metrics
        baselines = (one["always_yes_accuracy"].value, one["majority_accuracy"].value)
        assert min(abs(one["accuracy"].value - b) for b in baselines) <= 0.1, (condition, one)
    # each one-modality rule fails exactly on the kind that needs the other modality
    vt = results.find("vsync-solver", "vt", "vsync/when", group="no-mid-utterance")
    at = results.find("vsync-solver", "at", "vsync/when", group="no-other-addressee")
    assert vt.metrics["accuracy"].value == 0.0 and at.metrics["accuracy"].value == 0.0


def test_rotated_options_keep_yes_and_no_apart(
    vsync_when_edition: Path, prefix_cache: Path, tmp_path: Path
) -> None:
    outcome = _when_run(
        "when-rotated",
        vsync_when_edition,
        prefix_cache,
        tmp_path,
        ["vsync-solver", "constant"],
        variants=["avt"],
        replicates={"scheme": "rotation", "k": "all"},
    )
    solver = outcome.results.find("vsync-solver", "avt", "vsync/when").metrics
    assert solver["ACR"].value == 1.0 and solver["macro_f1"].value == 1.0
    # `constant` answers A: YES unrotated, NO once rotated ("A. No"); YES recall counts both
    rotated = [
        r
        for r in outcome.records
        if r.trial.replicate == "rotation1" and r.trial.model == "constant"
    ]
    assert len(rotated) == N_WHEN and all(
        r.score and r.score.values["pred_yes"] == 0.0 for r in rotated
    )
    constant = outcome.results.find("constant", "avt", "vsync/when").metrics
    assert constant["yes_recall"].value == pytest.approx(0.5)
    rows = summarize(outcome.records)
    by_model = {row["model"]: row for row in rows}
    assert by_model["constant"]["when"] == always_yes([True, False, False] * 4).as_dict()


# --------------------------------------------------------------------------- metrics by hand

# gold Y N N Y N N Y N N; predictions Y N Y ? N ? Y N N (? = unreadable)
GOLD = [True, False, False, True, False, False, True, False, False]
PRED: list[bool | None] = [True, False, True, None, False, None, True, False, False]


def test_when_metrics_and_baselines_by_hand() -> None:
    m = when_metrics(GOLD, PRED)
    assert m.accuracy == pytest.approx(6 / 9) and m.extraction_failures == 2
    assert (m.true_positive, m.false_positive, m.false_negative) == (2, 1, 1)
    assert m.yes_precision == pytest.approx(2 / 3) and m.yes_recall == pytest.approx(2 / 3)
    assert m.no_f1 == pytest.approx(0.8)  # P = 4/4, R = 4/6
    assert m.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert always_yes(GOLD).accuracy == pytest.approx(1 / 3)
    assert always_yes(GOLD).macro_f1 == pytest.approx(0.25)  # F1(YES) = 0.5, F1(NO) = 0
    assert majority(GOLD).accuracy == pytest.approx(2 / 3)
    assert majority(GOLD).macro_f1 == pytest.approx(0.4)  # F1(NO) = 0.8, F1(YES) = 0


def test_how_aggregates_count_zeros_and_parity_reproduces_the_bug() -> None:
    items = [HowItem(75.0, True), HowItem(0.0, False), HowItem(0.0, True)]
    h = how_metrics(items, positive_only=True)
    assert h.qgold == pytest.approx(25.0) and h.qens == pytest.approx(37.5)
    assert h.cov_plus == pytest.approx(200 / 3) and h.qens_joint == pytest.approx(25.0)
    assert h.zeros == 2 and h.upstream_q2_avg == pytest.approx(75.0)  # zeros dropped: inflated
    assert how_metrics(items).upstream_q2_avg is None
    assert how_metrics([HowItem(None, True)]).covered == 0  # no usable answer: not covered


def test_socialomni_answer_reading_is_reproduced_quirks_included() -> None:
    assert parity_when("B").value == "B" and parity_when("Based on the video, yes").value == "B"
    assert parity_when("The answer is A.").value == "A"
    assert parity_when("I don't know").value == "B"  # "no" inside "know"
    assert parity_when("Yes, she should").value == "A"
    assert not parity_when("").ok and not parity_when("Perhaps").ok


def test_rubric_scale_and_verdict_reading() -> None:
    assert parse_verdict("Score: 62") == 50 and parse_verdict("63") == 75
    assert parse_verdict("150") == 100 and parse_verdict("-5") == 0
    assert parse_verdict("12.5") == 0 and parse_verdict("no idea") is None
    assert (
        offline_score("Thanks, I agree about the garden.", "thanks i agree about the garden") == 100
    )
    assert offline_score("Thanks, I agree about the garden.", "zebra quantum") == 0


def test_editions_are_seeded_and_a_larger_n_extends_a_smaller(tmp_path: Path) -> None:
    config = VsyncWhenConfig(speech="formant")
    one = generate_vsync_when(tmp_path / "a", 2, seed=5, config=config)
    two = generate_vsync_when(tmp_path / "b", 3, seed=5, config=config)
    first, second = json.loads(one.read_text()), json.loads(two.read_text())
    assert second[:2] == first and second[2]["category"] == "no-other-addressee"
    for item in first:
        name = item["video_file"]
        assert (one.parent / "videos" / name).read_bytes() == (
            two.parent / "videos" / name
        ).read_bytes()
    facts = json.loads((tmp_path / "a" / "edition.json").read_text())
    assert facts["seed"] == 5 and facts["config"]["speech"] == "formant"
