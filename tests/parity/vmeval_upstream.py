"""Write the VMEvalKit parity fixture by running upstream's own evaluation code.

This script is not a test and is not imported by the test suite. It imports VMEvalKit's
`vmevalkit/eval/` package from a checkout of the upstream repository (nothing from it is copied
here), runs its own classes on the inputs below and writes what they returned to
`tests/parity/fixtures/vmeval.json`. `tests/test_parity_vmeval.py` checks
`omnieval.benchmarks.vmeval` against every row. What runs (everything that needs no API):

- `replies`: the judge-reply reading of `GPT4OEvaluator.evaluate_single_async` and of
  `MultiFrameEvaluator.evaluate_frame_async`, with the HTTP call replaced by a function that
  returns the reply (the evaluators are otherwise untouched: real prompt, real image encoding);
  a reply upstream cannot read is recorded as the exception it raised;
- `voting`: `VotingAggregator.aggregate_from_raw` for score lists, weights and every method;
- `consistency`: `FrameConsistencyAnalyzer(metric, temporal_weight=...).analyze` on small
  generated RGB frames (stored base64, raw uint8);
- `sampling`: `FrameSampler.sample` (OpenCV) on small generated mp4 videos (stored base64) for
  every strategy: indices, timestamps, keyframe flags, the frames' SHA-256;
- `multiframe`: `MultiFrameEvaluator.evaluate_single_async` end to end on one of those videos,
  the judge replying per frame from a script (some replies unreadable);
- `summary`: `GPT4OEvaluator._rebuild_summary_from_files` over a tree of `GPT4OEvaluator.json`
  result files (skipped results, missing scores, one-sample tasks, generator ordering).

Timestamps of the summary are dropped. It needs numpy, opencv-python(-headless), Pillow and
httpx (upstream's imports). OPENAI_API_KEY is set to a dummy value: the evaluator's constructor
requires one; no request is ever sent.

Usage (upstream commit ae2e8dc):

    G=$(path to a clone or mirror of https://github.com/Video-Reason/VMEvalKit)
    mkdir /tmp/vmevalkit-src
    git --git-dir=$G archive ae2e8dc vmevalkit/eval | tar -x -C /tmp/vmevalkit-src
    python tests/parity/vmeval_upstream.py --upstream /tmp/vmevalkit-src \\
        --commit $(git --git-dir=$G rev-parse ae2e8dc)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import importlib
import json
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import numpy as np

FIXTURE = Path(__file__).parent / "fixtures" / "vmeval.json"
UPSTREAM = "https://github.com/Video-Reason/VMEvalKit"

REPLIES: list[str | None] = [
    '{"solution_correctness_score": 4, "explanation": "close"}',
    '```json\n{"solution_correctness_score": 5, "explanation": "perfect"}\n```',
    'Here is my evaluation: {"solution_correctness_score": 2, "explanation": "off"} Thanks!',
    '{"solution_correctness_score": 3, "explanation": "a {nested} brace"}',
    '{"solution_correctness_score": 1} and {"solution_correctness_score": 5}',
    '{"solution_correctness_score": "4", "explanation": "string score"}',
    '{"solution_correctness_score": 4.5, "explanation": "half"}',
    '{"solution_correctness_score": 4.0, "explanation": "whole float"}',
    '{"solution_correctness_score": null, "explanation": "null"}',
    '{"explanation": "no score key"}',
    '{"solution_correctness_score": 0, "explanation": "zero"}',
    '{"solution_correctness_score": 7, "explanation": "off the scale"}',
    '{"solution_correctness_score": -1}',
    '{"solution_correctness_score": true}',
    '{"solution_correctness_score": [4]}',
    "Score: 4",
    "",
    None,
    "I'm sorry, I can't evaluate these images.",
    '{"solution_correctness_score": 4,}',
    "{'solution_correctness_score': 4}",
    '{"solution_correctness_score": 3, "explanation": "' + "long " * 2000 + '"}',
    '{"solution_correctness_score": 5, "explanation": "\u00e9t\u00e9 \u2713 \U0001f600"}',
    '{"solution_correctness_score": NaN}',
    '{"solution_correctness_score": 2, "solution_correctness_score": 4}',
    '{\n  "solution_correctness_score": 3,\n  "explanation": "multi\\nline"\n}',
    '{"score": 5, "explanation": "wrong key"}',
    '{"solution_correctness_score": 1e0}',
    "{}",
    '{"solution_correctness_score": 4, "explanation": null}',
    '{"solution_correctness_score": 4, "explanation": 12}',
    '[{"solution_correctness_score": 4}]',
]

VOTES: list[tuple[list[Any], list[float] | None]] = [
    ([4, 4, 5, 3, 4], None),
    ([1, 2, 3, 4, 5], None),
    ([5, 5, 1, 1], None),
    ([1, 1, 5, 5], None),
    ([3], None),
    ([], None),
    ([2, 3], None),
    ([2, 3, 3, 2], [0.1, 0.2, 0.3, 0.4]),
    ([4, 5, 4, 5, 5], [0.3, 0.1, 0.3, 0.2, 0.1]),
    ([1, 5], [0.0, 0.0]),
    ([1, 2, 3], [0.0, 0.0, 1.0]),
    ([2, 4], [0.5, 0.5]),
    ([2, 3], [0.5, 0.5]),
    ([3, 4], [0.5, 0.5]),
    ([0, 0, 5], None),
    ([7, 7, 1], None),
    ([4, 1, 1, 4, 2], [0.15, 0.25, 0.2, 0.25, 0.15]),
    ([5, 4, 3, 2, 1], [0.09, 0.13, 0.18, 0.24, 0.36]),
    ([4.5, 4.5, 3], None),
    ([1, 1, 1, 1, 5], [0.05, 0.05, 0.05, 0.05, 0.8]),
    ([3, 5], [1e-12, 1e-12]),
    ([2, 2, 4, 4], [0.25, 0.25, 0.25, 0.25]),
]
METHODS = ("majority", "weighted_majority", "weighted_average", "max_score", "min_score", "median")


def _frames(seed: int, n: int, shape: tuple[int, int] = (12, 16)) -> list[np.ndarray]:
    """Blocky RGB frames that drift, with one odd frame when n >= 4."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(*shape, 3), dtype=np.int64)
    frames = []
    for i in range(n):
        drift = rng.integers(-12, 13, size=(*shape, 3))
        frame = np.clip(base + drift + 6 * i, 0, 255)
        if n >= 4 and i == n // 2:
            frame = 255 - frame
        frames.append(frame.astype(np.uint8))
    return frames


def consistency_cases() -> list[dict[str, Any]]:
    flat = np.full((12, 16, 3), 90, np.uint8)
    cases: list[dict[str, Any]] = [
        {"name": "one frame", "frames": _frames(1, 1)},
        {"name": "two frames", "frames": _frames(2, 2)},
        {"name": "three frames", "frames": _frames(3, 3)},
        {"name": "five frames, one odd", "frames": _frames(4, 5)},
        {"name": "seven frames, one odd", "frames": _frames(5, 7)},
        {"name": "identical flat frames", "frames": [flat, flat.copy(), flat.copy()]},
        {"name": "flat then noise", "frames": [flat, *_frames(6, 3)]},
        {"name": "black and white", "frames": [flat * 0, flat * 0 + 255, flat * 0]},
    ]
    return cases


def _video(path: Path, frames: list[np.ndarray], fps: float) -> None:
    import cv2

    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def video_cases() -> list[dict[str, Any]]:
    """Small mp4 videos: scene cuts (keyframes), fewer frames than asked, a static clip."""

    def clip(n: int, cuts: tuple[int, ...], seed: int, static: bool = False) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        colour = rng.integers(30, 220, size=3)
        out = []
        for i in range(n):
            if i in cuts:
                colour = (colour + 110) % 256
            frame = np.zeros((48, 64, 3), np.int64) + colour
            if not static:
                frame[10:30, (i * 2) % 40 : (i * 2) % 40 + 16] = 255 - colour
            out.append(np.clip(frame, 0, 255).astype(np.uint8))
        return out

    return [
        {"name": "cuts at 10 fps", "fps": 10.0, "frames": clip(40, (12, 27, 33), 1)},
        {"name": "three frames", "fps": 10.0, "frames": clip(3, (), 2)},
        {"name": "static at 12 fps", "fps": 12.0, "frames": clip(50, (), 3, static=True)},
        {"name": "many cuts at 8 fps", "fps": 8.0, "frames": clip(30, (18, 20, 22, 26, 29), 4)},
    ]


def summary_files(fractional: bool = False) -> dict[str, dict[str, Any]]:
    """Relative path -> content of the GPT4OEvaluator.json files of an evaluation folder (with
    `fractional`: a judge off the rubric, scores 4.5 and 4.0)."""

    def result(score: Any, explanation: str = "fine") -> dict[str, Any]:
        body: dict[str, Any] = {"explanation": explanation, "status": "completed"}
        if score is not ...:
            body["solution_correctness_score"] = score
        return {"metadata": {"evaluator": "GPT4OEvaluator"}, "result": body}

    files: dict[str, dict[str, Any]] = {}
    scores = {
        ("model-a", "G-2_maze_data-generator", "maze_task"): [5, 4, 4, 1, 3],
        ("model-a", "G-10_sudoku_data-generator", "sudoku_task"): [2],
        ("model-a", "O-1_chess-data-generator", "chess_task"): [0, 5, 5, 5],
        ("model-a", "K-3_raven_data-generator", "raven_task"): [3, 3],
        ("model-b", "G-2_maze_data-generator", "maze_task"): [1, 2, 3, 4, 5, 5],
        ("model-b", "plain", "rotation_task"): [4, 4, 4],
    }
    if fractional:
        scores = {
            ("model-c", "G-1_maze_data-generator", "maze_task"): [4.5, 3, 5, 4.0, 2.5],
            ("model-c", "G-3_chess_data-generator", "chess_task"): [2, 4],
        }
    for (model, generator, task), values in scores.items():
        for k, score in enumerate(values):
            files[f"{model}/{generator}/{task}/{task}_{k:04d}/GPT4OEvaluator.json"] = result(
                score, "x" * (150 if k == 0 else 20)
            )
    if fractional:
        return files
    skipped = {"error": "No ground truth final frame available", "status": "skipped"}
    files["model-b/plain/rotation_task/rotation_task_0009/GPT4OEvaluator.json"] = {
        "metadata": {},
        "result": skipped,
    }
    files["model-a/K-3_raven_data-generator/raven_task/raven_task_0007/GPT4OEvaluator.json"] = (
        result(...)
    )
    return files


def _load(upstream: Path) -> types.ModuleType:
    os.environ.setdefault("OPENAI_API_KEY", "dummy-key-no-request-is-sent")
    package = types.ModuleType("vmevalkit")
    package.__path__ = [str(upstream / "vmevalkit")]
    sys.modules["vmevalkit"] = package
    return importlib.import_module("vmevalkit.eval")


def _png(array: np.ndarray) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def _question_dir(root: Path) -> Path:
    """`<task>/question/{first_frame,final_frame}.png, prompt.txt` and `<task>/video/` (upstream
    finds the question two levels above the video)."""
    question = root / "task" / "question"
    question.mkdir(parents=True)
    (question / "first_frame.png").write_bytes(_png(np.zeros((8, 8, 3), np.uint8)))
    (question / "final_frame.png").write_bytes(_png(np.full((8, 8, 3), 200, np.uint8)))
    (question / "prompt.txt").write_text("Solve the maze.")
    video_dir = root / "task" / "video"
    video_dir.mkdir(parents=True)
    return video_dir


def _outcome(coroutine: Any) -> dict[str, Any]:
    try:
        return {"result": asyncio.run(coroutine)}
    except Exception as err:  # upstream raises for a reply it cannot read: record which
        return {"raised": type(err).__name__}


def run_replies(ev: Any, root: Path) -> list[dict[str, Any]]:
    gpt4o = importlib.import_module("vmevalkit.eval.gpt4o_eval")
    multi = importlib.import_module("vmevalkit.eval.multiframe_eval")
    video_dir = _question_dir(root)
    video = video_dir / "out.mp4"
    video.write_bytes(b"")  # never opened: the final frame is supplied below
    rows = []
    for reply in REPLIES:
        evaluator = gpt4o.GPT4OEvaluator(inference_dir=str(root), eval_output_dir=str(root / "e"))
        seen: list[Any] = []

        async def answer(messages: Any, text: Any = reply, seen: Any = seen) -> dict[str, Any]:
            seen.append(messages)
            return {"choices": [{"message": {"content": text}}]}

        evaluator.call_gpt4o = answer
        evaluator.extract_final_frame = lambda _path: np.full((8, 8, 3), 100, np.uint8)
        single = _outcome(evaluator.evaluate_single_async("m", "maze_task", "t0", str(video)))
        wrapper = multi.MultiFrameEvaluator(evaluator, output_dir=str(root / "mf"))
        frame = _outcome(
            wrapper.evaluate_frame_async(
                np.full((8, 8, 3), 100, np.uint8),
                "maze_task",
                video_dir.parent / "question" / "first_frame.png",
                video_dir.parent / "question" / "final_frame.png",
                "Solve the maze.",
            )
        )
        texts = [[part["text"] for part in m[1]["content"] if part["type"] == "text"] for m in seen]
        rows.append({"reply": reply, "single": single, "frame": frame, "user_texts": texts})
    return rows


TASK_TYPES = (
    "chess_task", "maze_task", "rotation_task", "raven_task", "sudoku_task",
    "counting_objects_task", "letter_counting_task", "subway_pathfinding_task",
    "object_subtraction_task", "majority_color_task", "grid_shift_task",
    "object_permanence_task", "light_sequence_task", "tower_of_hanoi_task", "dice_2d_task",
    "symmetry_completion_task", "nonogram_task", "sequence_completion_task", "unknown_task", "",
)  # fmt: skip


def run_prompts(root: Path) -> dict[str, str]:
    """The judge's system prompt per task type (`create_prompt`), unknown types included."""
    gpt4o = importlib.import_module("vmevalkit.eval.gpt4o_eval")
    evaluator = gpt4o.GPT4OEvaluator(inference_dir=str(root), eval_output_dir=str(root / "p"))
    return {t: evaluator.create_prompt(t) for t in TASK_TYPES}


def run_voting(ev: Any) -> list[dict[str, Any]]:
    rows = []
    for scores, weights in VOTES:
        for method in METHODS:
            aggregator = ev.VotingAggregator(method=ev.VotingMethod(method))
            try:
                got = aggregator.aggregate_from_raw(list(scores), weights)
                outcome: dict[str, Any] = {
                    "final_score": got.final_score,
                    "confidence": got.confidence,
                    "agreement_ratio": got.agreement_ratio,
                    "needs_review": got.needs_review,
                    "method_used": got.method_used,
                    "vote_distribution": [[k, v] for k, v in got.vote_distribution.items()],
                    "normalised_weights": [d["weight"] for d in got.frame_details],
                }
            except Exception as err:
                outcome = {"raised": type(err).__name__}
            rows.append({"scores": scores, "weights": weights, "method": method, **outcome})
    return rows


def _encode_frames(frames: list[np.ndarray]) -> list[dict[str, Any]]:
    return [
        {"shape": list(f.shape), "data": base64.b64encode(f.tobytes()).decode()} for f in frames
    ]


def run_consistency(ev: Any) -> list[dict[str, Any]]:
    rows = []
    for case in consistency_cases():
        for metric in ("histogram", "ssim", "mse", "combined"):
            for temporal in (0.3, 0.0, 1.0):
                analyzer = ev.FrameConsistencyAnalyzer(metric=metric, temporal_weight=temporal)
                got = analyzer.analyze(case["frames"])
                rows.append(
                    {
                        "name": case["name"],
                        "metric": metric,
                        "temporal_weight": temporal,
                        "stability_score": got.stability_score,
                        "weights": list(got.weights),
                        "outlier_indices": list(got.outlier_indices),
                        "mean_similarity": got.mean_similarity,
                        "std_similarity": got.std_similarity,
                        "pairwise": np.asarray(got.pairwise_similarity).tolist(),
                    }
                )
    return rows


def _sampled(frames: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "index": f.frame_index,
            "timestamp": f.timestamp,
            "is_keyframe": f.is_keyframe,
            "sha256": hashlib.sha256(np.ascontiguousarray(f.image).tobytes()).hexdigest(),
        }
        for f in frames
    ]


def run_sampling(ev: Any, root: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    videos, rows = [], []
    for index, case in enumerate(video_cases()):
        path = root / f"video{index}.mp4"
        _video(path, case["frames"], case["fps"])
        videos.append({"name": case["name"], "mp4": base64.b64encode(path.read_bytes()).decode()})
        for strategy in ("uniform", "keyframe", "hybrid"):
            for n in (5, 3, 8):
                sampler = ev.FrameSampler(n_frames=n, last_seconds=3.0)
                got = sampler.sample(str(path), n_frames=n, last_seconds=3.0, strategy=strategy)
                rows.append({"video": index, "strategy": strategy, "n": n, "frames": _sampled(got)})
    return videos, rows


#: per sampled frame (in order), the judge's reply in the end-to-end multi-frame runs
MULTIFRAME_SCRIPTS: list[list[str]] = [
    [
        '{"solution_correctness_score": 4, "explanation": "a"}',
        "no json here",
        '{"solution_correctness_score": 5, "explanation": "b"}',
        '{"solution_correctness_score": 4}',
        '{"solution_correctness_score": 2, "explanation": "c"}',
    ],
    ["garbage"] * 5,
    ['{"solution_correctness_score": 3}'] * 5,
]


def run_multiframe(ev: Any, root: Path, videos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    gpt4o = importlib.import_module("vmevalkit.eval.gpt4o_eval")
    multi = importlib.import_module("vmevalkit.eval.multiframe_eval")
    rows = []
    for script_index, script in enumerate(MULTIFRAME_SCRIPTS):
        for method in ("weighted_majority", "weighted_average"):
            base = root / f"mf{script_index}{method}"
            video_dir = _question_dir(base)
            video = video_dir / "out.mp4"
            video.write_bytes(base64.b64decode(videos[0]["mp4"]))
            evaluator = gpt4o.GPT4OEvaluator(inference_dir=str(base), eval_output_dir=str(base))
            replies = iter(script)

            async def answer(_messages: Any, replies: Any = replies) -> dict[str, Any]:
                return {"choices": [{"message": {"content": next(replies)}}]}

            evaluator.call_gpt4o = answer
            wrapper = multi.MultiFrameEvaluator(
                evaluator, output_dir=str(base / "out"), voting_method=method
            )
            got = asyncio.run(wrapper.evaluate_single_async("m", "maze_task", "t0", str(video)))
            got.pop("config", None)
            rows.append({"video": 0, "script": script, "voting_method": method, "result": got})
    return rows


def run_summary(root: Path, fractional: bool = False) -> dict[str, Any]:
    gpt4o = importlib.import_module("vmevalkit.eval.gpt4o_eval")
    files = summary_files(fractional)
    out = root / "evaluations"
    for rel, content in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(content))
    evaluator = gpt4o.GPT4OEvaluator(inference_dir=str(root), eval_output_dir=str(out))
    summary = evaluator._rebuild_summary_from_files()
    summary["metadata"].pop("timestamp", None)
    return {"files": files, "upstream": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=Path, required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args()
    ev = _load(args.upstream)
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        replies = run_replies(ev, root / "replies")
        prompts = run_prompts(root / "prompts")
        videos, sampling = run_sampling(ev, root)
        multiframe = run_multiframe(ev, root / "multi", videos)
        summary = [run_summary(root / "summary"), run_summary(root / "fractional", True)]
    fixture = {
        "upstream": UPSTREAM,
        "commit": args.commit,
        "command": f"python tests/parity/vmeval_upstream.py --upstream DIR --commit {args.commit}",
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "replies": replies,
        "prompts": prompts,
        "voting": run_voting(ev),
        "consistency_frames": {
            case["name"]: _encode_frames(case["frames"]) for case in consistency_cases()
        },
        "consistency": run_consistency(ev),
        "videos": videos,
        "sampling": sampling,
        "multiframe": multiframe,
        "summary": summary,
    }
    args.out.write_text(json.dumps(fixture, indent=1) + "\n", encoding="utf-8")
    print(
        f"wrote {args.out}: "
        + ", ".join(
            f"{k} {len(fixture[k])}"
            for k in ("replies", "voting", "consistency", "sampling", "multiframe")
        )
    )


if __name__ == "__main__":
    main()
