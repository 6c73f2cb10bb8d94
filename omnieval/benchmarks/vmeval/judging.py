"""Upstream's two judge protocols as journaled judge trials (role `grader`).

- single-frame: the video's last frame is judged once against the first and expected final
  frames (upstream's `GPT4OEvaluator`);
- multi-frame: frames sampled from the video's tail (omnieval.benchmarks.vmeval.sampling) are
  weighted by their consistency (…consistency), each is judged with the same three-image prompt
  ("Actual frame from video"), and the scores are voted (…voting), as upstream's
  `MultiFrameEvaluator`. A frame whose judge call fails or whose reply does not parse is left out
  of the vote (upstream does the same); if every frame fails the trial is a scoring error.

Every judge call goes through `judges.ask`, so it is keyed, journaled and never asked twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnieval.benchmarks.vmeval.consistency import analyze
from omnieval.benchmarks.vmeval.judge_prompt import (
    FINAL_LABEL,
    FRAME_LABEL,
    JUDGE_PROMPT_VERSION,
    VerdictParseError,
    judge_request,
    parse_verdict,
)
from omnieval.benchmarks.vmeval.sampling import sample_video
from omnieval.benchmarks.vmeval.video import last_frames
from omnieval.benchmarks.vmeval.voting import vote
from omnieval.media.encode import encode_png
from omnieval.scoring.judging import JudgeClient
from omnieval.types import ImagePart, TrialContext

if TYPE_CHECKING:
    from omnieval.benchmarks.vmeval.layout import Question
    from omnieval.benchmarks.vmeval.task import VMEvalTask

ROLE = "grader"


@dataclass
class JudgeOutcome:
    values: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _first_frame(ctx: TrialContext, question: Question) -> Path:
    part = ctx.sample.parts[0]
    if isinstance(part, ImagePart) and part.path is not None:
        return part.path  # the real PNG (an SVG input converted in the cache)
    return question.first_image


async def _ask(
    ctx: TrialContext, question: Question, png: bytes, label: str, judges: JudgeClient
) -> tuple[float, Any] | str:
    """(score, explanation), or the error text."""
    assert question.final_image is not None
    request = judge_request(
        question.task_type, question.prompt, _first_frame(ctx, question), question.final_image,
        png, label,
    )
    response = await judges.ask(ROLE, ctx.trial.key, request, JUDGE_PROMPT_VERSION)
    if response.failed:
        return f"the judge failed: {response.error}"
    try:
        verdict = parse_verdict(response.text)
    except VerdictParseError as err:
        return str(err)
    return verdict.score, verdict.explanation


async def judge_single(
    task: VMEvalTask, ctx: TrialContext, question: Question, video: Path, judges: JudgeClient
) -> JudgeOutcome:
    frames = await asyncio.to_thread(last_frames, video, 1)
    answer = await _ask(ctx, question, encode_png(frames[-1]), FINAL_LABEL, judges)
    if isinstance(answer, str):
        return JudgeOutcome(error=answer, detail={"protocol": "single", "error": answer})
    score, explanation = answer
    return JudgeOutcome(
        values={"judge_score": float(score), "judge_success": 1.0 if score >= 4 else 0.0},
        detail={
            "protocol": "single",
            "solution_correctness_score": score,
            "explanation": explanation,
            "evaluation_type": "final_frame_comparison",
        },
    )


async def judge_multiframe(
    task: VMEvalTask, ctx: TrialContext, question: Question, video: Path, judges: JudgeClient
) -> JudgeOutcome:
    mf = task.multiframe
    sampled = await asyncio.to_thread(
        sample_video, video, mf.n_frames, mf.last_seconds, mf.strategy
    )
    if not sampled:
        return JudgeOutcome(error="no frames could be sampled", detail={"protocol": "multiframe"})
    consistency = await asyncio.to_thread(
        analyze, [f.image for f in sampled], mf.metric, mf.temporal_weight
    )
    answers = await asyncio.gather(
        *(_ask(ctx, question, encode_png(f.image), FRAME_LABEL, judges) for f in sampled)
    )
    scores: list[float] = []
    weights: list[float] = []
    frames: list[dict[str, Any]] = []
    for frame, weight, answer in zip(sampled, consistency.weights, answers, strict=True):
        row: dict[str, Any] = {
            "frame_index": frame.index,
            "timestamp": frame.timestamp,
            "is_keyframe": frame.is_keyframe,
            "weight": weight,
        }
        if isinstance(answer, str):
            row.update(status="failed", error=answer)
        else:
            scores.append(answer[0])
            weights.append(weight)
            row.update(status="completed", score=answer[0], explanation=answer[1])
        frames.append(row)
    detail: dict[str, Any] = {
        "protocol": "multiframe",
        "config": mf.as_dict(),
        "frame_results": frames,
        "consistency": {
            "mean_similarity": consistency.mean_similarity,
            "std_similarity": consistency.std_similarity,
            "outlier_indices": consistency.outliers,
            "stability_score": consistency.stability,
        },
    }
    if not scores:
        return JudgeOutcome(error="all frame evaluations failed", detail=detail)
    result = vote(scores, weights, mf.voting, mf.confidence_threshold)
    detail.update(
        final_score=result.final_score,
        confidence=result.confidence,
        agreement_ratio=result.agreement,
        needs_review=result.needs_review,
        voting_method=result.rule,
        vote_distribution={str(k): v for k, v in result.distribution.items()},
    )
    return JudgeOutcome(
        values={
            "judge_score": float(result.final_score),
            "judge_success": 1.0 if result.final_score >= 4 else 0.0,
            "judge_confidence": result.confidence,
            "judge_stability": consistency.stability,
            "needs_review": 1.0 if result.needs_review else 0.0,
        },
        detail=detail,
    )
