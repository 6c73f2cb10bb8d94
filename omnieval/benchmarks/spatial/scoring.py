"""Scoring of the spatial tasks: QA letters (robust or upstream's first token) and the J&F of a
predicted mask sequence against its ground truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from omnieval.benchmarks.spatial.jf import BAND_THRESHOLD, Variant, frame_jf, statistics
from omnieval.benchmarks.spatial.masks import read_mask_file
from omnieval.types import Extraction

QaScoring = Literal["default", "first-token"]
MissingFrames = Literal["empty", "skip"]
LeadingBlank = Literal["next", "fallback"]
FIRST_TOKEN_VERSION = "dyn-bench-b5b3ce8"
#: upstream's size for an absent ground-truth mask when no other mask gives one
UPSTREAM_BLANK_SHAPE = (480, 640)


def first_token(text: str | None) -> Extraction:
    """Upstream's strict matching: the first whitespace token, trailing `.,;:!?` stripped,
    upper-cased ("The answer is A" reads "THE"; "(A)" stays "(A)")."""
    stripped = (text or "").strip()
    if not stripped:
        return Extraction(value="", rule="first-token", ok=False, detail="empty answer")
    token = stripped.split()[0].rstrip(".,;:!?").upper()
    return Extraction(value=token, rule="first-token", ok=True)


def ground_truth(
    paths: Sequence[Path],
    gt_frames: Sequence[int],
    count: int,
    fallback_shape: tuple[int, int],
    leading_blank: LeadingBlank = "next",
) -> list[np.ndarray]:
    """One boolean ground-truth mask per position of the sequence; a position without a file
    is all-zero, the size of the previous mask; before the first file the size of the next mask
    (`leading_blank: next`) or `fallback_shape` (`fallback`: upstream's `load_gt_masks`, which
    knows no later mask when it fills a leading gap)."""
    loaded: dict[int, np.ndarray] = {}
    for path, position in zip(paths, gt_frames, strict=True):
        loaded[position] = read_mask_file(path)
    first_shape = fallback_shape
    if loaded and leading_blank == "next":
        first_shape = loaded[min(loaded)].shape
    out: list[np.ndarray] = []
    shape: tuple[int, ...] = first_shape
    for position in range(count):
        mask = loaded.get(position)
        if mask is None:
            mask = np.zeros(shape, dtype=bool)
        shape = mask.shape
        out.append(mask)
    return out


def sequence_scores(
    predicted: Mapping[int, np.ndarray],
    truth: Sequence[np.ndarray],
    variant: Variant = "davis",
    missing_frames: MissingFrames = "empty",
    band_threshold: int = BAND_THRESHOLD,
) -> dict[str, float]:
    """J&F of one expression's sequence: per-frame J and F, then the means (J&F = (J + F) / 2),
    recall and decay. `empty`: a frame without a prediction is an empty mask; `skip` (upstream
    parity): only predicted frames count, and no prediction at all scores 0."""
    positions = (
        list(range(len(truth)))
        if missing_frames == "empty"
        else sorted(p for p in predicted if 0 <= p < len(truth))
    )
    if not positions:
        return {"J&F": 0.0, "J": 0.0, "F": 0.0}
    j_values: list[float] = []
    f_values: list[float] = []
    for position in positions:
        gt = truth[position]
        pred = predicted.get(position)
        if pred is None:
            pred = np.zeros(gt.shape, dtype=bool)
        j, f = frame_jf(pred, gt, variant, band_threshold)
        j_values.append(j)
        f_values.append(f)
    j_stats, f_stats = statistics(j_values), statistics(f_values)
    return {
        "J&F": (j_stats.mean + f_stats.mean) / 2,
        "J": j_stats.mean,
        "F": f_stats.mean,
        "J-recall": j_stats.recall,
        "F-recall": f_stats.recall,
        "J-decay": j_stats.decay,
        "F-decay": f_stats.decay,
        "frames": float(len(positions)),
        "predicted": float(sum(1 for p in positions if p in predicted)),
    }
