"""Statistics: hand-computed values, scipy cross-checks where scipy is installed, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from omnieval.scoring.stats import (
    bootstrap_ci,
    clustered_stderr,
    mean_stderr,
    paired_difference,
    summarize_binary,
    summarize_continuous,
    t_critical,
    t_two_sided_pvalue,
    wilson_interval,
    z_critical,
)

# --------------------------------------------------------------------------- standard errors


def test_mean_stderr() -> None:
    # std(ddof=1) of 1..4 is sqrt(5/3); over sqrt(4)
    assert mean_stderr([1, 2, 3, 4]) == pytest.approx(math.sqrt(5 / 3) / 2)
    assert mean_stderr([0.8, 0.8, 0.8]) == pytest.approx(0.0, abs=1e-15)
    assert mean_stderr([1.0]) is None
    assert mean_stderr([]) is None


def test_mean_stderr_rejects_nan_and_matrices() -> None:
    with pytest.raises(ValueError, match="NaN"):
        mean_stderr([1.0, math.nan])
    with pytest.raises(ValueError, match="flat"):
        mean_stderr([[1.0, 2.0], [3.0, 4.0]])


def test_clustered_stderr_by_hand() -> None:
    values = [1, 0, 1, 1, 0, 0]
    clusters = ["a", "a", "b", "b", "c", "c"]
    # residuals +-0.5; cluster sums 0, +1, -1; sum of squares 2; G/(G-1) = 3/2; n = 6
    assert clustered_stderr(values, clusters) == pytest.approx(math.sqrt(1.5 * 2) / 6)
    assert clustered_stderr(values, clusters, correction=False) == pytest.approx(math.sqrt(2) / 6)


def test_clustered_stderr_with_singletons_is_the_plain_stderr() -> None:
    values = np.random.default_rng(3).normal(size=40)
    assert clustered_stderr(values, list(range(40))) == pytest.approx(mean_stderr(values))


def test_clustered_stderr_edge_cases() -> None:
    assert clustered_stderr([1.0, 0.0, 1.0], ["x", "x", "x"]) is None  # one cluster
    assert clustered_stderr([1.0], ["x"]) is None
    with pytest.raises(ValueError, match="cluster labels"):
        clustered_stderr([1.0, 0.0], ["x"])


def test_clustered_stderr_grows_when_clusters_are_homogeneous() -> None:
    # Whole clips right or wrong: 10 clusters of 5 identical answers each.
    values = np.repeat([1, 0, 1, 1, 0, 1, 0, 1, 1, 0], 5).astype(float)
    clusters = np.repeat(np.arange(10), 5).tolist()
    plain = mean_stderr(values)
    clustered = clustered_stderr(values, clusters)
    assert plain is not None and clustered is not None
    assert clustered > 2 * plain


# --------------------------------------------------------------------------- distributions


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 29, 100, 1000, 2.5])
@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_t_critical_matches_scipy(df: float, confidence: float) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    expected = scipy_stats.t.ppf(1 - (1 - confidence) / 2, df)
    assert t_critical(df, confidence) == pytest.approx(expected, rel=1e-9)


def test_t_critical_known_values() -> None:
    assert t_critical(1) == pytest.approx(12.706204736, rel=1e-8)
    assert t_critical(9) == pytest.approx(2.262157163, rel=1e-8)
    assert t_critical(1e7) == pytest.approx(z_critical(), rel=1e-6)
    assert z_critical() == pytest.approx(1.959963985, rel=1e-9)


@pytest.mark.parametrize("t", [0.0, 0.1, 1.0, 2.0, -2.5, 5.0, 12.0, 40.0])
@pytest.mark.parametrize("df", [1, 4, 9, 30, 500])
def test_t_pvalue_matches_scipy(t: float, df: int) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    expected = 2 * scipy_stats.t.sf(abs(t), df)
    assert t_two_sided_pvalue(t, df) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_t_pvalue_edges() -> None:
    assert t_two_sided_pvalue(0.0, 5) == 1.0
    assert t_two_sided_pvalue(math.inf, 5) == 0.0
    assert t_two_sided_pvalue(-math.inf, 5) == 0.0
    with pytest.raises(ValueError):
        t_two_sided_pvalue(1.0, 0)


# --------------------------------------------------------------------------- intervals


def test_wilson_by_hand() -> None:
    low, high = wilson_interval(8, 10) or (math.nan, math.nan)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (8, 10), (10, 10), (1, 1), (37, 120)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k: int, n: int, confidence: float) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert wilson_interval(k, n, confidence) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) is None
    assert wilson_interval(0, 10)[0] == 0.0  # type: ignore[index]
    low, high = wilson_interval(10, 10) or (math.nan, math.nan)
    assert high == 1.0 and low == pytest.approx(0.7225, abs=1e-4)
    low, high = wilson_interval(1, 1) or (math.nan, math.nan)
    assert 0.0 < low < 1.0 and high == 1.0
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, confidence=1.0)


def test_bootstrap_is_deterministic_and_sensible() -> None:
    values = np.random.default_rng(0).normal(loc=2.0, scale=1.0, size=400)
    first = bootstrap_ci(values, seed=7)
    assert first == bootstrap_ci(values, seed=7)
    assert first != bootstrap_ci(values, seed=8)
    assert first is not None
    low, high = first
    se = mean_stderr(values)
    assert se is not None
    # The percentile interval of a mean is close to mean -/+ 1.96 se for n = 400.
    assert low < values.mean() < high
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_bootstrap_edges() -> None:
    assert bootstrap_ci([]) is None
    assert bootstrap_ci([0.3]) == (0.3, 0.3)
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], iters=0)


def test_cluster_bootstrap_resamples_whole_clusters() -> None:
    # Two clusters of identical pairs behave like the two values resampled alone.
    clustered = bootstrap_ci([1, 1, 0, 0], clusters=["a", "a", "b", "b"], iters=500, seed=4)
    plain = bootstrap_ci([1, 0], iters=500, seed=4)
    assert clustered == plain
    assert bootstrap_ci([1, 0, 1], clusters=["a", "a", "a"]) == (2 / 3, 2 / 3)


def test_bootstrap_large_input_chunked_equals_unchunked_and_the_normal_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from omnieval.scoring import stats

    values = np.random.default_rng(1).integers(0, 2, size=5000).astype(float)
    # 5000 units: the default draw budget splits 1000 replicates into chunks of 400.
    assert stats._MAX_BOOTSTRAP_DRAWS // values.size < 1000
    chunked = bootstrap_ci(values, iters=1000, seed=2)
    with monkeypatch.context() as patch:
        patch.setattr(stats, "_MAX_BOOTSTRAP_DRAWS", 10**12)  # one chunk
        whole = bootstrap_ci(values, iters=1000, seed=2)
        patch.setattr(stats, "_MAX_BOOTSTRAP_DRAWS", 7 * values.size)  # chunks of 7
        tiny = bootstrap_ci(values, iters=1000, seed=2)
    assert chunked == whole == tiny  # chunking changes neither the draws nor the replicates
    # Closed form: for n = 5000 the percentile interval is the normal one, mean +- z * sd/sqrt(n),
    # up to Monte Carlo error of 1000 replicates (well under a quarter of a standard error).
    assert chunked is not None
    mean, se = values.mean(), values.std() / math.sqrt(values.size)
    z = 1.959963984540054
    assert chunked[0] == pytest.approx(mean - z * se, abs=0.25 * se)
    assert chunked[1] == pytest.approx(mean + z * se, abs=0.25 * se)


# --------------------------------------------------------------------------- paired comparison


def test_paired_difference_matches_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(11)
    a = rng.integers(0, 2, size=60).astype(float)
    b = np.where(rng.random(60) < 0.8, a, 1 - a)
    result = paired_difference(a, b)
    reference = scipy_stats.ttest_rel(a, b)
    assert result.n == 60 and result.df == 59
    assert result.mean_diff == pytest.approx(float(np.mean(a - b)))
    assert result.t == pytest.approx(reference.statistic, rel=1e-10)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-8)
    low, high = reference.confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), rel=1e-9)


def test_paired_difference_by_hand() -> None:
    # d = [1, 0, 1, 0]: mean 0.5, sd 0.57735, se 0.288675, t = sqrt(3), df 3
    result = paired_difference([1, 1, 1, 0], [0, 1, 0, 0])
    assert result.mean_diff == 0.5
    assert result.stderr == pytest.approx(math.sqrt(1 / 3) / 2)
    assert result.t == pytest.approx(math.sqrt(3))
    half = t_critical(3) * math.sqrt(1 / 3) / 2
    assert (result.ci_low, result.ci_high) == pytest.approx((0.5 - half, 0.5 + half))


def test_paired_difference_with_zero_stderr() -> None:
    same = paired_difference([1, 0, 1], [1, 0, 1])
    assert (same.mean_diff, same.stderr, same.t, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert (same.ci_low, same.ci_high) == (0.0, 0.0)
    shifted = paired_difference([1.1, 0.1, 1.1], [0.1, -0.9, 0.1])
    assert shifted.t == math.inf and shifted.p_value == 0.0 and shifted.stderr == 0.0
    worse = paired_difference([0, 0], [1, 1])
    assert worse.t == -math.inf and worse.p_value == 0.0


def test_paired_difference_edges() -> None:
    single = paired_difference([1.0], [0.0])
    assert single.mean_diff == 1.0 and single.stderr is None and single.p_value is None
    empty = paired_difference([], [])
    assert empty.n == 0 and math.isnan(empty.mean_diff)
    with pytest.raises(ValueError, match="length"):
        paired_difference([1, 0], [1])


# --------------------------------------------------------------------------- summaries


def test_summarize_binary() -> None:
    summary = summarize_binary([1] * 8 + [0] * 2)
    assert summary.value == pytest.approx(0.8) and summary.n == 10
    assert (round(summary.ci_low or 0, 4), round(summary.ci_high or 0, 4)) == (0.4902, 0.9433)
    assert summary.stderr == pytest.approx(math.sqrt(0.8 * 0.2 / 9))


def test_summarize_binary_edges() -> None:
    perfect = summarize_binary([1.0] * 10)
    assert perfect.value == 1.0 and perfect.ci_high == 1.0 and perfect.stderr == 0.0
    assert perfect.ci_low == pytest.approx(0.7225, abs=1e-4)
    one = summarize_binary([True])
    assert one.value == 1.0 and one.n == 1 and one.stderr is None and one.ci_low is not None
    empty = summarize_binary([])
    assert empty.n == 0 and math.isnan(empty.value) and empty.ci_low is None
    with pytest.raises(ValueError, match="0 or 1"):
        summarize_binary([1.0, 0.5])


def test_summarize_binary_clustered() -> None:
    values = np.repeat([1, 0, 1, 1, 0, 1, 0, 1, 1, 1], 3).astype(float)
    clusters = np.repeat(np.arange(10), 3).tolist()
    summary = summarize_binary(values, clusters=clusters)
    se = clustered_stderr(values, clusters)
    assert se is not None and summary.stderr == pytest.approx(se)
    assert summary.ci_high == pytest.approx(min(1.0, 0.7 + t_critical(9) * se))
    assert summary.ci_low == pytest.approx(0.7 - t_critical(9) * se)
    single = summarize_binary([1.0, 0.0], clusters=["clip", "clip"])
    assert single.stderr is None and single.ci_low is None


def test_summarize_continuous_t_interval() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    values = [0.2, 0.5, 0.9, 0.4, 0.7]
    summary = summarize_continuous(values)
    se = scipy_stats.sem(values)
    low, high = scipy_stats.t.interval(0.95, df=4, loc=np.mean(values), scale=se)
    assert summary.value == pytest.approx(0.54) and summary.n == 5
    assert summary.stderr == pytest.approx(se)
    assert (summary.ci_low, summary.ci_high) == pytest.approx((low, high), rel=1e-9)


def test_summarize_continuous_bootstrap_and_edges() -> None:
    values = np.linspace(0.0, 1.0, 50)
    boot = summarize_continuous(values, method="bootstrap", seed=3)
    # Closed form: the percentile bootstrap of a mean of 50 spread values is close to the normal
    # interval mean +- z * sd/sqrt(n) (sd with ddof 0, as the bootstrap resamples the sample).
    se = float(np.std(values)) / math.sqrt(values.size)
    z = 1.959963984540054
    assert boot.value == pytest.approx(0.5)
    assert boot.ci_low == pytest.approx(0.5 - z * se, abs=0.25 * se)
    assert boot.ci_high == pytest.approx(0.5 + z * se, abs=0.25 * se)
    # the seed reaches the bootstrap: another seed, another (equally valid) interval
    other = summarize_continuous(values, method="bootstrap", seed=4)
    assert (other.ci_low, other.ci_high) != (boot.ci_low, boot.ci_high)
    one = summarize_continuous([0.25])
    assert one.value == 0.25 and one.ci_low is None and one.stderr is None
    assert summarize_continuous([0.25], method="bootstrap").ci_low is None
    assert math.isnan(summarize_continuous([]).value)
    with pytest.raises(ValueError, match="method"):
        summarize_continuous([1.0, 2.0], method="normal")  # type: ignore[arg-type]
