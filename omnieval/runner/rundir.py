"""The run directory: lock, log file, manifest."""

from __future__ import annotations

import fcntl
import logging
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from omnieval import __version__
from omnieval.redaction import Redactor

MANIFEST = "manifest.yaml"
JOURNAL = "journal.sqlite"
RESULTS = "results.json"
SAMPLES = "samples.jsonl"
LEADERBOARD = "leaderboard.md"
LOG = "run.log"
#: the wiring probe's verdicts (omnieval.probe), when the run was probed
PROBE = "probe.json"


class RunLockedError(RuntimeError):
    """Another process is writing the same run directory."""


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run directory so two runs never write one journal."""
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = (run_dir / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RunLockedError(
            f"{run_dir} is in use by another omnieval process; wait for it or choose "
            "another --output / run name"
        ) from None
    try:
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


class RedactingFilter(logging.Filter):
    """Scrubs secrets from every log record before any handler sees it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        return True


@contextmanager
def run_logging(run_dir: Path, redactor: Redactor) -> Iterator[logging.Logger]:
    """Log the `omnieval` logger tree into run.log (secrets redacted) for the run's duration."""
    logger = logging.getLogger("omnieval")
    handler = logging.FileHandler(run_dir / LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(redactor))
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        handler.close()


def package_versions() -> dict[str, str]:
    versions = {"omnieval": __version__, "python": platform.python_version()}
    for name in ("pydantic", "numpy", "av", "PyYAML", "rich", "typer"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_manifest(run_dir: Path, content: dict[str, Any], redactor: Redactor) -> None:
    data = {
        "omnieval_manifest": 1,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": redactor.text(" ".join(sys.argv)),
        "versions": package_versions(),
        **redactor.value(content),
    }
    tmp = run_dir / (MANIFEST + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    os.replace(tmp, run_dir / MANIFEST)


def update_manifest(run_dir: Path, data: dict[str, Any]) -> None:
    """Rewrite a manifest read with `read_manifest` (its command and versions kept)."""
    tmp = run_dir / (MANIFEST + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    os.replace(tmp, run_dir / MANIFEST)


def note_probe_in_manifest(run_dir: Path, probe: dict[str, list[dict[str, Any]]]) -> None:
    """Keep the wiring probe's verdict per model and path in the manifest (`probe:`)."""
    manifest = read_manifest(run_dir)
    manifest["probe"] = {
        alias: {str(row.get("path")): str(row.get("verdict")) for row in rows}
        for alias, rows in probe.items()
    }
    update_manifest(run_dir, manifest)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory: it has no {MANIFEST}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a mapping")
    return data
