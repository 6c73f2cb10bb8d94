"""Temporal acuity: the psychometric curve of "in sync" answers against the audio-video offset.

For every task whose samples carry a signed audio offset in milliseconds (sample metadata
`offset_ms`, or `synth.offset_ms` in generated V-SYNC editions; positive = audio later than
video) and whose options include an "in sync" option, the share of trials answered "in sync"
at each offset is fitted with a two-boundary logistic simultaneity window:

    P(sync | x) = lapse + (1 - 2 lapse) * (logistic((x - L) / s) - logistic((x - R) / s))

with L < R. The point of subjective simultaneity is the window's centre, PSS = (L + R) / 2; the
just-noticeable difference is its half-width, JND = (R - L) / 2: the offset from the PSS at
which "in sync" drops to half. Both get a percentile bootstrap interval (items resampled within
each offset, seeded). The fit is maximum likelihood on the binomial counts per offset
(Nelder-Mead over L, R and log s; the lapse is fixed at 1%).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel

from omnieval.types import ChoiceTarget, Outcome, Sample, TrialRecord

LAPSE = 0.01
BOOTSTRAP = 100
_SYNC_OPTION = re.compile(r"\bin[- ]?sync\b|\bsynchron", re.IGNORECASE)


class AcuityPoint(BaseModel):
    offset_ms: float
    n: int
    in_sync: int

    @property
    def share(self) -> float:
        return self.in_sync / self.n if self.n else 0.0


class AcuityResult(BaseModel):
    """One model x condition x task: the points, the fit, PSS and JND with 95% intervals."""

    model: str
    condition: str
    task: str
    points: list[AcuityPoint]
    pss_ms: float | None
    jnd_ms: float | None
    pss_ci: tuple[float, float] | None = None
    jnd_ci: tuple[float, float] | None = None
    #: the fitted parameters (L, R, s in ms), for drawing the curve
    fit: tuple[float, float, float] | None = None
    note: str = ""


def sample_offset_ms(sample: Sample) -> float | None:
    """The sample's signed audio offset in ms, if it has one."""
    metadata = sample.metadata or {}
    for source in (metadata, metadata.get("synth") or {}):
        value = source.get("offset_ms") if isinstance(source, Mapping) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def sync_label(target: ChoiceTarget) -> str | None:
    """The letter of the "in sync" option, if the options have one."""
    for letter, text in zip(target.option_letters(), target.options, strict=True):
        if _SYNC_OPTION.search(text):
            return letter
    return None


def window(x: np.ndarray, left: float, right: float, slope: float) -> np.ndarray:
    """P(sync | x) of the fitted model (see the module docstring)."""
    inner = _logistic((x - left) / slope) - _logistic((x - right) / slope)
    return LAPSE + (1 - 2 * LAPSE) * np.clip(inner, 0.0, 1.0)


def _logistic(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def fit_window(
    offsets: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    start: tuple[float, float, float] | None = None,
) -> tuple[float, float, float] | None:
    """Maximum-likelihood (L, R, s) for k "in sync" answers out of n at each offset (from a few
    starting windows, or from `start` alone: the bootstrap refits from the full fit)."""
    if offsets.size < 2 or n.sum() == 0:
        return None
    span = float(offsets.max() - offsets.min()) or 1.0
    steps = np.diff(np.unique(offsets))
    step = float(steps.min()) if steps.size else span

    def nll(theta: np.ndarray) -> float:
        left, right, log_s = theta
        if right < left:
            return 1e12 + float(left - right)
        p = window(offsets, left, right, math.exp(log_s))
        return float(-(k * np.log(p) + (n - k) * np.log1p(-p)).sum())

    share = np.where(n > 0, k / np.maximum(n, 1), 0.0)
    centre = float((offsets * share).sum() / share.sum()) if share.sum() > 0 else 0.0
    starts = [
        np.array([centre - half, centre + half, math.log(max(slope, 1e-3))])
        for half in (step / 2, span / 4)
        for slope in (step / 8, step / 2)
    ]
    if start is not None:
        starts = [np.array([start[0], start[1], math.log(max(start[2], 1e-3))])]
    best: tuple[float, np.ndarray] | None = None
    for first in starts:
        found = _nelder_mead(nll, first, scale=np.array([step / 2, step / 2, 0.5]))
        value = nll(found)
        if best is None or value < best[0] - 1e-9:
            best = (value, found)
    assert best is not None
    left, right, log_s = best[1]
    return float(left), float(right), float(math.exp(log_s))


def _nelder_mead(
    f: Callable[[np.ndarray], float],
    start: np.ndarray,
    scale: np.ndarray,
    iterations: int = 400,
) -> np.ndarray:
    """A plain Nelder-Mead minimiser (deterministic)."""
    simplex = [start.astype(float)]
    for i in range(start.size):
        point = start.astype(float).copy()
        point[i] += scale[i]
        simplex.append(point)
    values = [f(p) for p in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if abs(values[-1] - values[0]) < 1e-5:
            break
        centroid = np.mean(simplex[:-1], axis=0)
        reflected = centroid + (centroid - simplex[-1])
        fr = f(reflected)
        if fr < values[0]:
            expanded = centroid + 2 * (centroid - simplex[-1])
            fe = f(expanded)
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            fc = f(contracted)
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:
                for i in range(1, len(simplex)):
                    simplex[i] = simplex[0] + 0.5 * (simplex[i] - simplex[0])
                    values[i] = f(simplex[i])
    return simplex[int(np.argmin(values))]


def acuity_of(
    answers: Mapping[float, list[bool]], seed: int = 0, bootstrap: int = BOOTSTRAP
) -> tuple[list[AcuityPoint], tuple[float, float, float] | None, Any, Any]:
    """Points, fit, PSS interval and JND interval for per-offset lists of "in sync" answers."""
    offsets = np.array(sorted(answers), dtype=float)
    n = np.array([len(answers[o]) for o in offsets], dtype=float)
    k = np.array([sum(answers[o]) for o in offsets], dtype=float)
    points = [
        AcuityPoint(offset_ms=float(o), n=int(a), in_sync=int(b))
        for o, a, b in zip(offsets, n, k, strict=True)
    ]
    fit = fit_window(offsets, n, k)
    if fit is None or bootstrap <= 0:
        return points, fit, None, None
    rng = np.random.default_rng(seed)
    pss, jnd = [], []
    for _ in range(bootstrap):
        resampled = np.array(
            [rng.binomial(int(a), b / a) if a else 0 for a, b in zip(n, k, strict=True)],
            dtype=float,
        )
        again = fit_window(offsets, n, resampled, start=fit)
        if again is not None:
            pss.append((again[0] + again[1]) / 2)
            jnd.append((again[1] - again[0]) / 2)
    pss_ci = (float(np.percentile(pss, 2.5)), float(np.percentile(pss, 97.5))) if pss else None
    jnd_ci = (float(np.percentile(jnd, 2.5)), float(np.percentile(jnd, 97.5))) if jnd else None
    return points, fit, pss_ci, jnd_ci


def unfit_reason(answers: Mapping[float, list[bool]]) -> str:
    """Why a simultaneity window cannot be estimated from these answers ("" when it can)."""
    if not any(any(v) for v in answers.values()):
        return "never answered 'in sync': no window to fit"
    low, high = min(answers), max(answers)
    for edge in (low, high):
        values = answers[edge]
        if values and sum(values) / len(values) >= 0.5:
            return (
                f"answered 'in sync' at {edge:+.0f} ms, the edge of the tested offsets: "
                "the window is wider than the range"
            )
    return ""


def temporal_acuity(
    records: Iterable[TrialRecord],
    samples: Mapping[str, Mapping[str, Sample]],
    seed: int = 0,
    bootstrap: int = BOOTSTRAP,
) -> list[AcuityResult]:
    """Acuity per (model, condition, task) over answered trials of samples with an offset."""
    cells: dict[tuple[str, str, str], dict[float, list[bool]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for record in records:
        if record.outcome is not Outcome.SCORED or record.extraction is None:
            continue
        trial = record.trial
        sample = samples.get(trial.task, {}).get(trial.sample_id)
        if sample is None or not isinstance(sample.target, ChoiceTarget):
            continue
        offset = sample_offset_ms(sample)
        label = sync_label(sample.target)
        if offset is None or label is None or record.replicate_params.get("shift"):
            continue
        said_sync = record.extraction.ok and record.extraction.value == label
        cells[(trial.model, trial.condition, trial.task)][offset].append(bool(said_sync))
    results = []
    for (model, condition, task), answers in sorted(cells.items()):
        if len(answers) < 3:
            continue
        problem = unfit_reason(answers)
        if problem:
            points = acuity_of(answers, seed, 0)[0]
            results.append(
                AcuityResult(
                    model=model,
                    condition=condition,
                    task=task,
                    points=points,
                    pss_ms=None,
                    jnd_ms=None,
                    note=problem,
                )
            )
            continue
        points, fit, pss_ci, jnd_ci = acuity_of(answers, seed, bootstrap)
        results.append(
            AcuityResult(
                model=model,
                condition=condition,
                task=task,
                points=points,
                pss_ms=(fit[0] + fit[1]) / 2 if fit else None,
                jnd_ms=(fit[1] - fit[0]) / 2 if fit else None,
                pss_ci=pss_ci,
                jnd_ci=jnd_ci,
                fit=fit,
                note="" if fit else "too few answers to fit",
            )
        )
    return results
