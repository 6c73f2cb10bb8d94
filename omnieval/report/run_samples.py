"""The samples of a finished run, rebuilt from its manifest (for media paths in reports)."""

from __future__ import annotations

import logging
from pathlib import Path

from omnieval.config import RunConfig, load_plugins
from omnieval.runner import rundir
from omnieval.runner.plan import select_benchmarks
from omnieval.types import Sample

log = logging.getLogger("omnieval.report")


def run_samples(run_dir: Path) -> tuple[dict[str, dict[str, Sample]], str]:
    """task -> sample id -> Sample, and "" or why the samples are unavailable (the dataset
    moved, a plugin is missing): the report then shows media names without players."""
    try:
        manifest = rundir.read_manifest(run_dir)
        config = RunConfig.model_validate(manifest["config"])
        load_plugins(config.plugins)
        tasks, _ = select_benchmarks(config)
        return {tp.task.name: {s.id: s for s in tp.task.samples()} for tp in tasks}, ""
    except Exception as err:  # any reason the dataset cannot be read: the report goes on
        log.warning("report without media players: %s", err)
        return {}, f"the run's samples could not be read ({err}); media are not shown"
