"""Upstream's frame consistency (VMEvalKit `FrameConsistencyAnalyzer`), reproduced exactly.

Pairwise similarity of the sampled frames by one metric:
- `histogram`: OpenCV's correlation of 8x8x8 colour histograms mapped as (r + 1) / 2 (with
  OpenCV's quirk for 3-D histograms, see `HIST_CORREL_SCALE`);
- `ssim`: mean SSIM of the grey frames (11x11 Gaussian window, sigma 1.5, reflected borders,
  C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2);
- `mse`: exp(-MSE / 1000) over the RGB values;
- `combined`: 0.4 histogram + 0.6 SSIM.

From the matrix: mean and (population) std of the upper triangle; each frame's mean similarity to
the others; outliers where (mean - s_i) / std > 2 (at least 3 frames, std >= 1e-6); weights
(1 - tw) * s_i / sum(s) + tw * linspace(0.2, 1, n) / sum(linspace), outliers halved, renormalised;
stability 0.5 * mean + 0.3 * exp(-4 std) + 0.2 * (1 - outliers / n), clipped to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from omnieval.benchmarks.vmeval.sampling import gray

METRICS = ("histogram", "ssim", "mse", "combined")


@dataclass(frozen=True)
class Consistency:
    stability: float
    weights: list[float]
    matrix: np.ndarray
    outliers: list[int]
    mean_similarity: float
    std_similarity: float


#: OpenCV's `compareHist(HISTCMP_CORREL)` on upstream's 8x8x8 histogram sums over all 512 bins
#: but centres with 1 / 64 (the size of one 8x8 plane), not 1 / 512; upstream's similarity is
#: therefore this quantity, which can leave [-1, 1]. Reproduced as it is (OpenCV 4.8-5.0).
HIST_CORREL_SCALE = 1.0 / 64


def histogram_similarity(a: np.ndarray, b: np.ndarray) -> float:
    ha, hb = _hist(a), _hist(b)
    s1, s2 = float(ha.sum()), float(hb.sum())
    num = float(np.dot(ha, hb)) - s1 * s2 * HIST_CORREL_SCALE
    den = (float(np.dot(ha, ha)) - s1 * s1 * HIST_CORREL_SCALE) * (
        float(np.dot(hb, hb)) - s2 * s2 * HIST_CORREL_SCALE
    )
    if abs(den) <= np.finfo(float).eps:
        correlation = 1.0
    else:  # a negative den (the quirk above) gives OpenCV's sqrt a NaN, and so here
        correlation = num / math.sqrt(den) if den > 0 else math.nan
    return (correlation + 1) / 2


def _hist(rgb: np.ndarray) -> np.ndarray:
    """Upstream's histogram as OpenCV leaves it: 8x8x8 bins of the BGR frame (the blue bin
    varies slowest), counted in float32, then scaled to unit L2 norm in float32 (`cv2.normalize`
    multiplies by a float32 1 / norm). The float32 rounding moves the correlation by up to 1e-8,
    so it is reproduced, not skipped."""
    bins = (rgb >> 5).astype(np.int64)  # 8 bins over [0, 256) per channel
    flat = bins[..., 2] * 64 + bins[..., 1] * 8 + bins[..., 0]
    counts = np.bincount(flat.ravel(), minlength=512).astype(np.float32)
    norm = math.sqrt(float(np.sum(counts.astype(np.float64) ** 2)))
    scale = np.float32(1.0 / norm) if norm > np.finfo(float).eps else np.float32(0.0)
    return (counts * scale).astype(np.float64)


def _gaussian_kernel(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    k = np.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


_KERNEL = _gaussian_kernel()


def _blur(image: np.ndarray) -> np.ndarray:
    """Separable 11x11 Gaussian blur with OpenCV's default border (reflect-101)."""
    r = len(_KERNEL) // 2
    padded = np.pad(image, r, mode="reflect")
    rows = sum(_KERNEL[i] * padded[:, i : i + image.shape[1]] for i in range(len(_KERNEL)))
    return sum(_KERNEL[i] * rows[i : i + image.shape[0], :] for i in range(len(_KERNEL)))


def ssim_similarity(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        raise ValueError(f"SSIM needs frames of one size, got {a.shape} and {b.shape}")
    x = gray(a).astype(np.float64)
    y = gray(b).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = _blur(x), _blur(y)
    sxx = _blur(x * x) - mx * mx
    syy = _blur(y * y) - my * my
    sxy = _blur(x * y) - mx * my
    ssim = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(np.mean(ssim))


def mse_similarity(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        raise ValueError(f"MSE needs frames of one size, got {a.shape} and {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float(np.exp(-mse / 1000))


def similarity(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    if metric == "histogram":
        return histogram_similarity(a, b)
    if metric == "ssim":
        return ssim_similarity(a, b)
    if metric == "mse":
        return mse_similarity(a, b)
    if metric == "combined":
        return 0.4 * histogram_similarity(a, b) + 0.6 * ssim_similarity(a, b)
    raise ValueError(f"unknown similarity metric {metric!r}; use one of {METRICS}")


def similarity_matrix(frames: Sequence[np.ndarray], metric: str) -> np.ndarray:
    n = len(frames)
    matrix = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            matrix[i, j] = matrix[j, i] = similarity(frames[i], frames[j], metric)
    return matrix


def outliers(frame_means: np.ndarray, threshold: float = 2.0) -> list[int]:
    if len(frame_means) < 3:
        return []
    mean, std = float(np.mean(frame_means)), float(np.std(frame_means))
    if std < 1e-6:
        return []
    return [i for i, s in enumerate(frame_means) if (mean - s) / std > threshold]


def weights(
    frame_means: np.ndarray, outlier_indices: Sequence[int], temporal: float
) -> list[float]:
    n = len(frame_means)
    if n == 0:
        return []
    if n == 1:
        return [1.0]
    total = float(np.sum(frame_means))
    consistency = frame_means / total if total > 0 else np.ones(n) / n
    ramp = np.linspace(0.2, 1.0, n)
    ramp = ramp / np.sum(ramp)
    combined = (1 - temporal) * consistency + temporal * ramp
    for i in outlier_indices:
        combined[i] *= 0.5
    norm = float(np.sum(combined))
    combined = combined / norm if norm > 0 else np.ones(n) / n
    return [float(w) for w in combined]


def stability(mean: float, std: float, n_outliers: int, n: int) -> float:
    ratio = n_outliers / n if n > 0 else 0
    value = 0.5 * mean + 0.3 * float(np.exp(-std * 4)) + 0.2 * (1 - ratio)  # numpy's exp
    return float(np.clip(value, 0, 1))


def analyze(
    frames: Sequence[np.ndarray],
    metric: str = "histogram",
    temporal_weight: float = 0.3,
    outlier_threshold: float = 2.0,
) -> Consistency:
    if len(frames) < 2:
        return Consistency(
            1.0,
            [1.0] if frames else [],
            np.array([[1.0]]) if frames else np.array([]),
            [],
            1.0,
            0.0,
        )
    matrix = similarity_matrix(frames, metric)
    n = len(frames)
    upper = matrix[np.triu_indices(n, k=1)]
    mean, std = float(np.mean(upper)), float(np.std(upper))
    frame_means = np.array([np.mean([matrix[i, j] for j in range(n) if j != i]) for i in range(n)])
    found = outliers(frame_means, outlier_threshold)
    return Consistency(
        stability=stability(mean, std, len(found), n),
        weights=weights(frame_means, found, temporal_weight),
        matrix=matrix,
        outliers=found,
        mean_similarity=mean,
        std_similarity=std,
    )
