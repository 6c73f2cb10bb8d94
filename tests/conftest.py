"""Shared fixtures: isolated caches, generated datasets, and the test plugin models on sys.path."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.mediagen import (
    write_empty,
    write_garbage,
    write_lossless_video,
    write_test_audio,
    write_test_video,
)

if TYPE_CHECKING:
    from omnieval.benchmarks.vsync.synth import VsyncSynthConfig

PLUGINS = Path(__file__).parent / "plugins"
sys.path.insert(0, str(PLUGINS))

# Lists every skipped test with its reason at the end of the run; fails CI on a required skip.
pytest_plugins = ["tests.skip_report"]


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
SPEECH_ENGINES = ("espeak", "formant")
ESPEAK_MISSING = "espeak-ng is not installed (Debian: apt-get install -y espeak-ng)"


def synth_config(speech: str, **knobs: object) -> VsyncSynthConfig:
    """A generator config with its speech engine pinned (never `auto`, which follows the host).

    Skips with the reason when espeak-ng is asked for and is not on PATH; on CI that skip fails
    the run (tests/skip_report.py)."""
    from omnieval.benchmarks.vsync.synth import VsyncSynthConfig

    if speech == "espeak" and shutil.which("espeak-ng") is None:
        pytest.skip(ESPEAK_MISSING)
    return VsyncSynthConfig(speech=speech, **knobs)  # type: ignore[arg-type]


def _who_edition(factory: pytest.TempPathFactory, speech: str) -> Path:
    from omnieval.benchmarks.vsync.synth import generate_vsync

    config = synth_config(speech, sync_share=0.0)
    out = factory.mktemp(f"vsync-who-{speech}")
    generate_vsync(out, N_WHO, seed=21, config=config, workers=2)
    return out


@pytest.fixture(scope="session")
def vsync_who_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-item who-is-speaking edition (seed 21, espeak-ng speech), made once per session."""
    return _who_edition(tmp_path_factory, "espeak")


@pytest.fixture(scope="session")
def vsync_who_edition_formant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 200 items spoken by the built-in formant synthesiser."""
    return _who_edition(tmp_path_factory, "formant")


N_WHEN = 12  # kinds cycle yes / no-mid-utterance / no-other-addressee: 4 of each


@pytest.fixture(scope="session")
def vsync_when_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-item "should X speak now?" edition (seed 0, formant speech), made once per session."""
    from omnieval.benchmarks.vsync.synth_when import VsyncWhenConfig, generate_vsync_when

    out = tmp_path_factory.mktemp("vsync-when")
    generate_vsync_when(out, N_WHEN, seed=0, config=VsyncWhenConfig(speech="formant"))
    return out


def when_annotations(root: Path) -> list[dict[str, Any]]:
    """The items of a V-SYNC Level 2 edition's annotations.json."""
    path = root / "data" / "level_2" / "annotations.json"
    items: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return items


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


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The media files of tests/test_media*.py (tests/mediagen.py), written once per session."""
    d = tmp_path_factory.mktemp("media")
    return {
        # 2 s, 10 fps, H.264 (B-frames) + AAC 16 kHz mono, flash + click at 1.23 s.
        "mp4": write_test_video(d / "clip.mp4", 2.0, 10, (64, 48), flash_times=[1.23]),
        # 20 s with a keyframe every 2 s: exercises seeking to windows and sparse skipping.
        "long": write_test_video(d / "long.mp4", 20.0, 10, (64, 48), gop=20, audio_hz=None),
        "big": write_test_video(d / "big.mp4", 1.0, 10, (160, 120), audio_hz=None),
        "lossless": write_lossless_video(
            d / "clip.mkv", 2.0, 10, (64, 48), sample_rate=16000, flash_times=[0.75]
        ),
        "stereo": write_test_video(
            d / "stereo.mp4", 1.0, 10, (64, 48), audio_hz=(440.0, 1000.0), sample_rate=22050
        ),
        "vfr": write_test_video(
            d / "vfr.mp4", 1.0, 10, (64, 48), frame_times=[0, 0.1, 0.35, 0.4, 0.9], audio_hz=None
        ),
        "rotated": write_test_video(d / "rot.mp4", 0.5, 10, (64, 48), rotation=90, audio_hz=None),
        "silent": write_test_video(d / "silent.mp4", 1.0, 10, (64, 48), audio_hz=None),
        "wav": write_test_audio(d / "tone.wav", 1.5, 16000, clicks=[0.5]),
        "aac": write_test_audio(d / "tone.m4a", 1.5, 16000, clicks=[0.5]),
        "empty": write_empty(d / "empty.mp4"),
        "garbage": write_garbage(d / "garbage.mp4"),
    }
