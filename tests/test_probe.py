"""The wiring probe (omnieval.probe): generated probe set, probe-solver, verdicts in process and
through `omnieval serve` + the `openai` provider with transports that lose one path each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from omnieval import api
from omnieval.config import ModelSpec
from omnieval.probe import ProbeFailedError, signals
from omnieval.probe.probeset import PATH_NAMES, ensure_probe_set
from omnieval.probe.run import probe_model
from omnieval.probe.verdict import (
    DOES_NOT_REACH,
    DROPPED,
    NOT_DECLARED,
    REACHES,
    binomial_p_above,
)
from tests.served import omnieval_serve

AUDIO_PATHS = {"audio-tones", "audio-speech", "video-soundtrack", "audio-channels", "timing"}


def verdict_map(report: Any) -> dict[str, str]:
    return {row.path: row.verdict for row in report.rows}


def served_spec(url: str, **transport: Any) -> ModelSpec:
    return ModelSpec(
        alias="served",
        provider="openai",
        max_retries=1,
        init_args={
            "base_url": f"{url}/v1",
            "model": "probe-solver",
            "inputs": ["text", "image", "audio", "video"],
            "transport": transport,
        },
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("serve")
    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = str(home / "cache")
    with omnieval_serve(["--model", "probe-solver"], env, home) as url:
        yield url


# ----------------------------------------------------------------------------- the probe set


def test_probe_set_is_deterministic_balanced_and_cached(tmp_path: Path) -> None:
    first = ensure_probe_set(tmp_path / "a", seed=3)
    second = ensure_probe_set(tmp_path / "b", seed=3)
    for name in PATH_NAMES:
        assert (first / f"{name}.jsonl").read_text() == (second / f"{name}.jsonl").read_text()
    rows = [json.loads(line) for line in (first / "timing.jsonl").read_text().splitlines()]
    assert sorted(r["answer"] for r in rows) == ["A"] * 4 + ["B"] * 4
    stamp = (first / "probe.json").stat().st_mtime_ns
    assert ensure_probe_set(tmp_path / "a", seed=3) == first
    assert (first / "probe.json").stat().st_mtime_ns == stamp  # reused, not regenerated
    other = ensure_probe_set(tmp_path / "a", seed=4)
    assert (other / "image.jsonl").read_text() != (first / "image.jsonl").read_text()


def test_seven_segment_digits_read_back_after_jpeg_and_resize() -> None:
    from omnieval.media import encode_jpeg
    from omnieval.probe.solver import _read_image
    from omnieval.types import ImagePart

    for digit in range(10):
        image = signals.digit_image(digit, 640, 360)[::3, ::3]  # shrunk like a frame sampler
        part = ImagePart(data=encode_jpeg(image, 60), mime="image/jpeg")
        decoded = _read_image(part)
        assert decoded is not None and signals.read_digit(decoded) == digit
    assert signals.read_digit(signals.digit_image(8)[:, :, :] * 0 + 60) is None


def test_builtin_speech_synthesiser_digits_are_told_apart() -> None:
    words = [signals.spoken_digit(d, "formant") for d in range(10)]
    heard = [signals.spectral_profile(word, 16_000) for word in words]
    for digit, profile in enumerate(heard):
        distances = [signals.dtw_distance(profile, other) for other in heard]
        assert int(min(range(10), key=distances.__getitem__)) == digit


def test_binomial_tail_matches_hand_computation() -> None:
    assert binomial_p_above(6, 6, 0.25) == pytest.approx(0.25**6)
    assert binomial_p_above(7, 8, 0.5) == pytest.approx(9 / 256)
    assert binomial_p_above(0, 8, 0.5) == pytest.approx(1.0)


# -------------------------------------------------------------------------------- in process


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("probe-local")
    return probe_model(ModelSpec(alias="probe-solver", provider="probe-solver"), out)


def test_probe_solver_passes_every_path_in_process(in_process: Any) -> None:
    assert set(verdict_map(in_process)) == set(PATH_NAMES)
    assert set(verdict_map(in_process).values()) == {REACHES}
    written = json.loads((in_process.run_dir / "probe.json").read_text())
    assert [p["verdict"] for p in written["models"]["probe-solver"]["paths"]] == [REACHES] * 8


def test_a_model_that_ignores_its_inputs_does_not_reach_and_stops_the_run(tmp_path: Path) -> None:
    edition = tmp_path / "mcq.jsonl"
    edition.write_text(
        json.dumps({"id": "q", "question": "?", "options": ["a", "b"], "answer": "A"}) + "\n"
    )
    config = {
        "name": "probed",
        "output": str(tmp_path / "runs"),
        "progress": False,
        "probe": True,
        "benchmarks": [{"name": "mcq", "args": {"path": str(edition)}}],
        "models": ["constant"],
    }
    with pytest.raises(ProbeFailedError, match="constant: text"):
        api.evaluate(config)
    assert not (tmp_path / "runs" / "probed" / "results.json").exists()
    outcome = api.evaluate({**config, "probe_allow_unreached": True})
    rows = outcome.results.probe["constant"]
    assert {r["path"]: r["verdict"] for r in rows}["audio-channels"] == DOES_NOT_REACH
    board = (outcome.run_dir / "leaderboard.md").read_text()
    assert "## Wiring probe" in board and "does not reach" in board
    manifest = yaml.safe_load((outcome.run_dir / "manifest.yaml").read_text())
    assert manifest["probe"]["constant"]["timing"] == DOES_NOT_REACH
    saved = json.loads((outcome.run_dir / "results.json").read_text())
    assert saved["probe"]["constant"][0]["path"] == "text"


# ------------------------------------------------------------------- through serve + openai


def test_served_verdicts_equal_the_in_process_ones(
    served: str, in_process: Any, tmp_path: Path
) -> None:
    report = probe_model(served_spec(served, audio_sample_format="f32"), tmp_path)
    assert verdict_map(report) == verdict_map(in_process)
    sent = {row.path: row.sent for row in report.rows}
    assert "2 channel(s)" in sent["audio-channels"]
    assert "as is" in sent["timing"]


def test_a_transport_that_drops_audio_is_flagged_on_the_audio_paths_only(
    served: str, tmp_path: Path
) -> None:
    report = probe_model(served_spec(served, audio="drop"), tmp_path)
    verdicts = verdict_map(report)
    assert {p for p, v in verdicts.items() if v != REACHES} == AUDIO_PATHS
    assert {verdicts[p] for p in AUDIO_PATHS} == {DROPPED}


def test_a_downmixing_transport_is_flagged_on_the_channel_probe_only(
    served: str, tmp_path: Path
) -> None:
    report = probe_model(served_spec(served, audio_channels="downmix"), tmp_path)
    verdicts = verdict_map(report)
    assert {p for p, v in verdicts.items() if v != REACHES} == {"audio-channels"}
    row = next(r for r in report.rows if r.path == "audio-channels")
    assert row.verdict == DROPPED and "channels not kept" in row.why


def test_frames_without_timestamps_are_flagged_on_the_timing_probe_only(
    served: str, tmp_path: Path
) -> None:
    report = probe_model(served_spec(served, video="frames", frame_timestamps=False), tmp_path)
    verdicts = verdict_map(report)
    assert {p for p, v in verdicts.items() if v != REACHES} == {"timing"}
    row = next(r for r in report.rows if r.path == "timing")
    assert row.verdict == DROPPED and "without their timestamps" in row.why
    with_stamps = probe_model(served_spec(served, video="frames"), tmp_path / "stamped")
    assert set(verdict_map(with_stamps).values()) == {REACHES}


def test_an_undeclared_modality_is_reported_as_such(served: str, tmp_path: Path) -> None:
    spec = served_spec(served, audio="drop")
    spec = spec.model_copy(update={"init_args": {**spec.init_args, "inputs": ["text", "image"]}})
    verdicts = verdict_map(probe_model(spec, tmp_path))
    assert verdicts["audio-tones"] == NOT_DECLARED
    assert verdicts["image"] == REACHES


# ----------------------------------------------------------------------------------- the CLI


def test_cli_probe_exit_codes_and_json(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "omnieval.cli", "probe", "--output", str(tmp_path)]
    good = subprocess.run(
        [*command, "probe-solver", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert good.returncode == 0, good.stderr
    assert {p["verdict"] for p in json.loads(good.stdout)["paths"]} == {REACHES}
    bad = subprocess.run([*command, "random"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 4, bad.stderr
    assert "does not reach the model" in bad.stdout
