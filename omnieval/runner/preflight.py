"""Pre-flight: every model of a run is asked, concurrently and before any trial, whether it can
answer at all (`Model.preflight`): endpoints reachable and serving the model, optional extras
importable, credentials present. Any failure stops the run with one message naming each model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from omnieval.models.base import Model, PreflightError

log = logging.getLogger("omnieval.runner")


async def preflight_models(models: Mapping[str, Model]) -> None:
    """Run every model's pre-flight at once; raise one `PreflightError` listing all failures."""
    aliases = list(models)
    outcomes = await asyncio.gather(
        *(models[a].preflight() for a in aliases), return_exceptions=True
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
