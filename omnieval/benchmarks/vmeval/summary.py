"""Upstream's summaries of the judge's 1-5 scores, rebuilt from a run's results.

Two summaries exist upstream (Video-Reason/VMEvalKit):
- `GPT4OEvaluator._rebuild_summary_from_files` (the pinned commit) writes
  `GPT4OEvaluator_summary.json`: global, per-model and per-task statistics: sample counts, mean,
  median, sample standard deviation (`statistics.stdev`, 0.0 for one score), each rounded to two
  decimals, min, max (task and global only) and the distribution of the scores 0-5;
- the analysis script (`analysis/plot.py`, removed later) prints success rates, success being a
  score >= 4: per model (ranked, with the mean and the population standard deviation
  `numpy.std`), per model and domain, and overall.

The run's results hold, per (model, condition, domain) group, the corpus metrics of
`TALLY_METRICS` (`task.corpus_metrics`): the count of each score 0-5, of other scores, the number
of scores, their sum and sum of squares, and the successes. A `ScoreTally` is made from them and
tallies add up, so the per-model and global statistics are those of the pooled scores. While
every score lies in 0-5 (the rubric's range) the tally holds the scores themselves, and the
statistics are computed by Python's `statistics` on them, exactly as upstream; a score outside
0-5 (a judge off the rubric) still counts in the sample count, mean, standard deviation and
success rate (from the sums), but a pooled median is then unknown (None); a domain's own median
is its `judge_score_median` metric.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from omnieval.metric_types import GroupResult

SCORES = range(6)
COUNT = "judge_scored"
SUM = "judge_score_sum"
SQUARES = "judge_score_sumsq"
SUCCESSES = "judge_successes"
OTHER = "judge_score_count_other"
SUCCESS_AT = 4


def count_metric(score: int) -> str:
    return f"judge_score_count_{score}"


TALLY_METRICS = (COUNT, SUM, SQUARES, SUCCESSES, OTHER, *(count_metric(s) for s in SCORES))


Number = int | float


def _number(score: float) -> Number:
    """A whole score as an int (4.0 -> 4), any other finite score as it is (4.5): upstream's
    statistics take fractional scores as they come (its distribution 0-5 leaves them out)."""
    if not math.isfinite(score):
        raise ValueError(f"judge score {score!r} is not a finite number")
    return int(score) if score == int(score) else float(score)


def tally_metric(name: str, scores: Sequence[float]) -> float:
    """The value of one of `TALLY_METRICS` over the scores (one pass; the corpus metrics are
    recomputed for every bootstrap draw)."""
    if name == COUNT:
        return float(len(scores))
    if name == SUM:
        return float(sum(_number(s) for s in scores))
    if name == SQUARES:
        return float(sum(_number(s) ** 2 for s in scores))
    if name == SUCCESSES:
        return float(sum(1 for s in scores if s >= SUCCESS_AT))
    if name == OTHER:
        return float(sum(1 for s in scores if s not in SCORES))
    value = int(name.removeprefix("judge_score_count_"))
    return float(sum(1 for s in scores if s == value))


@dataclass(frozen=True)
class ScoreTally:
    """Scores summed up so that tallies of groups add to the tally of their union (whole scores
    are ints; a fractional score from a judge off the rubric is kept as a float)."""

    counts: tuple[int, ...] = (0,) * len(SCORES)
    other: int = 0
    n: int = 0
    total: Number = 0
    squares: Number = 0
    successes: int = 0
    low: Number | None = None
    high: Number | None = None

    @classmethod
    def of(cls, scores: Iterable[float]) -> ScoreTally:
        ints = [_number(s) for s in scores]
        counts = tuple(sum(1 for s in ints if s == v) for v in SCORES)
        return cls(
            counts=counts,
            other=len(ints) - sum(counts),
            n=len(ints),
            total=sum(ints),
            squares=sum(s * s for s in ints),
            successes=sum(1 for s in ints if s >= SUCCESS_AT),
            low=min(ints) if ints else None,
            high=max(ints) if ints else None,
        )

    @classmethod
    def from_metrics(cls, group: GroupResult) -> ScoreTally | None:
        """The tally of a group whose metrics hold `TALLY_METRICS` (None otherwise)."""
        m = group.metrics
        if any(name not in m for name in TALLY_METRICS):
            return None
        n = int(m[COUNT].value)
        return cls(
            counts=tuple(int(m[count_metric(s)].value) for s in SCORES),
            other=int(m[OTHER].value),
            n=n,
            total=_number(m[SUM].value),
            squares=_number(m[SQUARES].value),
            successes=int(m[SUCCESSES].value),
            low=_number(m["judge_score_min"].value) if n and "judge_score_min" in m else None,
            high=_number(m["judge_score_max"].value) if n and "judge_score_max" in m else None,
        )

    def __add__(self, other: ScoreTally) -> ScoreTally:
        lows = [v for v in (self.low, other.low) if v is not None]
        highs = [v for v in (self.high, other.high) if v is not None]
        return ScoreTally(
            counts=tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            other=self.other + other.other,
            n=self.n + other.n,
            total=self.total + other.total,
            squares=self.squares + other.squares,
            successes=self.successes + other.successes,
            low=min(lows) if lows else None,
            high=max(highs) if highs else None,
        )

    # ------------------------------------------------------------------ statistics

    def scores(self) -> list[int] | None:
        """The scores themselves (sorted), when all are whole and lie in 0-5."""
        if self.other:
            return None
        return [v for v in SCORES for _ in range(self.counts[v])]

    def mean(self) -> float:
        return float(Fraction(self.total) / self.n)

    def median(self) -> float | None:
        scores = self.scores()
        return float(statistics.median(scores)) if scores else None

    def _squared_deviations(self) -> Fraction:
        return Fraction(self.squares) - Fraction(self.total) ** 2 / self.n

    def stdev(self) -> float:
        """Sample standard deviation; 0.0 for one score (upstream's summary)."""
        if self.n <= 1:
            return 0.0
        scores = self.scores()
        if scores is not None:
            return statistics.stdev(scores)
        return math.sqrt(self._squared_deviations() / (self.n - 1))

    def pstdev(self) -> float:
        """Population standard deviation (upstream's analysis table, `numpy.std`)."""
        scores = self.scores()
        if scores is not None:
            return statistics.pstdev(scores)
        return math.sqrt(self._squared_deviations() / self.n)

    def success_rate(self) -> float:
        """Percent of scores >= 4 (upstream's analysis)."""
        return self.successes / self.n * 100

    def distribution(self) -> dict[str, int]:
        return {str(v): self.counts[v] for v in SCORES}


def _r2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def task_statistics(tally: ScoreTally, median: float | None = None) -> dict[str, Any]:
    """Upstream's `task_statistics` (also the global ones, without `completion_rate`)."""
    if not tally.n:
        return {"total_samples": 0, "evaluated_samples": 0, "completion_rate": 0.0,
                "status": "pending"}
    return {
        "total_samples": tally.n,
        "evaluated_samples": tally.n,
        "completion_rate": 1.0,
        "mean_score": _r2(tally.mean()),
        "median_score": _r2(tally.median() if median is None else median),
        "std_score": _r2(tally.stdev()),
        "min_score": tally.low,
        "max_score": tally.high,
        "score_distribution": tally.distribution(),
    }


def model_statistics(tally: ScoreTally) -> dict[str, Any]:
    """Upstream's `model_statistics` (no min or max)."""
    if not tally.n:
        return {}
    return {
        "total_samples": tally.n,
        "evaluated_samples": tally.n,
        "mean_score": _r2(tally.mean()),
        "median_score": _r2(tally.median()),
        "std_score": _r2(tally.stdev()),
        "score_distribution": tally.distribution(),
    }


# ---------------------------------------------------------------------- from a run's results


class Results(Protocol):
    """What the summary reads of a run's results (`omnieval.report.results.RunResults`)."""

    @property
    def groups(self) -> Sequence[GroupResult]: ...


@dataclass(frozen=True)
class DomainTally:
    model: str  # the model alias, with ` [condition]` unless the condition is `default`
    domain: str
    tally: ScoreTally
    median: float | None  # the domain's exact median (its `judge_score_median` metric)


def domain_tallies(results: Results) -> list[DomainTally]:
    out = []
    for group in results.groups:
        if group.group != "overall" or not group.task.startswith("vmeval/"):
            continue
        tally = ScoreTally.from_metrics(group)
        if tally is None:
            continue
        model = group.model if group.condition == "default" else (
            f"{group.model} [{group.condition}]"
        )
        median = group.metrics.get("judge_score_median")
        out.append(
            DomainTally(model, group.task.removeprefix("vmeval/"), tally,
                        median.value if median is not None and tally.n else None)
        )
    return sorted(out, key=lambda d: (d.model, d.domain))


def _pool(rows: Iterable[DomainTally]) -> ScoreTally:
    total = ScoreTally()
    for row in rows:
        total = total + row.tally
    return total


def summary_json(rows: list[DomainTally]) -> dict[str, Any]:
    """The structure of upstream's `GPT4OEvaluator_summary.json` (without per-sample entries
    and timestamps; tasks are keyed `<domain>_task`)."""
    models: dict[str, Any] = {}
    for model in sorted({r.model for r in rows}):
        mine = [r for r in rows if r.model == model]
        models[model] = {
            "model_name": model,
            "model_statistics": model_statistics(_pool(mine)),
            "tasks": {
                f"{r.domain}_task": {"task_statistics": task_statistics(r.tally, r.median)}
                for r in mine
            },
        }
    pooled = _pool(rows)
    global_statistics: dict[str, Any] = {}
    if pooled.n:
        stats = task_statistics(pooled)
        del stats["completion_rate"]
        global_statistics = {
            "total_models": len(models),
            "total_tasks": sum(len(m["tasks"]) for m in models.values()),
            **stats,
        }
    return {
        "metadata": {"source": "omnieval vmeval judge", "total_samples": pooled.n},
        "global_statistics": global_statistics,
        "models": models,
    }


def _dist(tally: ScoreTally) -> str:
    return " ".join(f"{v}:{tally.counts[v]}" for v in SCORES) + (
        f" other:{tally.other}" if tally.other else ""
    )


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def summary_markdown(rows: list[DomainTally]) -> str:
    """Upstream's analysis tables: models ranked by success rate, model x domain, overall."""
    models = sorted({r.model for r in rows})
    per_model = {m: _pool(r for r in rows if r.model == m) for m in models}
    ranked = sorted(models, key=lambda m: -per_model[m].success_rate())  # ties by name
    lines = [
        "# VMEvalKit judge summary",
        "",
        "Success = judge score >= 4. Std (models) is the population standard deviation, as",
        "upstream's analysis table; std (domains) the sample one, as its summary json.",
        "",
        "## Models ranked by success rate",
        "",
        "| rank | model | scored | successes | success rate | mean | std | median "
        "| domains' mean success rate | scores 0-5 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for rank, m in enumerate(ranked, 1):
        t = per_model[m]
        rates = [r.tally.success_rate() for r in rows if r.model == m and r.tally.n]
        lines.append(
            f"| {rank} | {m} | {t.n} | {t.successes} | {t.success_rate():.2f}% | "
            f"{t.mean():.3f} | {t.pstdev():.3f} | {_num(t.median(), '.2f')} | "
            f"{sum(rates) / len(rates):.1f}% | {_dist(t)} |"
        )
    lines += [
        "",
        "## By model and domain",
        "",
        "| model | domain | scored | successes | success rate | mean | median | std | min | max "
        "| scores 0-5 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        t = r.tally
        if not t.n:
            continue
        median = r.median if r.median is not None else t.median()
        lines.append(
            f"| {r.model} | {r.domain} | {t.n} | {t.successes} | {t.success_rate():.2f}% | "
            f"{t.mean():.3f} | {_num(median, '.2f')} | {t.stdev():.2f} | {t.low} | {t.high} | "
            f"{_dist(t)} |"
        )
    pooled = _pool(rows)
    if pooled.n:
        failures = pooled.n - pooled.successes
        lines += [
            "",
            "## Overall",
            "",
            f"- scores: {pooled.n}, successes (4-5): {pooled.successes}, "
            f"failures: {failures}, success rate {pooled.success_rate():.2f}%",
            f"- mean {pooled.mean():.2f}, median {_num(_r2(pooled.median()), '')}, "
            f"std {pooled.stdev():.2f}, min {pooled.low}, max {pooled.high}",
            f"- scores 0-5: {_dist(pooled)}",
            f"- models: {len(models)}, domains: {len({r.domain for r in rows})}",
        ]
    return "\n".join(lines) + "\n"


def report_files(results: Results) -> dict[str, str]:
    """`vmeval_judge_summary.json` and `.md` (none when the run has no judge scores)."""
    rows = domain_tallies(results)
    if not any(r.tally.n for r in rows):
        return {}
    return {
        "vmeval_judge_summary.json": json.dumps(summary_json(rows), indent=2) + "\n",
        "vmeval_judge_summary.md": summary_markdown(rows),
    }
