"""J&F (`davis`) throughput on 480x854 masks, one core, next to the DAVIS toolkit's approach.

    python bench/bench_spatial_jf.py [--frames 300] [--seed 0]

Builds `--frames` ground-truth masks at DAVIS 480p (one to three elliptical objects covering
roughly 1-25 % of the frame, some touching the border) and predictions that differ from them
(shifted by a few pixels, with blobs added or removed), then times per-frame J and F:

- `omnieval davis`: `omnieval.benchmarks.spatial.jf.davis_jf` (bounding-box crop, seg2bmap,
  k-d tree radius matching);
- `anchor (scipy)`: the DAVIS toolkit's approach written here (the toolkit is not on PyPI and
  needs opencv and scikit-image): full-frame seg2bmap, both boundaries dilated by a disk of
  radius ceil(0.008 * diagonal) with `scipy.ndimage.binary_dilation`, then AND and count
  (slow: timed on the first `--scipy-frames` frames only);
- `anchor (cv2)`: the same with `cv2.dilate`, the call the toolkit makes (when opencv is
  installed: `pip install opencv-python-headless`);
- `band`: upstream dyn-bench's band boundary, for reference.

Every F of the fast path must equal the anchor's (checked). Threads are pinned to one
(OMP/OPENBLAS/MKL and cv2.setNumThreads(1)) and rates are frames per second of this process's
CPU time, i.e. of one core, whatever else the machine runs; the wall-clock rate is printed
too. Target (issue 10): >= 200 frames/s for `davis`. The machine is shared and noisy: compare
the ratios measured in one run. Nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnieval.benchmarks.spatial.jf import (  # noqa: E402
    band_jf,
    davis_f_dilation,
    davis_jf,
    disk,
    jaccard,
    seg2bmap,
    tolerance,
)

SHAPE = (480, 854)


def make_masks(frames: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    pairs = []
    for _ in range(frames):
        gt = np.zeros(SHAPE, dtype=bool)
        pred = np.zeros(SHAPE, dtype=bool)
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(0, SHAPE[0]), rng.uniform(0, SHAPE[1])
            ry, rx = rng.uniform(20, 160), rng.uniform(20, 220)
            gt |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
            dy, dx = rng.normal(0, 4, size=2)
            sy, sx = rng.uniform(0.9, 1.1, size=2)
            pred |= ((yy - cy - dy) / (ry * sy)) ** 2 + ((xx - cx - dx) / (rx * sx)) ** 2 <= 1
        if rng.random() < 0.2:  # a spurious blob
            cy, cx = rng.uniform(0, SHAPE[0]), rng.uniform(0, SHAPE[1])
            pred |= ((yy - cy) / 15) ** 2 + ((xx - cx) / 25) ** 2 <= 1
        pairs.append((pred, gt))
    return pairs


def cv2_anchor() -> Callable[[np.ndarray, np.ndarray], tuple[float, float]] | None:
    try:
        import cv2
    except ImportError:
        return None
    cv2.setNumThreads(1)
    kernel = disk(tolerance(SHAPE)).astype(np.uint8)

    def jf(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
        pred_b, gt_b = seg2bmap(pred), seg2bmap(gt)
        pred_dil = cv2.dilate(pred_b.astype(np.uint8), kernel) > 0
        gt_dil = cv2.dilate(gt_b.astype(np.uint8), kernel) > 0
        n_pred, n_gt = int(pred_b.sum()), int(gt_b.sum())
        if n_pred == 0 or n_gt == 0:
            return jaccard(pred, gt), 1.0 if n_pred == n_gt else 0.0
        precision = int((pred_b & gt_dil).sum()) / n_pred
        recall = int((gt_b & pred_dil).sum()) / n_gt
        f = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        return jaccard(pred, gt), f

    return jf


def scipy_anchor(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    return jaccard(pred, gt), davis_f_dilation(pred, gt)


def timed(
    name: str, fn: Callable[[np.ndarray, np.ndarray], tuple[float, float]], pairs: list
) -> tuple[float, list[float]]:
    """Frames per second of CPU time (this process, one thread: what one core does however
    busy the machine is), with the wall-clock rate next to it."""
    fn(*pairs[0])  # warm up imports
    wall, cpu = time.perf_counter(), time.process_time()
    values = [fn(pred, gt)[1] for pred, gt in pairs]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rate = len(pairs) / cpu
    print(
        f"{name:18s} {rate:8.1f} frames/s of CPU ({cpu * 1000 / len(pairs):.2f} ms/frame); "
        f"wall {len(pairs) / wall:.1f} frames/s"
    )
    return rate, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scipy-frames", type=int, default=30, help="frames for the slow scipy anchor"
    )
    args = parser.parse_args()
    pairs = make_masks(args.frames, args.seed)
    print(f"{args.frames} frames at {SHAPE[0]}x{SHAPE[1]}, tolerance {tolerance(SHAPE)} px")
    fast, fast_f = timed("omnieval davis", davis_jf, pairs)
    subset = pairs[: args.scipy_frames]
    scipy_rate, scipy_f = timed("anchor (scipy)", scipy_anchor, subset)
    assert np.allclose(fast_f[: len(subset)], scipy_f, atol=1e-12), "F differs from the anchor"
    rates = {"anchor (scipy)": scipy_rate}
    cv2_jf = cv2_anchor()
    if cv2_jf is not None:
        cv2_rate, cv2_f = timed("anchor (cv2)", cv2_jf, pairs)
        assert np.allclose(fast_f, cv2_f, atol=1e-12), "fast F differs from the cv2 anchor"
        rates["anchor (cv2)"] = cv2_rate
    else:
        print("anchor (cv2)       skipped: pip install opencv-python-headless")
    timed("band (upstream)", band_jf, pairs)
    for name, rate in rates.items():
        print(f"omnieval davis / {name}: {fast / rate:.2f}x")
    print(f"target >= 200 frames/s: {'met' if fast >= 200 else 'NOT met'}")


if __name__ == "__main__":
    main()
