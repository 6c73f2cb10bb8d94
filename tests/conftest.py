"""Shared fixtures: isolated caches, generated datasets, and the test plugin models on sys.path."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PLUGINS = Path(__file__).parent / "plugins"
sys.path.insert(0, str(PLUGINS))


@pytest.fixture(autouse=True)
def _isolated_caches(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path_factory.getbasetemp() / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("HF_HOME", str(cache / "hf"))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache / "numba"))


def write_mcq(path: Path, n: int, n_options: int = 4, categories: int = 3) -> Path:
    """A text-only multiple-choice JSONL file with n questions."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            options = [f"option {j} of question {i}" for j in range(n_options)]
            item = {
                "id": f"q{i:05d}",
                "question": f"Question number {i}: which option is right?",
                "options": options,
                "answer": chr(ord("A") + (i * 7) % n_options),
                "category": f"cat{i % categories}",
            }
            out.write(json.dumps(item) + "\n")
    return path


N_WHO = 200


@pytest.fixture(scope="session")
def vsync_who_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-item who-is-speaking edition (seed 21), generated once per test session."""
    from omnieval.benchmarks.vsync.synth import VsyncSynthConfig, generate_vsync

    out = tmp_path_factory.mktemp("vsync-who")
    generate_vsync(out, N_WHO, seed=21, config=VsyncSynthConfig(sync_share=0.0), workers=2)
    return out


@pytest.fixture
def mcq_file(tmp_path: Path) -> Path:
    return write_mcq(tmp_path / "mcq.jsonl", 60)


@pytest.fixture
def subprocess_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for `omnieval` subprocesses: plugins importable, caches in tmp."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGINS), env.get("PYTHONPATH", "")])
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    env.pop("OMNIEVAL_TEST_SECRET", None)
    yield env
