"""Upstream's voting over per-frame judge scores (VMEvalKit `VotingAggregator`), exactly.

Weights are normalised to sum 1 (equal when they sum to 0). Rules:
- `majority`: the most frequent score (the first seen on a tie, as `Counter.most_common`);
- `weighted_majority` (default): the score with the largest summed weight (first seen on a tie);
- `weighted_average`: `int(round(sum(s * w) / sum(w)))` (Python's round: half to even) clamped
  to 1-5;
- `max_score`, `min_score`; `median`: `int(numpy.median(scores))` (truncated).

agreement = share of frames whose score equals the final score; confidence =
0.6 * winner share + 0.4 * (top - second) / total over the weighted vote distribution (margin 1
with a single score value; the winner's share is 0 when the final score got no vote, as can
happen with `weighted_average`), clipped to [0, 1]; `needs_review` when confidence < 0.6 or
agreement < 0.4.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RULES = ("majority", "weighted_majority", "weighted_average", "max_score", "min_score", "median")
CONFIDENCE_THRESHOLD = 0.6
MIN_AGREEMENT = 0.4


@dataclass(frozen=True)
class Vote:
    final_score: float
    confidence: float
    agreement: float
    needs_review: bool
    rule: str
    distribution: dict[float, float]
    weights: list[float]


def normalise(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    if total > 0:
        return [w / total for w in weights]
    return [1.0 / len(weights)] * len(weights)


def distribution(scores: Sequence[float], weights: Sequence[float]) -> dict[float, float]:
    votes: dict[float, float] = defaultdict(float)
    for score, weight in zip(scores, weights, strict=True):
        votes[score] += weight
    return dict(votes)


def final_score(rule: str, scores: Sequence[float], weights: Sequence[float]) -> float:
    if rule == "majority":
        return Counter(scores).most_common(1)[0][0]
    if rule == "weighted_majority":
        votes = distribution(scores, weights)
        return max(votes, key=lambda s: votes[s])
    if rule == "weighted_average":
        total = sum(weights)
        average = sum(s * w for s, w in zip(scores, weights, strict=True)) / total if total else 0
        return max(1, min(5, round(average)))  # Python round: half to even, as upstream
    if rule == "max_score":
        return max(scores)
    if rule == "min_score":
        return min(scores)
    if rule == "median":
        return int(np.median(scores))
    raise ValueError(f"unknown voting rule {rule!r}; use one of {RULES}")


def confidence(votes: dict[float, float], final: float) -> float:
    if not votes:
        return 0.0
    total = sum(votes.values())
    share = votes.get(final, 0) / total if total > 0 else 0
    ranked = sorted(votes.values(), reverse=True)
    margin = (ranked[0] - ranked[1]) / total if len(ranked) >= 2 else 1.0
    return float(np.clip(0.6 * share + 0.4 * margin, 0, 1))


def vote(
    scores: Sequence[float],
    weights: Sequence[float] | None = None,
    rule: str = "weighted_majority",
    confidence_threshold: float = CONFIDENCE_THRESHOLD,
    min_agreement: float = MIN_AGREEMENT,
) -> Vote:
    if not scores:
        return Vote(0, 0.0, 0.0, True, "none", {}, [])
    norm = normalise(list(weights) if weights is not None else [1.0] * len(scores))
    votes = distribution(scores, norm)
    final = final_score(rule, scores, norm)
    agreement = list(scores).count(final) / len(scores)
    conf = confidence(votes, final)
    return Vote(
        final_score=final,
        confidence=conf,
        agreement=agreement,
        needs_review=conf < confidence_threshold or agreement < min_agreement,
        rule=rule,
        distribution=votes,
        weights=norm,
    )
