"""vmeval judge protocols: upstream's sampling, consistency weights and voting rules against
hand-computed values and OpenCV; the single- and multi-frame judges through a loopback VLM;
judge-vs-verifier agreement in results and on the command line."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from aiohttp import web
from PIL import Image
from rich.console import Console

from omnieval.api import RunOutcome, evaluate_config
from omnieval.benchmarks.vmeval import consistency, sampling, voting
from omnieval.benchmarks.vmeval.agreement import agreement
from omnieval.benchmarks.vmeval.judge_prompt import parse_verdict, system_prompt
from omnieval.benchmarks.vmeval.synth import generate_vmeval
from omnieval.config import resolve_run_config

from .loopback import LoopbackServer


def flat(value: int, h: int = 16, w: int = 16) -> np.ndarray:
    return np.full((h, w, 3), value, np.uint8)


# --------------------------------------------------------------------------- sampling


FRAMES = [flat(0)] * 30 + [flat(100)] * 3 + [flat(200)] * 7 + [flat(0)] * 8  # 48 frames


def test_uniform_sampling_matches_upstream() -> None:
    # 48 frames at 8 fps = 6 s; the last 3 s start at int(3.0 * 8) = 24; step 24 / 5 = 4.8
    assert sampling.window_start(48, 8.0, 3.0) == 24
    picks = sampling.sample_indices(FRAMES, 8.0, n=5, last_seconds=3.0, strategy="uniform")
    assert picks == [(24, False), (28, False), (33, False), (38, False), (47, False)]
    # fewer window frames than asked: all of them
    short = sampling.sample_indices(FRAMES[:6], 8.0, n=5, last_seconds=0.5, strategy="uniform")
    assert [i for i, _ in short] == [2, 3, 4, 5]


def test_keyframes_and_hybrid_match_upstream() -> None:
    # grey jumps at 30 (+100), 33 (+100, but only 3 frames after 30) and 40 (-200)
    grays = [sampling.gray(f) for f in FRAMES[24:]]
    assert sampling.detect_keyframes(grays, 24) == [30, 40]
    picks = sampling.sample_indices(FRAMES, 8.0, n=5, strategy="keyframe")
    assert picks == [(30, True), (40, True), (47, True)]
    assert sampling.sample_indices(FRAMES, 8.0, n=2, strategy="keyframe") == [
        (40, True),
        (47, True),
    ]
    # hybrid: step 24 // 5 = 4, points 24 28 32 36 (47 forced); 28 snaps to keyframe 30
    # (within 4 // 2 = 2); 40 is 4 away from 36 and 7 from 47: not taken
    picks = sampling.sample_indices(FRAMES, 8.0, n=5, strategy="hybrid")
    assert picks == [(24, False), (30, True), (32, False), (36, False), (47, False)]


@pytest.mark.parametrize("strategy", ["uniform", "keyframe", "hybrid"])
def test_sampling_a_video_file_streams_the_same_frames(strategy: str, tmp_path: Path) -> None:
    from omnieval.benchmarks.vmeval.video import read_video, write_video

    big = [np.repeat(np.repeat(f, 2, axis=0), 2, axis=1) for f in FRAMES]
    path = write_video(tmp_path / "v.mp4", big, fps=8)
    decoded = read_video(path)
    expected = sampling.sample_indices(decoded.frames, decoded.fps, n=5, strategy=strategy)
    sampled = sampling.sample_video(path, n=5, strategy=strategy)
    assert [(f.index, f.is_keyframe) for f in sampled] == expected
    for frame in sampled:
        assert np.array_equal(frame.image, decoded.frames[frame.index])
        assert frame.timestamp == frame.index / 8


def test_grey_levels_are_opencvs() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    assert np.array_equal(sampling.gray(image), cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))


# --------------------------------------------------------------------------- consistency


def test_similarities_hand_computed() -> None:
    # one-colour frames: the histograms are single bins; with OpenCV's 1/64 centring two
    # different bins correlate at -1/63, so the similarity is (1 - 1/63) / 2
    assert consistency.histogram_similarity(flat(10), flat(10)) == pytest.approx(1.0)
    assert consistency.histogram_similarity(flat(10), flat(200)) == pytest.approx(31 / 63)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    assert consistency.ssim_similarity(flat(50), flat(100)) == pytest.approx(
        (2 * 50 * 100 + c1) / (50**2 + 100**2 + c1) * (c2 / c2)
    )
    assert consistency.mse_similarity(flat(0), flat(10)) == pytest.approx(math.exp(-100 / 1000))
    combined = consistency.similarity(flat(50), flat(100), "combined")
    assert combined == pytest.approx(
        0.4 * consistency.histogram_similarity(flat(50), flat(100))
        + 0.6 * consistency.ssim_similarity(flat(50), flat(100))
    )


def test_weights_outliers_and_stability_hand_computed() -> None:
    # five equal frames and one far away (MSE 150^2): the odd one is an outlier (z = sqrt 5)
    frames = [flat(50)] * 5 + [flat(200)]
    e = math.exp(-(150**2) / 1000)
    result = consistency.analyze(frames, metric="mse", temporal_weight=0.3)
    assert result.outliers == [5]
    means = [0.8 + e / 5] * 5 + [e]
    total = sum(means)
    ramp = [0.2 + 0.16 * i for i in range(6)]
    raw = [0.7 * m / total + 0.3 * r / sum(ramp) for m, r in zip(means, ramp, strict=True)]
    raw[5] *= 0.5
    expected = [w / sum(raw) for w in raw]
    assert result.weights == pytest.approx(expected, rel=1e-12)
    mean = (10 + 5 * e) / 15
    std = math.sqrt(2 / 9) * (1 - e)
    assert result.mean_similarity == pytest.approx(mean)
    assert result.std_similarity == pytest.approx(std)
    assert result.stability == pytest.approx(
        0.5 * mean + 0.3 * math.exp(-4 * std) + 0.2 * (1 - 1 / 6)
    )
    # fewer than three frames: no outliers; one frame: the trivial result
    assert consistency.analyze(frames[4:], metric="mse").outliers == []
    single = consistency.analyze(frames[:1])
    assert (single.stability, single.weights) == (1.0, [1.0])


def _upstream_similarity(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    """Upstream's FrameConsistencyAnalyzer similarities, written with OpenCV as upstream does."""
    if metric == "histogram":
        h = [
            cv2.calcHist([cv2.cvtColor(f, cv2.COLOR_RGB2BGR)], [0, 1, 2], None, [8, 8, 8],
                         [0, 256, 0, 256, 0, 256])
            for f in (a, b)
        ]
        cv2.normalize(h[0], h[0])
        cv2.normalize(h[1], h[1])
        return float((cv2.compareHist(h[0], h[1], cv2.HISTCMP_CORREL) + 1) / 2)
    if metric == "ssim":
        g1 = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
        g2 = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
        c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        blur = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5)  # noqa: E731
        m1, m2 = blur(g1), blur(g2)
        s1, s2, s12 = blur(g1**2) - m1**2, blur(g2**2) - m2**2, blur(g1 * g2) - m1 * m2
        return float(np.mean(((2 * m1 * m2 + c1) * (2 * s12 + c2))
                             / ((m1**2 + m2**2 + c1) * (s1 + s2 + c2))))
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(np.exp(-mse / 1000))


@pytest.mark.parametrize("metric", ["histogram", "ssim", "mse"])
def test_similarities_match_opencv(metric: str) -> None:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    for k in range(3):
        other = np.clip(base * (0.5 + 0.2 * k) + rng.integers(0, 40, base.shape), 0, 255)
        other = other.astype(np.uint8)
        ours = consistency.similarity(base, other, metric)
        # OpenCV normalises the histograms in float32: equal to ~1e-9
        assert ours == pytest.approx(_upstream_similarity(base, other, metric), abs=1e-7)


# --------------------------------------------------------------------------- voting


SCORES = [5, 4, 4, 1, 5]
WEIGHTS = [0.1, 0.2, 0.3, 0.1, 0.3]  # votes: 5 -> 0.4, 4 -> 0.5, 1 -> 0.1


@pytest.mark.parametrize(
    ("rule", "final", "conf", "agree"),
    [
        ("majority", 5, 0.6 * 0.4 + 0.4 * 0.1, 0.4),  # 5 and 4 tie on count: 5 seen first
        ("weighted_majority", 4, 0.6 * 0.5 + 0.4 * 0.1, 0.4),
        ("weighted_average", 4, 0.6 * 0.5 + 0.4 * 0.1, 0.4),  # 4.1 rounds to 4
        ("max_score", 5, 0.6 * 0.4 + 0.4 * 0.1, 0.4),
        ("min_score", 1, 0.6 * 0.1 + 0.4 * 0.1, 0.2),
        ("median", 4, 0.6 * 0.5 + 0.4 * 0.1, 0.4),
    ],
)
def test_voting_rules_hand_computed(rule: str, final: int, conf: float, agree: float) -> None:
    result = voting.vote(SCORES, WEIGHTS, rule)
    assert result.final_score == final
    assert result.confidence == pytest.approx(conf)
    assert result.agreement == pytest.approx(agree)
    assert result.needs_review == (conf < 0.6 or agree < 0.4)
    assert result.distribution == pytest.approx({5: 0.4, 4: 0.5, 1: 0.1})


def test_voting_edge_cases_follow_upstream() -> None:
    assert voting.vote([3, 4], None, "weighted_average").final_score == 4  # 3.5: half to even
    assert voting.vote([2, 3], None, "weighted_average").final_score == 2  # 2.5: half to even
    assert voting.vote([3, 4], None, "median").final_score == 3  # int(3.5)
    away = voting.vote([1, 5], None, "weighted_average")  # 3: nobody voted for it
    assert (away.final_score, away.confidence, away.agreement) == (3, 0.0, 0.0)
    unanimous = voting.vote([4, 4, 4], [0, 0, 0], "weighted_majority")  # zero weights: equal
    assert (unanimous.confidence, unanimous.needs_review) == (1.0, False)
    assert voting.vote([], None).needs_review


def test_agreement_and_kappa() -> None:
    pairs = [(True, True)] * 3 + [(False, True)] * 3 + [(False, False)] * 3
    agree = agreement(pairs)
    assert (agree.both, agree.verifier_only, agree.judge_only, agree.neither) == (3, 0, 3, 3)
    assert agree.observed == pytest.approx(2 / 3)
    assert agree.kappa == pytest.approx((2 / 3 - 4 / 9) / (1 - 4 / 9))  # 0.4
    assert agreement([(True, True)] * 4).kappa == 1.0


#: upstream's GPT4OEvaluator.create_prompt("chess_task") at ae2e8dc, written out by hand
CHESS_SYSTEM_PROMPT = (
    "You are evaluating video generation models.\n"
    "                Compare the final frame of the generated video with the expected ground"
    " truth final frame.\n"
    "\n"
    "                Rate solution correctness on a 1-5 scale:\n"
    "                1: Completely wrong - no understanding of task\n"
    "                2: Mostly incorrect - minimal progress toward solution\n"
    "                3: Partially correct - about half the expected solution\n"
    "                4: Mostly correct - close to expected result with minor errors\n"
    "                5: Perfect - matches expected result\n"
    "\n"
    "                Check if the final board position matches the expected position after"
    " the correct move.\n"
    "\n"
    '                Respond in JSON: {"solution_correctness_score": <1-5>, "explanation":'
    ' "<brief explanation>"}\n'
    "                "
)


def test_prompt_and_reading_are_upstreams() -> None:
    assert system_prompt("chess_task") == CHESS_SYSTEM_PROMPT
    text = system_prompt("sudoku_task")
    assert text.startswith("You are evaluating video generation models.\n" + " " * 16 + "Compare")
    assert "\n" + " " * 16 + "Check if the numbers placed in the final frame match" in text
    assert text.endswith('"explanation": "<brief explanation>"}\n' + " " * 16)
    assert "\n" + " " * 16 + "\n\n" in system_prompt("unknown_task")  # empty guidance, indented
    verdict = parse_verdict('Sure. {"solution_correctness_score": 4, "explanation": "ok"} Bye')
    assert (verdict.score, verdict.success) == (4, True)
    assert parse_verdict('{"explanation": "no score"}').score == 0


# --------------------------------------------------------------------------- loopback VLM


def _images(body: dict[str, Any]) -> list[np.ndarray]:
    out = []
    for message in body["messages"]:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if part.get("type") == "image_url":
                data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                out.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.int16))
    return out


class ScriptedVLM(LoopbackServer):
    """A judge that answers from a script: 5 when the judged frame differs from the input
    image (something moved), else 1. So it rewards `wrong-move` too: a judge that is wrong."""

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.lock:
            self.bodies.append(body)
        first, _expected, actual = _images(body)
        changed = float(np.mean(np.abs(first - actual).max(axis=2) > 60)) > 0.002
        score = 5 if changed else 1
        reply = f'My verdict: {{"solution_correctness_score": {score}, "explanation": "x"}}.'
        return web.json_response(
            {
                "id": "c",
                "object": "chat.completion",
                "created": 0,
                "model": "vlm",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": reply},
                     "finish_reason": "stop"}
                ],
            }
        )


MODELS = ("oracle-video", "still", "wrong-move")


def _judged_run(root: Path, url: str, judge: str, domains: str, **args: Any) -> RunOutcome:
    config, redactor = resolve_run_config(
        {
            "name": f"judged-{judge}",
            "output": str(root / "runs"),
            "benchmarks": [
                {
                    "name": "vmeval",
                    "args": {"data_dir": str(root / "q"), "judge": judge, "domains": domains,
                             **args},
                }
            ],
            "models": list(MODELS),
            "judges": {
                "grader": {
                    "provider": "openai",
                    "init_args": {"model": "vlm", "base_url": url, "inputs": ["text", "image"]},
                }
            },
        },
        where="test",
    )
    return evaluate_config(config, redactor, console=Console(file=io.StringIO()))


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunOutcome, ScriptedVLM]:
    root = tmp_path_factory.mktemp("vmeval-judge")
    generate_vmeval(root / "q", n=2, seed=5, domains="maze,sudoku")
    server = ScriptedVLM()
    server.start()
    try:
        outcome = _judged_run(root, server.url, "single", "maze,sudoku")
    finally:
        server.stop()
    return root, outcome, server


def test_single_frame_judge_gives_upstreams_score(
    judged: tuple[Path, RunOutcome, ScriptedVLM],
) -> None:
    _, outcome, server = judged
    assert len(server.bodies) == len(outcome.records) == 2 * 2 * len(MODELS)
    for body in server.bodies:
        system = body["messages"][0]
        assert system["role"] == "system"
        assert system["content"] in (system_prompt("maze_task"), system_prompt("sudoku_task"))
        texts = [p["text"] for p in body["messages"][1]["content"] if p["type"] == "text"]
        assert texts[0].startswith("Task: ") and "\nPrompt: " in texts[0]
        assert texts[1:] == ["\n2. Expected final frame:", "\n3. Actual final frame from video:",
                             "\nProvide your evaluation."]
        assert body["temperature"] == 0 and body["max_tokens"] == 1000
    for record in outcome.records:
        assert record.score is not None and record.score.error is None
        values = record.score.values
        expected = 1.0 if record.trial.model == "still" else 5.0
        assert values["judge_score"] == expected
        assert values["judge_success"] == (1.0 if expected >= 4 else 0.0)
        assert values["solved"] == (1.0 if record.trial.model == "oracle-video" else 0.0)


def test_agreement_is_in_results_and_shown(
    judged: tuple[Path, RunOutcome, ScriptedVLM],
) -> None:
    _, outcome, _ = judged
    results = outcome.results
    for task in ("vmeval/maze", "vmeval/sudoku"):
        oracle = results.find("oracle-video", "default", task).metrics
        wrong = results.find("wrong-move", "default", task).metrics
        assert oracle["judge_verifier_agreement"].value == 1.0
        assert wrong["judge_verifier_agreement"].value == 0.0  # the judge rewards a wrong move
        assert wrong["cm_unsolved_judge_success"].value == 2.0
        assert oracle["judge_score_median"].value == 5.0
    saved = json.loads((outcome.run_dir / "results.json").read_text())
    assert any("judge_verifier_kappa" in g["metrics"] for g in saved["groups"])
    shown = subprocess.run(
        [sys.executable, "-m", "omnieval.cli", "vmeval", "agreement", str(outcome.run_dir),
         "--videos"],
        capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "COLUMNS": "200",
             "PATH": "/usr/bin:/bin"},
    )
    assert shown.returncode == 0, shown.stderr
    # pooled over the three models: 4 agree solved, 4 agree unsolved, 4 judge-only: kappa 0.4
    text = shown.stdout + shown.stderr  # the console writes to stderr
    assert re.search(r"all\s.*\b12\b.*0\.667.*0\.400", text), text
    assert "wrong-move" in text and "without reaching the goal" in text


def test_run_writes_upstreams_score_summary(
    judged: tuple[Path, RunOutcome, ScriptedVLM],
) -> None:
    """The run's summary equals upstream's formulas (statistics.mean / median / stdev rounded to
    two decimals, Counter over 0-5, success = score >= 4) applied to the trials' own scores."""
    import statistics
    from collections import Counter

    _, outcome, _ = judged
    saved = json.loads((outcome.run_dir / "results.json").read_text())
    assert any("judge_score_count_5" in g["metrics"] for g in saved["groups"])
    summary = json.loads((outcome.run_dir / "vmeval_judge_summary.json").read_text())
    scores: dict[str, dict[str, list[int]]] = {}
    for r in outcome.records:
        assert r.score is not None
        by_domain = scores.setdefault(r.trial.model, {})
        by_domain.setdefault(r.trial.task.removeprefix("vmeval/") + "_task", []).append(
            int(r.score.values["judge_score"])
        )

    def upstream(values: list[int]) -> dict[str, Any]:
        dist = Counter(values)
        return {
            "mean_score": round(statistics.mean(values), 2),
            "median_score": round(statistics.median(values), 2),
            "std_score": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0,
            "score_distribution": {str(i): dist.get(i, 0) for i in range(6)},
        }

    everything = [s for by_domain in scores.values() for v in by_domain.values() for s in v]
    for key, value in upstream(everything).items():
        assert summary["global_statistics"][key] == value, key
    assert summary["global_statistics"]["total_samples"] == len(everything) == 12
    assert summary["global_statistics"]["std_score"] == 1.97  # 8 fives, 4 ones
    for model, by_domain in scores.items():
        mine = summary["models"][model]
        pooled = [s for v in by_domain.values() for s in v]
        for key, value in upstream(pooled).items():
            assert mine["model_statistics"][key] == value, (model, key)
        for task_type, values in by_domain.items():
            stats = mine["tasks"][task_type]["task_statistics"]
            assert stats["min_score"] == min(values) and stats["max_score"] == max(values)
            for key, value in upstream(values).items():
                assert stats[key] == value, (model, task_type, key)
    table = (outcome.run_dir / "vmeval_judge_summary.md").read_text()
    assert "| still | 4 | 0 | 0.00% | 1.000 |" in table
    assert "| oracle-video | maze | 2 | 2 | 100.00% | 5.000 | 5.00 | 0.00 | 5 | 5 |" in table


def test_judged_trials_export_upstreams_score_files(
    judged: tuple[Path, RunOutcome, ScriptedVLM], tmp_path: Path
) -> None:
    from omnieval.report.vmeval_export import export_run

    _, outcome, _ = judged
    evaluations = tmp_path / "evaluations"
    export_run(outcome.run_dir, tmp_path / "outputs", evaluations=evaluations)
    files = sorted(evaluations.rglob("GPT4OEvaluator.json"))
    assert len(files) == len(outcome.records)
    for path in files:  # upstream's summary reads model/task_type/task_id/GPT4OEvaluator.json
        model, task_type, task_id = path.relative_to(evaluations).parts[:3]
        data = json.loads(path.read_text())
        assert data["metadata"]["model_name"] == model and data["metadata"]["task_id"] == task_id
        assert data["metadata"]["task_type"] == task_type
        assert data["result"]["evaluation_type"] == "final_frame_comparison"
        assert data["result"]["solution_correctness_score"] == (1 if model == "still" else 5)


def test_multiframe_judge_votes_over_sampled_frames(tmp_path: Path) -> None:
    generate_vmeval(tmp_path / "q", n=1, seed=2, domains="rotation")
    with ScriptedVLM() as server:
        outcome = _judged_run(
            tmp_path, server.url, "multiframe", "rotation",
            multiframe={"n_frames": 4, "strategy": "uniform", "voting": "majority"},
        )
        asked = len(server.bodies)
    for record in outcome.records:
        assert record.score is not None and record.score.error is None, record.score
        detail = record.extraction.value["judge"] if record.extraction else {}
        frames = detail["frame_results"]
        assert len(frames) == 4 and frames[-1]["frame_index"] > frames[0]["frame_index"]
        assert sum(f["weight"] for f in frames) == pytest.approx(1.0)
        scores = [f["score"] for f in frames]
        final = voting.vote(scores, rule="majority").final_score
        assert record.score.values["judge_score"] == final
        assert 0.0 <= record.score.values["judge_confidence"] <= 1.0
    # identical frames of one video are one judge question (asked once, journaled once)
    assert len(MODELS) < asked <= 4 * len(MODELS)
    labels = {p["text"] for b in server.bodies for p in b["messages"][1]["content"]
              if p["type"] == "text"}
    assert "\n3. Actual frame from video:" in labels
