"""The published V-SYNC Level 2 / Level 3 metrics (SocialOmni's protocol), as pure functions.

Level 2 "when" (YES = option A, NO = option B; an unreadable answer is a prediction of neither):
- accuracy: right answers over all items (an extraction failure is wrong);
- precision / recall / F1 of YES, and of NO; macro-F1 = the mean of the two F1s (a ratio with a
  zero denominator is 0, as upstream computes it);
- extraction failures: the count of unreadable answers;
- baselines on the same items: *always-yes* (every answer YES) and *majority* (every answer the
  items' majority class; a tie answers YES).

Level 3 "how" over the YES items, with `quality` the mean over judges of the 0-100 scores:
- QGold: mean quality over all YES items (generation forced even where "when" said NO; an item
  without a usable answer counts 0);
- QEns: mean quality over the *covered* items: "when" predicted YES and the answer is non-empty;
- Cov+: covered items over YES items, in percent;
- QEns_joint = QEns x Cov+ / 100 (a missed YES contributes zero);
- zeros: how many YES items scored 0. Zeros count in every mean.
- parity switch `positive_only`: one upstream script (SocialOmni's Level 2 pipeline) averages
  only scores above 0; `upstream_q2_avg` reproduces that number, labelled as the bug it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class WhenMetrics:
    total: int
    correct: int
    accuracy: float
    macro_f1: float
    yes_precision: float
    yes_recall: float
    yes_f1: float
    no_precision: float
    no_recall: float
    no_f1: float
    extraction_failures: int
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _class_scores(
    gold: Sequence[bool], pred: Sequence[bool | None], label: bool
) -> tuple[float, ...]:
    tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
    fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
    fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return precision, recall, _ratio(2 * precision * recall, precision + recall), tp, fp, fn


def when_metrics(gold: Sequence[bool], pred: Sequence[bool | None]) -> WhenMetrics:
    """Level 2 metrics of predictions (True = YES, False = NO, None = unreadable)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    yes_p, yes_r, yes_f1, tp, fp, fn = _class_scores(gold, pred, True)
    no_p, no_r, no_f1, tn, _, _ = _class_scores(gold, pred, False)
    correct = sum(g == p for g, p in zip(gold, pred, strict=True))
    return WhenMetrics(
        total=len(gold),
        correct=correct,
        accuracy=_ratio(correct, len(gold)),
        macro_f1=(yes_f1 + no_f1) / 2,
        yes_precision=yes_p,
        yes_recall=yes_r,
        yes_f1=yes_f1,
        no_precision=no_p,
        no_recall=no_r,
        no_f1=no_f1,
        extraction_failures=sum(p is None for p in pred),
        true_positive=int(tp),
        false_positive=int(fp),
        false_negative=int(fn),
        true_negative=int(tn),
    )


def always_yes(gold: Sequence[bool]) -> WhenMetrics:
    return when_metrics(gold, [True] * len(gold))


def majority(gold: Sequence[bool]) -> WhenMetrics:
    """Every answer the majority class of `gold` (YES on a tie)."""
    yes = sum(gold) >= len(gold) - sum(gold)
    return when_metrics(gold, [yes] * len(gold))


@dataclass(frozen=True)
class HowItem:
    """One YES item: the mean judge quality of its answer (None: no usable answer, scored 0),
    and whether "when" predicted YES for it."""

    quality: float | None
    predicted_yes: bool


@dataclass(frozen=True)
class HowMetrics:
    positives: int
    covered: int
    qgold: float
    qens: float | None
    cov_plus: float
    qens_joint: float
    zeros: int
    #: parity only: upstream's mean over covered scores above 0 (a bug; None unless asked)
    upstream_q2_avg: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def how_metrics(items: Sequence[HowItem], positive_only: bool = False) -> HowMetrics:
    """Level 3 aggregates over the YES items (see the module doc); `positive_only` adds the
    upstream number that averages only scores above 0, labelled `upstream_q2_avg`."""
    scores = [item.quality if item.quality is not None else 0.0 for item in items]
    covered = [
        s
        for s, item in zip(scores, items, strict=True)
        if item.predicted_yes and item.quality is not None
    ]
    qens = sum(covered) / len(covered) if covered else None
    cov_plus = 100.0 * _ratio(len(covered), len(items))
    upstream: float | None = None
    if positive_only:
        above = [s for s in covered if s > 0]
        upstream = sum(above) / len(above) if above else 0.0
    return HowMetrics(
        positives=len(items),
        covered=len(covered),
        qgold=_ratio(sum(scores), len(scores)),
        qens=qens,
        cov_plus=cov_plus,
        qens_joint=(qens or 0.0) * cov_plus / 100.0,
        zeros=sum(s == 0 for s in scores),
        upstream_q2_avg=upstream,
    )


__all__ = [
    "HowItem",
    "HowMetrics",
    "WhenMetrics",
    "always_yes",
    "how_metrics",
    "majority",
    "when_metrics",
]
