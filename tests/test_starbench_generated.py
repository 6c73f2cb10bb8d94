"""The generated STAR-Bench edition end to end (generator -> release layout -> loader ->
`api.evaluate` with circular evaluation -> `starbench-solver`): every family solved (AA >= 0.9,
ACR <= AA), the interaural families falling to chance when the audio is downmixed while the
monaural ones (elevation notch, reverberation, level and Doppler) survive; and, at the signal
level, the spherical-head model and a moving source in the simulated room."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnieval import api
from omnieval.benchmarks.starbench import cues, head
from omnieval.benchmarks.starbench.perception import PERCEPTION
from omnieval.benchmarks.starbench.signals import RATE, band_noise, buzz
from omnieval.benchmarks.starbench.synth import (
    SPATIAL_REASONING,
    TRAJECTORIES,
    generate_starbench,
)
from omnieval.benchmarks.starbench.temporal import PROCESSES

MONO = {"alias": "mono", "provider": "starbench-solver", "init_args": {"downmix": True}}


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_starbench(
        tmp_path_factory.mktemp("starbench-generated"), n=3, seed=8, room="pyroomacoustics"
    )


def _run(tmp_path: Path, root: Path, data: str, models: list[Any]) -> api.RunOutcome:
    return api.evaluate(
        {
            "name": "generated",
            "output": str(tmp_path / "runs"),
            "benchmarks": [{"name": "starbench", "args": {"data_dir": str(root), "data": data}}],
            "models": models,
            "progress": False,
        }
    )


def test_every_generated_family_is_solved_with_circular_evaluation(
    edition: Path, tmp_path: Path
) -> None:
    models = ["starbench-solver", "oracle", "constant", "random"]
    results = _run(tmp_path, edition, "starbench_all+pc", models).results
    tasks = sorted({g.task for g in results.groups})
    # 12 perception sub-categories in pc and in pc_sp / pc_nsp, plus tr, tr_cap, tr_uncut, sr,
    # sr_ch
    assert len(tasks) == 2 * len(PERCEPTION) + 5
    for task in tasks:
        solver = results.find("starbench-solver", "default", task)
        assert solver.failed == 0 and solver.extraction_failed == 0
        aa, acr = solver.metrics["AA"].value, solver.metrics["ACR"].value
        assert aa >= 0.9 and acr <= aa, (task, aa, acr)
        oracle = results.find("oracle", "default", task)
        assert oracle.metrics["AA"].value == 1 and oracle.metrics["ACR"].value == 1, task
        constant = results.find("constant", "default", task)
        assert constant.metrics["ACR"].value == 0 and constant.metrics["AA"].value < 1, task
        assert results.find("random", "default", task).failed == 0
    # each temporal process and each spatial reasoning family on its own (3 items x 3 runs)
    families = [(f"starbench/{t}", f"continuous/{p}") for t in ("tr", "tr_cap", "tr_uncut")
                for p in PROCESSES[:4]]  # fmt: skip
    families += [(f"starbench/{t}", "discrete/event sequence") for t in ("tr", "tr_uncut")]
    families += [(f"starbench/{t}", f"spatial/{s}") for t in ("sr", "sr_ch")
                 for s in SPATIAL_REASONING]  # fmt: skip
    for task, group in families:
        result = results.find("starbench-solver", "default", task, group=group)
        assert result.trials == 9, (task, group)
        aa, acr = result.metrics["AA"].value, result.metrics["ACR"].value
        assert aa >= 0.9 and acr <= aa, (task, group, aa, acr)
    # two-option relative items: "A" is right in exactly one of the two rotations
    relative = results.find("constant", "default", "starbench/pc/pitch_relative")
    assert relative.trials == 6 and relative.metrics["AA"].value == pytest.approx(1 / 2)


def _share(root: Path, meta: str, sub: str, answers: set[str]) -> float:
    items = json.loads((root / "meta_info" / meta).read_text())
    items = [i for i in items if i["sub-category"] == sub]
    return sum(i["answer"] in answers for i in items) / len(items)


def _mono_relation3_share(root: Path) -> float:
    """Without interaural cues the tones stay in the order low, middle, high (left to right)."""
    items = json.loads((root / "meta_info/holistic_reasoning_spatial.json").read_text())
    guess = {"leftmost": "the low tone", "rightmost": "the high tone", "middle": "the middle tone"}
    right = [
        item["answer"] == guess[next(w for w in guess if w in item["question"].split("one. ")[1])]
        for item in items
        if item["sub-category"] == "relation3"
    ]
    return sum(right) / len(right)


def test_interaural_families_fall_to_chance_when_downmixed(edition: Path, tmp_path: Path) -> None:
    results = _run(tmp_path, edition, "pc_sp+sr+sr_ch+pc_nsp", ["starbench-solver", MONO]).results
    pc_sp, sr = "foundation_perception_spatial.json", "holistic_reasoning_spatial.json"
    # the downmixed solver hears every source in the middle: it always gives the answer a
    # source straight ahead would get, so it is right on exactly the items with that answer
    expected = {
        ("starbench/pc_sp/azimuth_absolute", "overall"): _share(
            edition, pc_sp, "azimuth_absolute", {"front"}
        ),
        ("starbench/pc_sp/azimuth_relative", "overall"): _share(
            edition, pc_sp, "azimuth_relative", {"further to the right"}
        ),
    }
    for task in ("starbench/sr", "starbench/sr_ch"):
        expected[(task, "spatial/localisation")] = _share(
            edition, sr, "localisation", {"straight ahead"}
        )
        expected[(task, "spatial/relation")] = _share(
            edition, sr, "relation", {"in the same direction as the low tone"}
        )
        expected[(task, "spatial/relation3")] = _mono_relation3_share(edition)
        # the Doppler fall still says "passing" and the level says approaching or receding;
        # only the passing direction is lost (it then says left to right)
        expected[(task, "spatial/trajectory")] = _share(
            edition, sr, "trajectory", set(TRAJECTORIES) - {TRAJECTORIES[1]}
        )
    right = trials = 0.0
    for (task, group), share in expected.items():
        mono = results.find("mono", "default", task, group=group)
        assert mono.metrics["AA"].value == pytest.approx(share), (task, group)
        stereo = results.find("starbench-solver", "default", task, group=group)
        assert stereo.metrics["AA"].value >= 0.9, (task, group)
        if "trajectory" not in group:
            right += mono.metrics["AA"].value * mono.trials
            trials += mono.trials
    chance = right / trials
    assert chance < 0.6, chance  # the interaural families together: near chance
    # elevation (the notch, the same at both ears), distance (the reverberation) and the mono
    # attributes are monaural: a mono listener keeps them
    for sub in ("elevation_absolute", "elevation_relative", "distance_absolute"):
        assert results.find("mono", "default", f"starbench/pc_sp/{sub}").metrics["AA"].value >= 0.9
    for sub in ("distance_relative",):
        assert results.find("mono", "default", f"starbench/pc_sp/{sub}").metrics["AA"].value >= 0.9
    for sub in ("pitch_absolute", "loudness_relative", "duration_relative"):
        assert results.find("mono", "default", f"starbench/pc_nsp/{sub}").metrics["AA"].value >= 0.9


def test_spherical_head_model_cues_are_recovered() -> None:
    rng = np.random.default_rng(1)
    noise = band_noise(rng, 0.4, 200.0, 7800.0)
    for azimuth in (-60.0, -20.0, 0.0, 30.0, 70.0):
        left, right = head.render(noise, azimuth).T
        # Woodworth's ITD plus the head shadow's low-frequency phase lead: the estimate errs
        # towards the side, never across the midline
        estimate = cues.lateral(left, right)
        assert np.sign(round(estimate)) == np.sign(azimuth)
        assert abs(estimate - azimuth) < 15, (azimuth, estimate)
        # the far ear is shadowed above 1.5 kHz: up to about 15 dB at the side
        ild = cues.hf_ild_db(left, right)
        assert (ild > 3) if azimuth < 0 else (ild < -3) if azimuth > 0 else abs(ild) < 0.5
    assert pytest.approx(0.000656, abs=1e-6) == head.MAX_ITD_S
    # a source on the right: the right ear louder, more so at high frequencies (the far ear's
    # shadow eases again right at the side, the sphere's bright spot)
    assert head.ild_db(6000.0, 70.0) < head.ild_db(6000.0, 45.0) < head.ild_db(1000.0, 45.0) < -3
    assert abs(head.ild_db(300.0, 90.0)) < 1.0  # little shadow at low frequencies
    for elevation in (-40.0, 0.0, 35.0):
        audio = head.render(noise, 20.0, elevation).T
        assert cues.notch_elevation(audio) == pytest.approx(elevation, abs=6)
    # the notch is the same at both ears: a mono mix keeps it
    mixed = head.render(noise, -50.0, 30.0).mean(axis=1, keepdims=True).T
    assert cues.notch_elevation(mixed) == pytest.approx(30.0, abs=6)


def test_moving_source_in_the_simulated_room_has_doppler_level_and_interaural_trends() -> None:
    from omnieval.benchmarks.starbench.room import HEIGHT_M, PATH_HOP, render_path

    hum = buzz(200.0, 1.2)
    frames = int(np.ceil(len(hum) / PATH_HOP)) + 1
    s = np.linspace(0.0, 1.0, frames)
    listener = (3.5, 4.5)

    def heard(forward: np.ndarray, left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        path = np.stack(
            [listener[0] + forward, listener[1] + left, np.full(frames, HEIGHT_M)], axis=1
        )
        audio = render_path(hum, path, listener, RATE).T
        return cues.thirds(audio)

    # passing from left to right 2 m ahead at 5 m/s: the pitch falls by about 2 % (Doppler),
    # the high-frequency level difference swings from the left ear to the right one
    first, last = heard(np.full(frames, 2.0), 3.0 - 6.0 * s)
    fall = cues.f0_hz(last, 100.0, 300.0) / cues.f0_hz(first, 100.0, 300.0) - 1
    assert -0.03 < fall < -0.01, fall
    assert cues.hf_ild_db(*first) > 2 and cues.hf_ild_db(*last) < -2
    # approaching along the line of sight: the Doppler shift stays (no trend), the level rises
    first, last = heard(6.0 - 5.2 * s, np.full(frames, 0.3))
    assert abs(cues.f0_hz(last, 100.0, 300.0) / cues.f0_hz(first, 100.0, 300.0) - 1) < 0.004
    assert cues.rms_dbfs(last) - cues.rms_dbfs(first) > 3  # the room's reverberation stays
    # without the source delay (no Doppler) the passing source keeps its pitch
    ahead = np.full(frames, listener[0] + 2.0)
    path = np.stack([ahead, listener[1] + 3.0 - 6.0 * s, np.full(frames, HEIGHT_M)], axis=1)
    still = render_path(hum, path, listener, RATE, doppler=False).T
    first, last = cues.thirds(still)
    assert abs(cues.f0_hz(last, 100.0, 300.0) / cues.f0_hz(first, 100.0, 300.0) - 1) < 0.004


def test_the_edition_is_deterministic_and_records_its_room(tmp_path: Path) -> None:
    def digest(root: Path) -> list[tuple[str, bytes]]:
        return [
            (str(p.relative_to(root)), p.read_bytes())
            for p in sorted(root.rglob("*"))
            if p.is_file()
        ]

    first = generate_starbench(tmp_path / "a", n=1, seed=4, room="pyroomacoustics")
    again = generate_starbench(tmp_path / "b", n=1, seed=4, room="pyroomacoustics")
    assert digest(first) == digest(again)
    synthetic = generate_starbench(tmp_path / "c", n=1, seed=4, room="synthetic")
    assert json.loads((synthetic / "edition.json").read_text())["room"] == "synthetic"
    for rel in (
        "starbench_audios/foundation_perception/distance_absolute/synth_pc_distance_absolute_0.wav",
        "starbench_audios/holistic_reasoning/spatial/synth_sr_trajectory_0.wav",
    ):
        assert (synthetic / rel).read_bytes() != (first / rel).read_bytes()
    meta = json.loads((first / "meta_info/foundation_perception.json").read_text())
    assert {i["sub-category"] for i in meta} == set(PERCEPTION)
    temporal = json.loads((first / "meta_info/holistic_reasoning_temporal.json").read_text())
    assert [i["sub-category"] for i in temporal] == list(PROCESSES)
    assert len({i["id"].split("_")[2] for i in temporal}) == 5  # every upstream sub-category code
