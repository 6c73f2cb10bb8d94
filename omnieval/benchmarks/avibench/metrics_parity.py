"""Upstream's scoring (`eval/eval.py` + `level_metrics`, commit 2ba4eb0b), quirks included.

Each function reads the prediction *string* (raw or refined) exactly as upstream's scorer does
and returns the per-item parts; the corpus functions combine them as upstream does (and round
to five decimals where upstream rounds). Quirks kept on purpose (the docs list them):
- predictions of 300 characters or more are skipped by AMIC/VMIC (in neither part);
- an unparseable AVL answer adds IoU 0, F1 0 and an instance error of 0 (favourable);
- retrieval indices are sorted and de-duplicated through a set, so R@k ignores the model's
  ranking (and follows the set's iteration order);
- AVLG reads the whole string as a Python literal: an `answer=` prefix makes it unparseable,
  which still scores 1 on every frame whose truth is "no object"; an empty list is not "no
  object";
- empty captions are dropped from the caption score.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from omnieval.benchmarks.avibench.extract import clean_symbols, earliest_options

LONG_ANSWER = 300
MIC_TAU = {"AMIC": 7, "VMIC": 12}
MIC_SLOPE = 0.3
MIC_CAP = 20.0


def iou_xyxy(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two [x1, y1, x2, y2] boxes; 0 when the union is 0. Reversed boxes are not fixed
    (their negative areas pass through, as upstream's helper lets them)."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return 0.0 if union == 0 else inter / float(union)


def xywh_to_xyxy(box: Sequence[float]) -> list[float]:
    return [box[0], box[1], box[0] + box[2], box[1] + box[3]]


def tanh_score(rmse: float, slope: float) -> float:
    """1 - tanh(slope * rmse): 1 for no error, toward 0 for large errors (numpy's tanh, as
    upstream; a NaN rmse fails upstream's `rmse >= 0` check and scores 0)."""
    return float(1.0 - np.tanh(slope * rmse)) if rmse >= 0 else 0.0


def rmse(errors: Sequence[float]) -> float:
    """numpy's sqrt(mean(square)), summed in numpy's (pairwise) order as upstream."""
    if not errors:
        return float("nan")
    return float(np.sqrt(np.mean(np.square(np.asarray(errors, dtype=float)))))


def mean(values: Sequence[float]) -> float:
    """numpy's mean (pairwise summation beyond 8 values), as upstream's `np.mean`."""
    return float(np.mean(np.asarray(values, dtype=float))) if values else float("nan")


# --------------------------------------------------------------------------- QA


def full_match(text: str, label: Any, options: Any) -> float:
    """`eval_full_match_acc` for one item: the earliest option in the cleaned prediction, then
    string equality with the label, or the first integer for a digit label."""
    pred = clean_symbols(text)
    gold = f"{label}"
    if options is not None and options != "":
        matched = earliest_options(options, pred)
        if matched:
            pred = matched[0]
    if pred == gold:
        return 1.0
    if gold.isdigit():
        number = re.search(r"\d+", pred)
        if f"{number.group(0) if number else None}" == gold:
            return 1.0
    return 0.0


def multi_match(text: str, label: Any) -> float:
    """`eval_avsqa` for one item: ';'-split, '*' and '#' dropped, lower-cased, sorted lists."""
    gold = sorted(s.strip() for s in f"{label}".lower().strip().split(";"))
    pred = text.replace("<|endoftext|>", "").replace("*", "").replace("#", "")
    guess = sorted(s.strip() for s in pred.lower().strip().split(";"))
    return 1.0 if guess == gold else 0.0


# --------------------------------------------------------------------------- counting


def mic_item(task: str, text: str, gold: dict[str, int]) -> dict[str, float]:
    """The semantic score and the count error of one AMIC/VMIC item (a part is absent when
    upstream skips the item for it: a prediction of 300 characters or more)."""
    values: dict[str, float] = {}
    s = text.replace("<|endoftext|>", "").lstrip()
    if s.lower().startswith("answer="):
        s = s.split("=", 1)[1].lstrip()
    s = s.replace("'", '"')
    pred: Any = s
    if len(s) < LONG_ANSWER:
        try:
            pred = json.loads(s)
            pred_keys = set(pred.keys())
            truth = set(gold)
            if task == "AMIC":
                both = len(pred_keys & truth)
                denominator = len(pred_keys) + len(truth)
                values["semantic"] = 2 * both / denominator if denominator else 0.0
            else:
                values["semantic"] = len(pred_keys & truth) / len(truth) if truth else 0.0
        except Exception:
            values["semantic"] = 0.0
    if len(f"{_py_str(pred)}") >= LONG_ANSWER:
        return values
    errors: list[float] = []
    tau = MIC_TAU[task]
    try:
        parsed = json.loads(f"{_py_str(pred)}".replace("'", '"'))
        for key in gold:
            if key in parsed:
                guess = int(parsed[key])
                err = float(abs(guess - int(gold[key])))
                if task == "VMIC" and guess >= 10 and int(gold[key]) >= 10:
                    err = 0.0
            else:
                err = float(tau)
            errors.append(err)
    except Exception:
        errors += [float(int(gold[key])) for key in gold]
    values["count_error"] = min(mean(errors), MIC_CAP)
    return values


def _py_str(value: Any) -> str:
    """`f'{value}'` as upstream formats a parsed JSON value (Python's repr for containers)."""
    return f"{value}"


def mic_corpus(items: Sequence[dict[str, float]]) -> dict[str, float]:
    """Semantic, Instance (counting) and Average over the items, rounded as upstream."""
    semantic = mean([v["semantic"] for v in items if "semantic" in v])
    errors = [v["count_error"] for v in items if "count_error" in v]
    counting = tanh_score(rmse(errors), MIC_SLOPE)
    if semantic == 0:
        counting = 0.0
    average = (semantic + counting) / 2
    return {
        "Average": round(average, 5),
        "Semantic": round(semantic, 5),
        "Instance": round(counting, 5),
    }


# --------------------------------------------------------------------------- AVL


def semantic_type(label: str) -> str:
    """`person_1` -> `person`; a label without a numeric suffix is itself (lower-cased)."""
    head, sep, tail = label.rpartition("_")
    if sep and re.match(r"^\d+$", tail):
        return head.lower()
    return label.lower()


def parity_box(raw: Any) -> list[float] | None:
    if isinstance(raw, str):
        try:
            raw = ast.literal_eval(raw)
        except Exception:
            return None
    try:
        box = [float(b) for b in raw]
    except Exception:
        return None
    return box if len(box) == 4 else None


def scale_box(box: Sequence[float], width: float, height: float) -> list[float]:
    """A predicted box in pixels: 0-1000 boxes (max in (1.5, 1001]) are divided by 1000; a box
    still above 1.5 is taken as pixels; otherwise normalised, times W and H."""
    top = max(abs(v) for v in box)
    if 1.5 < top <= 1001:
        box = [v / 1000.0 for v in box]
        top = max(abs(v) for v in box)
    if top > 1.5:
        return list(box)
    x1, y1, x2, y2 = box
    return [x1 * width, y1 * height, x2 * width, y2 * height]


def avl_match(pred: dict[Any, Any], gold: dict[str, Any]) -> dict[str, float]:
    """Greedy same-class matching (best IoU > 0 per truth box, in the truth's order)."""
    width, height = gold["original_wh"]
    truths: dict[str, Any] = gold["bbox"]
    used: set[Any] = set()
    total = 0.0
    matched = 0
    for true_key, true_box in truths.items():
        kind = semantic_type(true_key)
        target = xywh_to_xyxy(true_box)
        best, best_key = 0.0, None
        for key, raw in pred.items():
            if semantic_type(str(key)) != kind or key in used:
                continue
            box = parity_box(raw)
            if box is None:
                continue
            value = iou_xyxy(scale_box(box, width, height), target)
            if value > best:
                best, best_key = value, key
        if best > 0 and best_key:  # upstream tests the key's truth: a key "" never matches
            used.add(best_key)
            matched += 1
            total += best
    true_kinds = {semantic_type(k) for k in truths}
    pred_kinds = {semantic_type(str(k)) for k in pred}
    denominator = len(true_kinds) + len(pred_kinds)
    f1 = 2 * len(true_kinds & pred_kinds) / denominator if denominator else 0.0
    return {
        "iou": total / (len(truths) + 0.00001),
        "semantic_f1": f1,
        "instance_error": float(len(truths) - matched),
    }


def avl_item(text: str, gold: dict[str, Any]) -> dict[str, float]:
    try:
        pred = ast.literal_eval(text.replace("<|endoftext|>", ""))
        if not isinstance(pred, dict):
            raise ValueError("not a dict")
    except Exception:
        return {"iou": 0.0, "semantic_f1": 0.0, "instance_error": 0.0}
    return avl_match(pred, gold)


def avl_corpus(items: Sequence[dict[str, float]]) -> dict[str, float]:
    miou = mean([v["iou"] for v in items])
    semantic = mean([v["semantic_f1"] for v in items])
    instance = tanh_score(rmse([v["instance_error"] for v in items]), 1.0)
    if semantic == 0:
        instance = 0.0
    return {
        "Average": round(0.7 * miou + 0.3 * instance, 5),
        "mIoU": round(miou, 5),
        "Instance": round(instance, 5),
    }


# --------------------------------------------------------------------------- retrieval


def retrieval_list(text: str) -> list[int]:
    """Upstream's reading: punctuation dropped, split on spaces, digit tokens, sorted, then
    de-duplicated through a set (so the order is the set's)."""
    tokens = clean_symbols(text).replace("\n", " ").split(" ")
    return list(set(sorted(int(t) for t in tokens if t.isdigit())))


def set_f1(pred: Sequence[int], gold: Sequence[int]) -> float:
    guess, truth = set(pred), set(gold)
    if not guess and not truth:
        return 1.0
    if not guess or not truth:
        return 0.0
    hits = len(guess & truth)
    if hits == 0:
        return 0.0
    precision, recall = hits / len(guess), hits / len(truth)
    return 2 * precision * recall / (precision + recall)


def retrieval_item(pred: Sequence[int], gold: Sequence[int]) -> dict[str, float]:
    """R@1, R@3 (any of the first k in the truth), set F1 and the confidence weight."""
    truth = set(gold)
    return {
        "r1": 1.0 if any(p in truth for p in pred[:1]) else 0.0,
        "r3": 1.0 if any(p in truth for p in pred[:3]) else 0.0,
        "f1": set_f1(pred, gold),
        "confidence": 0.3 if len(pred) > 6 else 1.0,
    }


REPEAT_TAU = 0.8


def retrieval_corpus(
    items: Sequence[dict[str, float]], predictions: Sequence[Sequence[int]], rounded: bool = True
) -> dict[str, float]:
    """Average = ((R@1 + R@3)/2 + F1)/2, each scaled by the mean confidence and the repeat
    penalty 1 - (max(0.8, repeat rate) - 0.8), repeat rate = share of repeated answer lists."""
    n = len(items)
    distinct = {tuple(pred) for pred in predictions}  # equal lists = equal tuples
    repeat = max(REPEAT_TAU, (n - len(distinct)) / n)
    penalty = 1 - (repeat - REPEAT_TAU)
    confidence = mean([v["confidence"] for v in items])

    def done(values: list[float]) -> float:
        value = mean(values) * confidence * penalty  # upstream's order of the products
        return round(value, 5) if rounded else value

    r1 = done([v["r1"] for v in items])
    r3 = done([v["r3"] for v in items])
    f1 = done([v["f1"] for v in items])
    return {"Average": ((r1 + r3) / 2 + f1) / 2, "Recall@1": r1, "Recall@3": r3, "F1_score": f1}


# --------------------------------------------------------------------------- AVLG


def avlg_item(text: str, gold: dict[str, Any]) -> float:
    """Mean per-frame IoU of one clip, read as upstream's `eval_avlg` reads it."""
    body = text.replace("<|endoftext|>", "").replace("```json", "").replace("```", "").strip()
    try:
        pred = ast.literal_eval(body)
    except Exception:
        pred = {}
    if not isinstance(pred, dict):
        pred = {}
    width, height = gold["original_wh"]
    frames: dict[str, Any] = gold["bbox"]
    total = 0.0
    for key, true_box in frames.items():
        guess = pred.get(key)
        if true_box is None:
            total += 1.0 if guess is None else 0.0
        elif guess is None:
            total += 0.0
        else:
            try:
                box = [guess[0] * width, guess[1] * height, guess[2] * width, guess[3] * height]
                total += iou_xyxy(xywh_to_xyxy(true_box), box)
            except Exception:
                total += 0.0
    return total / len(frames)


# --------------------------------------------------------------------------- refine output


def clean_refined(text: str | None) -> str:
    """Upstream's post-processing of a structured refine reply: fences, newlines and 4-space
    runs removed, `"` -> `'`, **`null` -> `[]`**, a leading `answer=` dropped."""
    if text is None:
        return ""
    out = text.replace("```json", "").replace("```", "")
    out = out.replace("\n", "").replace('"', "'").replace("    ", "")
    out = out.replace("null", "[]")
    stripped = out.lstrip()
    if stripped.lower().startswith("answer="):
        out = stripped.split("=", 1)[1].lstrip()
    return out
