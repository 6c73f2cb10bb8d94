"""J (region similarity) and F (boundary measure) per frame, in two named variants.

`davis` (the default) is the DAVIS 2017 definition (davisvideochallenge/davis2017-evaluation,
`davis2017/metrics.py`): J is the IoU with both-empty = 1; F uses the thin `seg2bmap` boundary
(a pixel differing from its east, south or south-east neighbour; the last row compares east
only, the last column south only, the bottom-right pixel is never boundary), a tolerance of
`ceil(0.008 * image diagonal)` pixels and a disk of that radius (x^2 + y^2 <= r^2): a boundary
pixel matches when a pixel of the other boundary lies inside its disk.

This implementation computes the same numbers as the toolkit's dilate-and-AND, but faster: it
works on the bounding box of both masks (plus one pixel, which keeps `seg2bmap`'s result) and
counts the other boundary's pixels inside each boundary pixel's disk with row-wise prefix
sums instead of dilating whole frames.
`davis_f_dilation` is the toolkit's way, kept as the anchor the tests and `bench/` compare with.

`band` reproduces upstream dyn-bench (`utils/cal_metrics.py`): the boundary is the mask minus
its erosion by `threshold` iterations (a band, not a contour), dilated by `threshold` iterations
of the cross structuring element; both boundaries empty = 1, one empty = 0, and any exception
0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Variant = Literal["davis", "band"]
VARIANTS: tuple[Variant, ...] = ("davis", "band")
DAVIS_BOUND_TH = 0.008
BAND_THRESHOLD = 2


def jaccard(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two boolean masks of one size; both empty gives 1."""
    union = int(np.count_nonzero(pred | gt))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(pred & gt)) / union


def tolerance(shape: Sequence[int], bound_th: float = DAVIS_BOUND_TH) -> int:
    """The boundary tolerance in pixels: `bound_th` itself when >= 1, else ceil(th * diagonal)."""
    if bound_th >= 1:
        return int(bound_th)
    return math.ceil(bound_th * math.hypot(shape[0], shape[1]))


def seg2bmap(mask: np.ndarray) -> np.ndarray:
    """The thin boundary map of DAVIS (after D. Martin's `seg2bmap`), same size as the mask:
    a pixel differing from its east, south or south-east neighbour; the last row compares with
    the east neighbour only, the last column with the south one only; the bottom-right pixel is
    never boundary."""
    seg = np.asarray(mask, dtype=bool)
    boundary = np.empty_like(seg)
    inner = seg[:-1, :-1]
    boundary[:-1, :-1] = (inner ^ seg[:-1, 1:]) | (inner ^ seg[1:, :-1]) | (inner ^ seg[1:, 1:])
    boundary[-1, :-1] = seg[-1, :-1] ^ seg[-1, 1:]
    boundary[:-1, -1] = seg[:-1, -1] ^ seg[1:, -1]
    boundary[-1, -1] = False
    return boundary


def disk(radius: int) -> np.ndarray:
    """The (2r+1)^2 footprint with x^2 + y^2 <= r^2 (skimage.morphology.disk)."""
    span = np.arange(-radius, radius + 1)
    return (span[:, None] ** 2 + span[None, :] ** 2) <= radius * radius


def _f_from_counts(n_pred: int, n_gt: int, pred_hits: int, gt_hits: int) -> float:
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0:
        return 0.0
    precision = pred_hits / n_pred
    recall = gt_hits / n_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def davis_f_dilation(pred: np.ndarray, gt: np.ndarray, bound_th: float = DAVIS_BOUND_TH) -> float:
    """F as the DAVIS toolkit computes it: full-frame boundaries dilated by a disk (anchor)."""
    from scipy.ndimage import binary_dilation

    radius = tolerance(gt.shape, bound_th)
    pred_b, gt_b = seg2bmap(pred), seg2bmap(gt)
    footprint = disk(radius)
    pred_dil = binary_dilation(pred_b, structure=footprint)
    gt_dil = binary_dilation(gt_b, structure=footprint)
    return _f_from_counts(
        int(pred_b.sum()),
        int(gt_b.sum()),
        int((pred_b & gt_dil).sum()),
        int((gt_b & pred_dil).sum()),
    )


def _bbox2(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int] | None:
    """The bounding box (top, bottom, left, right; inclusive) of the union of two masks."""
    rows = np.flatnonzero(a.any(axis=1) | b.any(axis=1))
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1])
    band_a, band_b = a[top : bottom + 1], b[top : bottom + 1]
    cols = np.flatnonzero(band_a.any(axis=0) | band_b.any(axis=0))
    return top, bottom, int(cols[0]), int(cols[-1])


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _disk_rows(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Row offsets dy of the disk and the half-width of each row (x^2 + dy^2 <= r^2)."""
    dys = np.arange(-radius, radius + 1)
    return dys, np.floor(np.sqrt(radius * radius - dys * dys) + 1e-9).astype(np.intp)


def _matched(points: np.ndarray, others: np.ndarray, shape: tuple[int, int], radius: int) -> int:
    """How many of `points` have a pixel of `others` inside the disk of `radius` around them.

    The disk is a stack of rows; the pixels of `others` in one row segment are counted with two
    lookups in its row-wise prefix sums, so each point costs 2 * (2r + 1) lookups and no frame
    is ever dilated."""
    if points.shape[0] == 0 or others.shape[0] == 0:
        return 0
    height, width = shape
    pad = radius + 1
    grid = np.zeros((height + 2 * pad, width + 2 * pad + 1), dtype=np.int32)
    grid[others[:, 0] + pad, others[:, 1] + pad + 1] = 1
    # prefix[y, x + 1] = pixels of `others` in grid row y up to column x
    prefix = np.cumsum(grid, axis=1, dtype=np.int32)
    dys, half = _disk_rows(radius)
    rows = points[:, 0:1] + pad + dys[None, :]
    cols = points[:, 1:2] + pad
    counts = prefix[rows, cols + half[None, :] + 1] - prefix[rows, cols - half[None, :]]
    return int(np.count_nonzero(counts.any(axis=1)))


def davis_jf(
    pred: np.ndarray, gt: np.ndarray, bound_th: float = DAVIS_BOUND_TH
) -> tuple[float, float]:
    """(J, F) of one frame, DAVIS 2017 definitions, computed on the masks' bounding box."""
    pred = np.asarray(pred, dtype=bool)
    gt = np.asarray(gt, dtype=bool)
    box = _bbox2(pred, gt)
    if box is None:
        return 1.0, 1.0
    height, width = gt.shape
    top, bottom = max(box[0] - 1, 0), min(box[1] + 2, height)
    left, right = max(box[2] - 1, 0), min(box[3] + 2, width)
    pred_c, gt_c = pred[top:bottom, left:right], gt[top:bottom, left:right]
    union_n = int(np.count_nonzero(pred_c | gt_c))
    j = int(np.count_nonzero(pred_c & gt_c)) / union_n
    # the crop's last row/column is the image's own, or an all-zero margin row/column, so
    # seg2bmap on the crop marks exactly the image's boundary pixels inside it
    pred_pts = np.argwhere(seg2bmap(pred_c))
    gt_pts = np.argwhere(seg2bmap(gt_c))
    radius = tolerance(gt.shape, bound_th)
    crop = (bottom - top, right - left)
    f = _f_from_counts(
        pred_pts.shape[0],
        gt_pts.shape[0],
        _matched(pred_pts, gt_pts, crop, radius),
        _matched(gt_pts, pred_pts, crop, radius),
    )
    return j, f


def band_f(pred: np.ndarray, gt: np.ndarray, threshold: int = BAND_THRESHOLD) -> float:
    """Upstream's boundary F: erosion bands `threshold` thick, cross dilation, errors -> 0."""
    from scipy import ndimage

    try:
        pred_b = pred ^ ndimage.binary_erosion(pred, iterations=threshold)
        gt_b = gt ^ ndimage.binary_erosion(gt, iterations=threshold)
        n_pred, n_gt = int(pred_b.sum()), int(gt_b.sum())
        if n_pred == 0 or n_gt == 0:
            return 1.0 if n_pred == n_gt else 0.0
        pred_dil = ndimage.binary_dilation(pred_b, iterations=threshold)
        gt_dil = ndimage.binary_dilation(gt_b, iterations=threshold)
        return _f_from_counts(
            n_pred, n_gt, int((pred_b & gt_dil).sum()), int((gt_b & pred_dil).sum())
        )
    except Exception:  # upstream scores any failure 0
        return 0.0


def band_jf(
    pred: np.ndarray, gt: np.ndarray, threshold: int = BAND_THRESHOLD
) -> tuple[float, float]:
    pred = np.asarray(pred, dtype=bool)
    gt = np.asarray(gt, dtype=bool)
    return jaccard(pred, gt), band_f(pred, gt, threshold)


def frame_jf(
    pred: np.ndarray,
    gt: np.ndarray,
    variant: Variant = "davis",
    band_threshold: int = BAND_THRESHOLD,
) -> tuple[float, float]:
    """(J, F) of one frame; the prediction is resized (nearest) to the ground truth's size."""
    pred = resize_nearest(np.asarray(pred, dtype=bool), gt.shape)
    if variant == "davis":
        return davis_jf(pred, gt)
    if variant == "band":
        return band_jf(pred, gt, band_threshold)
    raise ValueError(f"J&F variant must be one of {VARIANTS}, not {variant!r}")


def resize_nearest(mask: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resize of a boolean mask, pixel for pixel as PIL's `NEAREST` (which
    upstream uses): the source coordinate of output pixel k is `scale/2 + k*scale` **summed
    step by step** in doubles (PIL's affine scaling loop), then truncated. Computing
    `(k + 0.5) * scale` directly instead picks another pixel for about a quarter of size
    pairs (e.g. 1x4 -> 9x14)."""
    height, width = int(shape[0]), int(shape[1])
    if mask.shape == (height, width):
        return mask
    rows = _nearest_sources(mask.shape[0], height)
    cols = _nearest_sources(mask.shape[1], width)
    return mask[rows[:, None], cols[None, :]]


def _nearest_sources(size_in: int, size_out: int) -> np.ndarray:
    scale = size_in / size_out
    steps = np.full(size_out, scale, dtype=np.float64)
    steps[0] = scale * 0.5
    positions = np.cumsum(steps)  # sequential sums, as PIL's loop adds the step each pixel
    return np.minimum(positions.astype(np.intp), size_in - 1)


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class SequenceStats:
    """DAVIS `db_statistics` of one object's per-frame values: mean, recall (> 0.5), decay."""

    mean: float
    recall: float
    decay: float


def statistics(values: Sequence[float]) -> SequenceStats:
    """Mean, recall (share of frames > 0.5) and decay (first-quarter mean minus last-quarter
    mean, with DAVIS's four shared-endpoint bins). Unlike the toolkit, the bin edges are not
    cast to uint8, so sequences past 256 frames are not corrupted."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return SequenceStats(0.0, 0.0, 0.0)
    ids = np.round(np.linspace(1, array.size, 5) + 1e-10).astype(int) - 1
    bins = [array[ids[i] : ids[i + 1] + 1] for i in range(4)]
    decay = float(np.mean(bins[0]) - np.mean(bins[3]))
    return SequenceStats(float(array.mean()), float(np.mean(array > 0.5)), decay)
