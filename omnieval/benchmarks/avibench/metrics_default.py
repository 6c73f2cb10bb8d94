"""The corrected default scoring: upstream's formulas on the rule extraction's structured
answer, with upstream's bugs fixed. Every difference from parity is listed in docs/avibench.md:

- QA: the extracted option (or number) against the label, case-insensitively;
- AVSQA: the set of chosen options (duplicates ignored) equals the set of labels;
- AMIC/VMIC: no answer is skipped for being long; class names compared lower-cased; a count
  that is not a number costs tau like a missing class (upstream charges every true count);
- AVL: an unparseable answer has an instance error of every true instance (not 0);
- VAR/AVR: R@k on the model's ranked list (order kept, duplicates dropped), not the sorted set;
- AVLG: "no object" (None, null, []) stays "no object"; boxes in 0-1000 or pixel units are
  recognised as for AVL; an unparseable answer scores 0 on every frame;
- AVC: an empty caption scores 0 instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omnieval.benchmarks.avibench.metrics_parity import (
    MIC_CAP,
    MIC_TAU,
    avl_match,
    iou_xyxy,
    mean,
    retrieval_item,
    scale_box,
    xywh_to_xyxy,
)


def choice_correct(answer: Any, label: str) -> float:
    if answer is None:
        return 0.0
    return 1.0 if str(answer).strip().lower() == label.strip().lower() else 0.0


def multi_correct(answer: Any, label: str) -> float:
    if not answer:
        return 0.0
    gold = {s.strip().lower() for s in label.split(";") if s.strip()}
    return 1.0 if set(answer) == gold else 0.0


def mic_item(task: str, answer: dict[str, int] | None, gold: dict[str, int]) -> dict[str, float]:
    """Semantic score and count error of one AMIC/VMIC item from the parsed counts."""
    truth = {k.strip().lower(): v for k, v in gold.items()}
    if answer is None:
        return {
            "semantic": 0.0,
            "count_error": min(mean([float(v) for v in truth.values()]), MIC_CAP),
        }
    guess = set(answer)
    if task == "AMIC":
        denominator = len(guess) + len(truth)
        semantic = 2 * len(guess & set(truth)) / denominator if denominator else 0.0
    else:
        semantic = len(guess & set(truth)) / len(truth) if truth else 0.0
    errors: list[float] = []
    for key, count in truth.items():
        if key not in answer:
            errors.append(float(MIC_TAU[task]))
            continue
        err = float(abs(answer[key] - count))
        if task == "VMIC" and answer[key] >= 10 and count >= 10:
            err = 0.0
        errors.append(err)
    return {"semantic": semantic, "count_error": min(mean(errors), MIC_CAP) if errors else 0.0}


def avl_item(answer: dict[str, list[float]] | None, gold: dict[str, Any]) -> dict[str, float]:
    if not answer:
        return {"iou": 0.0, "semantic_f1": 0.0, "instance_error": float(len(gold["bbox"]))}
    return avl_match(answer, gold)


def retrieval(answer: Sequence[int] | None, gold: Sequence[int]) -> dict[str, float]:
    """Rank-aware R@1 / R@3 (a relevant index among the model's first k), set F1."""
    return retrieval_item(list(answer or []), gold)


def avlg_item(answer: dict[str, list[float] | None] | None, gold: dict[str, Any]) -> float:
    """Mean per-frame IoU; "no object" matches "no object"; unparseable scores 0."""
    frames: dict[str, Any] = gold["bbox"]
    if answer is None:
        return 0.0
    width, height = gold["original_wh"]
    total = 0.0
    for key, true_box in frames.items():
        present = key in answer
        guess = answer.get(key)
        if true_box is None:
            total += 1.0 if (present and guess is None) or not present else 0.0
        elif guess is not None:
            total += iou_xyxy(xywh_to_xyxy(true_box), scale_box(guess, width, height))
    return total / len(frames) if frames else 0.0
