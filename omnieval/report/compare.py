"""`omnieval compare RUN_A RUN_B`: paired differences between two runs on the same samples.

Items are paired by (task, condition, sample id); a model of run A is compared with a model of
run B (the only model of each run, or the aliases both runs share, or the ones named). Each
item's value is its headline metric averaged over its scored replicates; items failed or
missing on either side are left out and counted (`unpaired`).

Per task and condition the result gives the means, the paired difference B - A with a 95%
interval, and a test suited to the metric:

- 0/1 metrics (accuracy): the exact McNemar test on the discordant items (b = right in A only,
  c = right in B only; p = min(1, 2 * P(X <= min(b, c))), X ~ Binomial(b + c, 1/2)), and the
  paired t interval of the mean difference (`omnieval.scoring.stats.paired_difference`);
- other metrics: a paired bootstrap (items resampled with replacement, seeded): percentile
  interval and two-sided p-value.

The flipped items (0/1 metrics: right in one run, wrong in the other) are listed by direction.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel

from omnieval.report.results import RunResults, read_results
from omnieval.runner import rundir
from omnieval.runner.journal import Journal
from omnieval.scoring.stats import paired_difference
from omnieval.types import Outcome, TrialRecord

BOOTSTRAP = 2000


class CompareError(ValueError):
    """The two runs cannot be compared (no common task, model pairing unclear)."""


class Flip(BaseModel):
    sample_id: str
    direction: Literal["gained", "lost", "changed"]
    a: float
    b: float


class Comparison(BaseModel):
    task: str
    condition: str
    metric: str
    model_a: str
    model_b: str
    n: int
    unpaired: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float | None
    ci_high: float | None
    test: str
    p_value: float | None
    #: McNemar's discordant counts (0/1 metrics)
    b_only_a: int | None = None
    c_only_b: int | None = None
    flips: list[Flip] = []


class CompareReport(BaseModel):
    run_a: str
    run_b: str
    comparisons: list[Comparison]


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for discordant counts b and c."""
    total = b + c
    if total == 0:
        return 1.0
    low = min(b, c)
    tail = sum(math.comb(total, k) for k in range(low + 1)) / 2.0**total
    return min(1.0, 2.0 * tail)


def item_values(
    records: Sequence[TrialRecord], model: str, metric_of: dict[str, str]
) -> dict[tuple[str, str], dict[str, float]]:
    """(task, condition) -> sample id -> headline value averaged over scored replicates."""
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for record in records:
        trial = record.trial
        if trial.model != model or trial.task not in metric_of:
            continue
        if record.outcome is not Outcome.SCORED or record.score is None:
            continue
        value = record.score.values.get(metric_of[trial.task])
        if value is not None:
            sums[(trial.task, trial.condition, trial.sample_id)].append(float(value))
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for (task, condition, sample), values in sums.items():
        out[(task, condition)][sample] = float(np.mean(values))
    return out


def compare_values(
    a: dict[str, float],
    b: dict[str, float],
    seed: int = 0,
    bootstrap: int = BOOTSTRAP,
) -> tuple[dict[str, float | int | str | None], list[Flip]]:
    """The paired statistics for one (task, condition): see the module docstring."""
    common = sorted(set(a) & set(b))
    unpaired = len(set(a) ^ set(b))
    first = np.array([a[s] for s in common])
    second = np.array([b[s] for s in common])
    stats: dict[str, float | int | str | None] = {
        "n": len(common),
        "unpaired": unpaired,
        "mean_a": float(first.mean()) if common else math.nan,
        "mean_b": float(second.mean()) if common else math.nan,
    }
    binary = bool(common) and set(np.unique(np.concatenate([first, second]))) <= {0.0, 1.0}
    flips: list[Flip] = []
    if binary:
        paired = paired_difference(second, first)
        b_count = int(((first == 1) & (second == 0)).sum())
        c_count = int(((first == 0) & (second == 1)).sum())
        stats.update(
            diff=paired.mean_diff,
            ci_low=paired.ci_low,
            ci_high=paired.ci_high,
            test="mcnemar-exact",
            p_value=mcnemar_exact(b_count, c_count),
            b_only_a=b_count,
            c_only_b=c_count,
        )
        for sample, x, y in zip(common, first, second, strict=True):
            if x != y:
                flips.append(
                    Flip(sample_id=sample, direction="gained" if y > x else "lost", a=x, b=y)
                )
        return stats, flips
    diffs = second - first
    rng = np.random.default_rng(seed)
    if common:
        picks = rng.integers(0, len(common), size=(bootstrap, len(common)))
        means = diffs[picks].mean(axis=1)
        observed = float(diffs.mean())
        low, high = np.percentile(means, [2.5, 97.5])
        p = 2 * min(float((means <= 0).mean()), float((means >= 0).mean()))
        stats.update(
            diff=observed,
            ci_low=float(low),
            ci_high=float(high),
            test="paired-bootstrap",
            p_value=min(1.0, p),
        )
    else:
        stats.update(diff=math.nan, ci_low=None, ci_high=None, test="none", p_value=None)
    for sample, x, y in zip(common, first, second, strict=True):
        if x != y:
            flips.append(Flip(sample_id=sample, direction="changed", a=x, b=y))
    flips.sort(key=lambda f: -abs(f.b - f.a))
    return stats, flips


def _pair_models(
    a: RunResults, b: RunResults, model_a: str | None, model_b: str | None
) -> list[tuple[str, str]]:
    models_a = sorted({g.model for g in a.groups})
    models_b = sorted({g.model for g in b.groups})
    if model_a or model_b:
        first = model_a or (models_a[0] if len(models_a) == 1 else None)
        second = model_b or (models_b[0] if len(models_b) == 1 else None)
        if first not in models_a or second not in models_b:
            raise CompareError(
                f"models to compare: {first!r} in A (has {models_a}) and {second!r} in B "
                f"(has {models_b})"
            )
        return [(str(first), str(second))]
    if len(models_a) == 1 and len(models_b) == 1:
        return [(models_a[0], models_b[0])]
    shared = sorted(set(models_a) & set(models_b))
    if not shared:
        raise CompareError(
            f"the runs share no model (A: {models_a}, B: {models_b}); name them with "
            "--model-a and --model-b"
        )
    return [(m, m) for m in shared]


def _records(run_dir: Path) -> list[TrialRecord]:
    journal = Journal(run_dir / rundir.JOURNAL)
    try:
        return list(journal.records())
    finally:
        journal.close()


def compare_runs(
    run_a: Path,
    run_b: Path,
    model_a: str | None = None,
    model_b: str | None = None,
    seed: int = 0,
) -> CompareReport:
    """Compare two finished run directories (see the module docstring)."""
    results_a = read_results(run_a / rundir.RESULTS)
    results_b = read_results(run_b / rundir.RESULTS)
    tasks = sorted(set(results_a.tasks) & set(results_b.tasks))
    if not tasks:
        raise CompareError(
            f"{run_a} and {run_b} have no task in common "
            f"(A: {sorted(results_a.tasks)}, B: {sorted(results_b.tasks)})"
        )
    records_a, records_b = _records(run_a), _records(run_b)
    metric_of = {task: _trial_metric(results_a, task, records_a) for task in tasks}
    comparisons = []
    for first, second in _pair_models(results_a, results_b, model_a, model_b):
        values_a = item_values(records_a, first, metric_of)
        values_b = item_values(records_b, second, metric_of)
        for key in sorted(set(values_a) & set(values_b)):
            stats, flips = compare_values(values_a[key], values_b[key], seed)
            comparisons.append(
                Comparison(
                    task=key[0],
                    condition=key[1],
                    metric=metric_of[key[0]],
                    model_a=first,
                    model_b=second,
                    flips=flips,
                    **stats,  # type: ignore[arg-type]
                )
            )
    return CompareReport(run_a=str(run_a), run_b=str(run_b), comparisons=comparisons)


def _trial_metric(results: RunResults, task: str, records: Sequence[TrialRecord]) -> str:
    """The per-trial metric behind the task's headline: the headline itself when trials carry
    it, else the task's first per-trial metric (AA and ACR reduce it over replicates)."""
    headline = results.tasks[task].headline
    for record in records:
        if record.trial.task == task and record.score is not None and record.score.values:
            values = record.score.values
            return headline if headline in values else next(iter(values))
    return headline
