"""Pre-flight: every model of a run is asked, concurrently and before any trial, whether it can
answer at all (`Model.preflight`): endpoints reachable and serving the model, optional extras
importable, credentials present. Any failure stops the run with one message naming each model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from omnieval.models.base import Model, PreflightError
from omnieval.runner.plan import PlannedTrial
from omnieval.types import Modality, VideoPart

log = logging.getLogger("omnieval.runner")


def modalities_sent(trials: Sequence[PlannedTrial]) -> dict[str, frozenset[Modality]]:
    """Per model alias, the modalities its trials' samples hold (a video's audio track counts
    as audio when it is part of the input)."""
    found: dict[str, set[Modality]] = {}
    for planned in trials:
        kinds = found.setdefault(planned.trial.model, {Modality.TEXT})
        for part in planned.sample.parts:
            kinds.add(Modality(part.kind))
            if isinstance(part, VideoPart) and part.with_audio:
                kinds.add(Modality.AUDIO)
    return {alias: frozenset(kinds) for alias, kinds in found.items()}


async def preflight_models(models: Mapping[str, Model], trials: Sequence[PlannedTrial]) -> None:
    """Pre-flight, at once, every model that has trials to run, told which modalities it will
    be sent; raise one `PreflightError` listing every failure."""
    inputs = modalities_sent(trials)
    aliases = list(inputs)
    outcomes = await asyncio.gather(
        *(models[a].preflight(inputs[a]) for a in aliases), return_exceptions=True
    )
    problems = []
    for alias, outcome in zip(aliases, outcomes, strict=True):
        if isinstance(outcome, PreflightError):
            problems.append(f"model {alias!r}: {outcome}")
        elif isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome
            name = type(outcome).__name__
            problems.append(f"model {alias!r}: pre-flight failed: {name}: {outcome}")
    if problems:
        message = (
            "pre-flight failed, no trial was run:\n  "
            + "\n  ".join(problems)
            + "\nfix the above, or pass --no-preflight (config `preflight: false`) to skip it"
        )
        log.error("%s", message)
        raise PreflightError(message)
    log.info("pre-flight passed for %d model(s)", len(aliases))
