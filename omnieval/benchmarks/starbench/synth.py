"""A generated STAR-Bench edition in the release layout, deterministic by seed (numpy; rooms by
pyroomacoustics when installed).

Families (each item's answer is decidable from the signal; `starbench-solver` decides it):

- `pc_nsp`: pitch, loudness and duration, each `_absolute` (one mono tone: which range) and
  `_relative` (two tones: which way Audio 2 differs) (`perception.py`);
- `pc_sp`: azimuth and elevation (binaural noise bursts through the head model) and distance
  (a click in a room), in the same two regimes; `pc` holds both;
- `tr*`: five processes cut in three clips, the orderings as options (`temporal.py`);
- `sr*`: `localisation` (one source in the simulated room, five directions), `relation` (a low
  and a high tone at once: is the high one left of, right of or with the low one),
  `relation3` (three tones at -60, 0, +60 degrees: which is leftmost, in the middle,
  rightmost), `trajectory` (a hum passing left to right or right to left, approaching or
  receding, in the simulated room).

Directions are rendered by a spherical-head model (`head.py`: Woodworth ITD, Brown-Duda head
shadow, a pinna-like notch that moves with elevation). Rooms, chosen by `room` and recorded in
`edition.json`: `pyroomacoustics` (`room.py`, the `starbench` extra) simulates a 12 x 9 x 3.5 m
shoebox (RT60 0.4 s) by image sources; `synthetic` (numpy only) is a direct sound at 1/r and a
reverberant tail (exponentially decaying noise, RT60 0.4 s, independent at each ear) of
constant energy. The distance families use the chosen room; localisation and trajectories are
always rendered in the simulated room (they need pyroomacoustics: with `synthetic` they are
rendered in free field by the head model alone, no reflections). The source level of the
distance families is randomised by +-4 dB so that loudness alone does not tell the distance.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from omnieval.benchmarks.starbench import head
from omnieval.benchmarks.starbench.perception import (
    DISTANCES,
    PERCEPTION,
    SPATIAL_PERCEPTION,
    click,
    perception_item,
)
from omnieval.benchmarks.starbench.signals import RATE, buzz, tone, write_wav
from omnieval.benchmarks.starbench.temporal import ORDERINGS, PROCESSES, temporal_item

__all__ = ["DISTANCES", "ORDERINGS", "RATE", "generate_starbench", "write_wav"]

RT60_S = 0.4
#: the distance at which direct and reverberant energy are equal (the critical distance)
CRITICAL_DISTANCE_M = 2.0
#: localisation option -> azimuth (degrees, negative = left), jittered by +-6 degrees
LOCATIONS = {
    "far to the left": -75.0,
    "front left": -35.0,
    "straight ahead": 0.0,
    "front right": 35.0,
    "far to the right": 75.0,
}
RELATIONS = (
    "to the left of the low tone",
    "to the right of the low tone",
    "in the same direction as the low tone",
)
TRAJECTORIES = (
    "it passes from left to right",
    "it passes from right to left",
    "it approaches the listener",
    "it moves away from the listener",
)
#: three-source relations: the three tones, low to high
TONES3 = ("the low tone", "the middle tone", "the high tone")
#: question word -> the rank of the answer's azimuth, left (0) to right (2)
POSITIONS3 = {"leftmost": 0, "in the middle": 1, "rightmost": 2}
SPATIAL_REASONING = ("localisation", "relation", "relation3", "trajectory")
#: trajectories: seconds, and the frames of the moving source (room.PATH_HOP apart)
TRAJECTORY_S = 1.2


def in_room(
    rng: np.random.Generator, source: np.ndarray, distance_m: float, seconds: float = 0.6
) -> np.ndarray:
    """[n, 2]: `source` (a short sound) straight ahead at `distance_m` in a room: the direct
    sound at 1/r (1 at 1 m), after 10 ms of silence, then a reverberant tail of exponentially
    decaying noise (RT60_S, 5 ms after the direct sound) whose energy equals the direct sound's
    at CRITICAL_DISTANCE_M, independent at each ear."""
    n = int(seconds * RATE)
    start = int(0.01 * RATE)
    direct = np.zeros(n)
    direct[start : start + len(source)] = source / distance_m
    tail_start = start + len(source) + int(0.005 * RATE)
    t = np.arange(n - tail_start) / RATE
    envelope = np.exp(-t * 3 * np.log(10) / RT60_S)  # -60 dB after RT60_S
    source_energy = float(np.sum(source**2))
    ears = []
    for _ in range(2):
        tail = rng.standard_normal(len(t)) * envelope
        tail *= np.sqrt(source_energy / CRITICAL_DISTANCE_M**2 / float(np.sum(tail**2)))
        ear = direct.copy()
        ear[tail_start:] += tail
        ears.append(ear)
    return np.stack(ears, axis=1)


def distance_audio(rng: np.random.Generator, distance_m: float, room: str) -> np.ndarray:
    """A 4 ms click at a random level (+-4 dB) `distance_m` straight ahead in a room:
    simulated by pyroomacoustics (image sources, a listener placed at random in the room's
    left part) or the synthetic direct + statistical tail room."""
    sound = click(rng)
    if room == "pyroomacoustics":
        from omnieval.benchmarks.starbench.room import in_simulated_room

        listener = (float(rng.uniform(1.5, 2.5)), float(rng.uniform(3.5, 5.5)))
        return in_simulated_room(sound, distance_m, listener, RATE)
    return in_room(rng, sound, distance_m)


def _listener(rng: np.random.Generator) -> tuple[float, float]:
    return float(rng.uniform(3.0, 4.0)), float(rng.uniform(4.0, 5.0))


def _frames(seconds: float) -> int:
    from omnieval.benchmarks.starbench.room import PATH_HOP

    return int(np.ceil(seconds * RATE / PATH_HOP)) + 1


def _in_room(
    source: np.ndarray, positions: np.ndarray, listener: tuple[float, float], room: str
) -> np.ndarray:
    from omnieval.benchmarks.starbench.room import render_path

    heard = render_path(source, positions, listener, RATE, reflect=room == "pyroomacoustics")
    return 0.5 * heard / (np.max(np.abs(heard)) + 1e-9)


def _relative_positions(
    listener: tuple[float, float], forward: np.ndarray, left: np.ndarray
) -> np.ndarray:
    """Room coordinates of points `forward` metres ahead and `left` metres to the left of a
    listener facing +x, at ear height."""
    from omnieval.benchmarks.starbench.room import HEIGHT_M

    return np.stack(
        [listener[0] + forward, listener[1] + left, np.full(len(forward), HEIGHT_M)], axis=1
    )


def _localisation(rng: np.random.Generator, room: str) -> tuple[list[str], str, np.ndarray, str]:
    options = list(LOCATIONS)
    answer = options[int(rng.integers(len(options)))]
    azimuth = np.radians(LOCATIONS[answer] + float(rng.uniform(-6, 6)))
    listener = _listener(rng)
    frames = _frames(0.6)
    distance = float(rng.uniform(1.2, 1.8))
    positions = _relative_positions(
        listener,
        np.full(frames, distance * np.cos(azimuth)),
        np.full(frames, -distance * np.sin(azimuth)),
    )
    burst = band_noise_burst(rng, 0.6)
    question = "Where is the sound source, seen from the listener?"
    return options, answer, _in_room(burst, positions, listener, room), question


def band_noise_burst(rng: np.random.Generator, seconds: float) -> np.ndarray:
    from omnieval.benchmarks.starbench.signals import band_noise

    return band_noise(rng, seconds, 200.0, 7800.0)


def _trajectory(rng: np.random.Generator, room: str) -> tuple[list[str], str, np.ndarray, str]:
    """A hum passing in front (1.6-2.4 m ahead, 6 m from left to right or back, 5 m/s),
    approaching (6 m -> 0.8 m ahead, 4.3 m/s) or receding (0.8 m -> 6 m), 0.3 m to one
    side."""
    options = list(TRAJECTORIES)
    answer = options[int(rng.integers(len(options)))]
    listener = _listener(rng)
    frames = _frames(TRAJECTORY_S)
    s = np.linspace(0.0, 1.0, frames)
    side = 0.3 if rng.integers(2) else -0.3
    if answer in TRAJECTORIES[:2]:
        sweep = 3.0 - 6.0 * s if answer == TRAJECTORIES[0] else -3.0 + 6.0 * s
        forward, left = np.full(frames, float(rng.uniform(1.6, 2.4))), sweep
    else:
        radial = 6.0 - 5.2 * s if answer == TRAJECTORIES[2] else 0.8 + 5.2 * s
        forward, left = radial, np.full(frames, side)
    positions = _relative_positions(listener, forward, left)
    hum = buzz(float(rng.uniform(150, 250)), TRAJECTORY_S)
    question = "How does the sound source move relative to the listener?"
    return options, answer, _in_room(hum, positions, listener, room), question


def _relation3(rng: np.random.Generator) -> tuple[list[str], str, np.ndarray, str]:
    options = list(TONES3)
    azimuths = [float(a) for a in rng.permutation([-60.0, 0.0, 60.0])]  # low, middle, high
    position = list(POSITIONS3)[int(rng.integers(len(POSITIONS3)))]
    answer = TONES3[int(np.argsort(azimuths)[POSITIONS3[position]])]
    pitches = (
        float(rng.uniform(250, 350)),
        float(rng.uniform(550, 700)),
        float(rng.uniform(1800, 2400)),
    )
    audio = sum(
        (head.render(tone(hz, 0.6, 0.15), az) for hz, az in zip(pitches, azimuths, strict=True)),
        np.zeros((int(0.6 * RATE), 2)),
    )
    question = (
        "Three tones play at once from three loudspeakers: a low, a middle and a high one. "
        f"Which tone is {'the ' if position != 'in the middle' else ''}{position}?"
    )
    return options, answer, audio, question


def _relation(rng: np.random.Generator) -> tuple[list[str], str, np.ndarray, str]:
    options = list(RELATIONS)
    answer = options[int(rng.integers(len(options)))]
    sides = (-60.0, 0.0, 60.0)
    pairs = {  # (low tone azimuth, high tone azimuth)
        RELATIONS[0]: [(lo, hi) for lo in sides for hi in sides if hi < lo],
        RELATIONS[1]: [(lo, hi) for lo in sides for hi in sides if hi > lo],
        RELATIONS[2]: [(a, a) for a in sides],
    }[answer]
    low_az, high_az = pairs[int(rng.integers(len(pairs)))]
    low_hz, high_hz = float(rng.uniform(250, 350)), float(rng.uniform(1200, 1600))
    audio = head.render(tone(low_hz, 0.6, 0.2), low_az) + head.render(
        tone(high_hz, 0.6, 0.2), high_az
    )
    question = (
        "Two tones play at once from two loudspeakers: a low one and a high one. "
        "Where is the high tone?"
    )
    return options, answer, audio, question


def _spatial_item(
    rng: np.random.Generator, root: Path, n: int, sub: str, room: str
) -> dict[str, Any]:
    item_id = f"synth_sr_{sub}_{n}"
    rel = f"starbench_audios/holistic_reasoning/spatial/{item_id}.wav"
    if sub == "localisation":
        options, answer, audio, question = _localisation(rng, room)
    elif sub == "trajectory":
        options, answer, audio, question = _trajectory(rng, room)
    elif sub == "relation3":
        options, answer, audio, question = _relation3(rng)
    else:
        options, answer, audio, question = _relation(rng)
    write_wav(root / rel, audio)
    return {
        "id": item_id,
        "task": "holistic_reasoning_spatial",
        "category": "spatial",
        "sub-category": sub,
        "question": question,
        "options": options,
        "answer": answer,
        "audio_paths": [rel],
    }


def generate_starbench(
    out: Path,
    n: int = 4,
    seed: int = 0,
    on_progress: Callable[[int], None] | None = None,
    room: str = "auto",
) -> Path:
    """`n` items per family (each perception sub-category, each temporal process, each spatial
    reasoning sub-category) under `out`. `room`: `pyroomacoustics` (image-source simulation,
    the `starbench` extra), `synthetic` (numpy only) or `auto` (the first when importable);
    the choice is recorded in `edition.json`."""
    if n < 1:
        raise ValueError("n must be at least 1")
    from omnieval.benchmarks.starbench.room import resolve_room

    room = resolve_room(room)
    rng = np.random.default_rng(seed)
    perception: dict[str, list[dict[str, Any]]] = {sub: [] for sub in PERCEPTION}
    temporal: list[dict[str, Any]] = []
    spatial: list[dict[str, Any]] = []

    def distance(r: np.random.Generator, metres: float) -> np.ndarray:
        return distance_audio(r, metres, room)

    for k in range(n):
        for sub in PERCEPTION:
            perception[sub].append(perception_item(rng, out, sub, k, distance))
        for j, process in enumerate(PROCESSES):
            temporal.append(temporal_item(rng, out, process, k * len(PROCESSES) + j))
        spatial += [_spatial_item(rng, out, k, sub, room) for sub in SPATIAL_REASONING]
        if on_progress:
            on_progress(k + 1)
    spatial_pc = [i for sub in SPATIAL_PERCEPTION for i in perception[sub]]
    non_spatial = [
        i for sub in PERCEPTION if sub not in SPATIAL_PERCEPTION for i in perception[sub]
    ]
    meta = out / "meta_info"
    meta.mkdir(parents=True, exist_ok=True)
    files = {
        "foundation_perception.json": non_spatial + spatial_pc,
        "foundation_perception_spatial.json": spatial_pc,
        "foundation_perception_nonspatial.json": non_spatial,
        "holistic_reasoning_temporal.json": temporal,
        "holistic_reasoning_spatial.json": spatial,
    }
    for name, items in files.items():
        (meta / name).write_text(json.dumps(items, indent=1), encoding="utf-8")
    (out / "edition.json").write_text(
        json.dumps({"generator": "starbench", "n": n, "seed": seed, "room": room}), encoding="utf-8"
    )
    return out
