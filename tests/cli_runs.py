"""Running `omnieval` as a user does (a subprocess) and reading the files a run writes: shared by
the CLI and documented-behaviour tests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.journal_probe import journal_rows

#: the CLI of the tree under test (not a console script that may belong to another checkout)
OMNIEVAL = [sys.executable, "-m", "omnieval.cli"]


def omnieval(
    args: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`omnieval ARGS` run to its end in `cwd`, its output captured as text."""
    return subprocess.run(
        [*OMNIEVAL, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def said(done: subprocess.CompletedProcess[str]) -> str:
    """What the command wrote to stderr, on one line (the console wraps long lines)."""
    return " ".join(done.stderr.split())


def results(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return data


def totals(run_dir: Path) -> dict[str, Any]:
    return dict(results(run_dir)["totals"])


def samples(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def audio_question(
    sample_id: str, clip: str, question: str = "Loud?", answer: str = "A"
) -> dict[str, Any]:
    """An mcq item with yes / no options asked about one audio file."""
    return {
        "id": sample_id,
        "question": question,
        "options": ["yes", "no"],
        "answer": answer,
        "media": [{"kind": "audio", "path": clip}],
    }


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def sleepy_run_config(path: Path, name: str, mcq: Path, output: Path, **init_args: Any) -> Path:
    """A run config at `path`: `test-sleepy` (its `init_args`, 3 requests at a time) and `random`
    on the mcq file, the run directory `output/name` (the crash and fault tests)."""
    sleepy: dict[str, Any] = {"alias": "sleepy", "provider": "test-sleepy", "init_args": init_args}
    sleepy["concurrency"] = 3
    config = {
        "name": name,
        "output": str(output),
        "plugins": ["omnieval_testmodels"],
        "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
        "models": [sleepy, "random"],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def write_config(path: Path, **config: Any) -> Path:
    """A run config file holding `config`."""
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def mcq_benchmark(mcq: Path) -> list[dict[str, Any]]:
    """The `benchmarks:` entry of an mcq file."""
    return [{"name": "mcq", "args": {"path": str(mcq)}}]


def run_journal_rows(run_dir: Path) -> int:
    """Trial rows journaled so far in a run directory (0 before its journal exists)."""
    return journal_rows(run_dir / "journal.sqlite")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
