"""Statistics for aggregated metrics: standard errors, intervals and paired comparisons.

Pure numpy plus the standard library: the Student t distribution is computed here (regularised
incomplete beta by continued fraction) and the normal quantile comes from `statistics`, so
nothing needs scipy. The tests check every distribution value against scipy when it is present.

Conventions (see `docs/statistics.md`):

- standard errors use the sample standard deviation (ddof=1) over sqrt(n), and are `None` when
  they cannot be estimated (fewer than two observations, or fewer than two clusters);
- intervals are two-sided at `confidence` (0.95 by default) and `None` when undefined;
- an empty series summarises to `value=nan, n=0` with no interval: aggregation can report an
  empty group without special cases, and `nan` is serialised as `null` in JSON.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

from omnieval.types import Frozen, MetricValue

DEFAULT_CONFIDENCE = 0.95
_MAX_BOOTSTRAP_DRAWS = 2_000_000  # indices drawn per bootstrap chunk (memory bound)


# --------------------------------------------------------------------------- input checks


def _as_array(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"expected a flat series of numbers, got an array of shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError("values contain NaN; drop missing values before summarising")
    return array


def _check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")
    return confidence


def _cluster_codes(clusters: Sequence[Hashable], n: int) -> tuple[npt.NDArray[np.intp], int]:
    """Cluster labels -> integer codes (in order of first appearance) and the cluster count."""
    if len(clusters) != n:
        raise ValueError(f"got {len(clusters)} cluster labels for {n} values")
    index: dict[Hashable, int] = {}
    codes = np.fromiter((index.setdefault(c, len(index)) for c in clusters), np.intp, count=n)
    return codes, len(index)


# --------------------------------------------------------------------------- distributions


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function, evaluated by Lentz's method."""
    tiny, eps = 1e-300, 1e-15
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 10_000):
        for coefficient in (
            m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m)),  # even step
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0)),  # odd step
        ):
            d = 1.0 + coefficient * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + coefficient / c
            c = c if abs(c) > tiny else tiny
            step = c * d
            result *= step
        if abs(step - 1.0) < eps:
            break
    return result


def _regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularised incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_two_sided_pvalue(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, not {df}")
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0
    return min(1.0, _regularized_beta(df / (df + t * t), df / 2.0, 0.5))


def t_critical(df: float, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """The t value with P(|T| <= t) = confidence (two-sided critical value)."""
    alpha = 1.0 - _check_confidence(confidence)
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, not {df}")
    low, high = 0.0, 1.0
    while t_two_sided_pvalue(high, df) > alpha:
        low, high = high, high * 2.0
    for _ in range(200):  # bisection: the p-value falls monotonically in t
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if t_two_sided_pvalue(middle, df) > alpha:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def z_critical(confidence: float = DEFAULT_CONFIDENCE) -> float:
    """The standard normal z with P(|Z| <= z) = confidence."""
    return NormalDist().inv_cdf(1.0 - (1.0 - _check_confidence(confidence)) / 2.0)


# --------------------------------------------------------------------------- standard errors


def mean_stderr(values: npt.ArrayLike) -> float | None:
    """Standard error of the mean, std(ddof=1) / sqrt(n); `None` if n < 2."""
    array = _as_array(values)
    if array.size < 2:
        return None
    return float(np.std(array, ddof=1) / math.sqrt(array.size))


def clustered_stderr(
    values: npt.ArrayLike, clusters: Sequence[Hashable], correction: bool = True
) -> float | None:
    """Cluster-robust standard error of the mean (items sharing a clip are not independent).

    SE = sqrt(G / (G - 1) * sum_g (sum_{i in g} (x_i - mean))^2) / n for G clusters: the
    sandwich (CR1) estimator with the small-sample factor G / (G - 1); `correction=False`
    drops that factor (CR0). With one item per cluster it equals `mean_stderr`. `None` if
    n < 2 or G < 2.
    """
    array = _as_array(values)
    codes, groups = _cluster_codes(clusters, array.size)
    if array.size < 2 or groups < 2:
        return None
    cluster_sums = np.bincount(codes, weights=array - array.mean(), minlength=groups)
    factor = groups / (groups - 1) if correction else 1.0
    return float(math.sqrt(factor * float(np.sum(cluster_sums**2))) / array.size)


# --------------------------------------------------------------------------- intervals


def wilson_interval(
    successes: float, n: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion; `None` when n = 0.

    Unlike the normal (Wald) interval it stays inside [0, 1] and does not collapse to a point
    at 0/n or n/n, which matters for small task subsets.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return None
    z = z_critical(confidence)
    p = successes / n
    z2n = z * z / n
    denominator = 1.0 + z2n
    centre = (p + z2n / 2.0) / denominator
    half_width = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)  # exact at the ends,
    high = 1.0 if successes == n else min(1.0, centre + half_width)  # not 1e-17 away
    return low, high


def t_interval(
    mean: float, stderr: float, df: float, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """mean -/+ t_{df} * stderr."""
    half_width = t_critical(df, confidence) * stderr
    return mean - half_width, mean + half_width


def bootstrap_ci(
    values: npt.ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
    iters: int = 2000,
    seed: int = 0,
    clusters: Sequence[Hashable] | None = None,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean, deterministic for a given `seed`.

    Items are resampled with replacement `iters` times; with `clusters`, whole clusters are
    resampled and each replicate's mean is (sum of its values) / (number of its items).
    `None` for no values; (x, x) for a single value or a single cluster.
    """
    _check_confidence(confidence)
    if iters < 1:
        raise ValueError(f"iters must be at least 1, not {iters}")
    array = _as_array(values)
    if array.size == 0:
        return None
    if clusters is None:
        sums, counts = array, np.ones_like(array)
    else:
        codes, groups = _cluster_codes(clusters, array.size)
        sums = np.asarray(np.bincount(codes, weights=array, minlength=groups), np.float64)
        counts = np.asarray(np.bincount(codes, minlength=groups), np.float64)
    units = sums.size
    if units == 1:
        only = float(sums[0] / counts[0])
        return only, only
    rng = np.random.default_rng(seed)
    means = np.empty(iters, dtype=np.float64)
    chunk = max(1, min(iters, _MAX_BOOTSTRAP_DRAWS // units))
    for start in range(0, iters, chunk):
        size = min(chunk, iters - start)
        picks = rng.integers(0, units, size=(size, units))
        means[start : start + size] = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


# --------------------------------------------------------------------------- comparisons


class PairedDifference(Frozen):
    """Mean of per-item differences a - b on the same items, with a paired t test."""

    mean_diff: float
    n: int
    stderr: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    t: float | None = None
    df: int | None = None
    p_value: float | None = None
    confidence: float = DEFAULT_CONFIDENCE


def paired_difference(
    a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = DEFAULT_CONFIDENCE
) -> PairedDifference:
    """Paired t comparison of two score series over the same items (same order).

    d = a - b; se = std(d, ddof=1) / sqrt(n); t = mean(d) / se with n - 1 degrees of freedom;
    two-sided p-value and a t interval. When every difference is the same (se = 0): t = +/-inf
    and p = 0 if that difference is non-zero, t = 0 and p = 1 if it is zero, and the interval
    is the point. With fewer than two items only the mean is given.
    """
    _check_confidence(confidence)
    first, second = _as_array(a), _as_array(b)
    if first.shape != second.shape:
        raise ValueError(f"paired series differ in length: {first.size} vs {second.size}")
    diff = first - second
    n = int(diff.size)
    if n == 0:
        return PairedDifference(mean_diff=math.nan, n=0, confidence=confidence)
    mean = float(diff.mean())
    if n < 2:
        return PairedDifference(mean_diff=mean, n=n, confidence=confidence)
    df = n - 1
    if float(np.ptp(diff)) == 0.0:
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        return PairedDifference(
            mean_diff=mean, n=n, stderr=0.0, ci_low=mean, ci_high=mean, t=t, df=df,
            p_value=1.0 if mean == 0.0 else 0.0, confidence=confidence,
        )  # fmt: skip
    stderr = float(np.std(diff, ddof=1) / math.sqrt(n))
    t = mean / stderr
    low, high = t_interval(mean, stderr, df, confidence)
    return PairedDifference(
        mean_diff=mean, n=n, stderr=stderr, ci_low=low, ci_high=high, t=t, df=df,
        p_value=t_two_sided_pvalue(t, df), confidence=confidence,
    )  # fmt: skip


# --------------------------------------------------------------------------- summaries


def _empty() -> MetricValue:
    return MetricValue(value=math.nan, n=0)


def _clustered_t(
    array: npt.NDArray[np.float64], clusters: Sequence[Hashable], confidence: float
) -> tuple[float | None, tuple[float, float] | None]:
    stderr = clustered_stderr(array, clusters)
    if stderr is None:
        return None, None
    _, groups = _cluster_codes(clusters, array.size)
    return stderr, t_interval(float(array.mean()), stderr, groups - 1, confidence)


def summarize_binary(
    values: npt.ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
    clusters: Sequence[Hashable] | None = None,
) -> MetricValue:
    """Proportion of 1s with a Wilson interval and the ddof=1 standard error.

    With `clusters` (e.g. the clip each question is about) the standard error is clustered
    and the interval is a t interval with G - 1 degrees of freedom, clipped to [0, 1].
    """
    _check_confidence(confidence)
    array = _as_array(values)
    if not np.all((array == 0.0) | (array == 1.0)):
        bad = array[(array != 0.0) & (array != 1.0)][0]
        raise ValueError(f"binary metric values must be 0 or 1, found {bad}")
    n = int(array.size)
    if n == 0:
        return _empty()
    mean = float(array.mean())
    if clusters is not None:
        stderr, interval = _clustered_t(array, clusters, confidence)
        if interval is not None:
            interval = (max(0.0, interval[0]), min(1.0, interval[1]))
    else:
        stderr, interval = mean_stderr(array), wilson_interval(float(array.sum()), n, confidence)
    low, high = interval if interval is not None else (None, None)
    return MetricValue(value=mean, n=n, ci_low=low, ci_high=high, stderr=stderr)


def summarize_continuous(
    values: npt.ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
    method: Literal["t", "bootstrap"] = "t",
    clusters: Sequence[Hashable] | None = None,
    iters: int = 2000,
    seed: int = 0,
) -> MetricValue:
    """Mean with its standard error and a t interval (df n - 1) or a percentile bootstrap.

    With `clusters` the standard error is clustered, the t interval uses G - 1 degrees of
    freedom and the bootstrap resamples whole clusters. No interval with fewer than two
    observations.
    """
    _check_confidence(confidence)
    if method not in ("t", "bootstrap"):
        raise ValueError(f"method must be 't' or 'bootstrap', not {method!r}")
    array = _as_array(values)
    n = int(array.size)
    if n == 0:
        return _empty()
    mean = float(array.mean())
    if clusters is not None:
        stderr, interval = _clustered_t(array, clusters, confidence)
    else:
        stderr = mean_stderr(array)
        interval = None if stderr is None else t_interval(mean, stderr, n - 1, confidence)
    if method == "bootstrap":  # no interval wherever the standard error is undefined
        interval = (
            None if stderr is None else bootstrap_ci(array, confidence, iters, seed, clusters)
        )
    low, high = interval if interval is not None else (None, None)
    return MetricValue(value=mean, n=n, ci_low=low, ci_high=high, stderr=stderr)
