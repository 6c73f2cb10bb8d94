"""Foundational perception items of the generated STAR-Bench edition: six attributes (pitch,
loudness, duration, azimuth, elevation, distance), each asked in two regimes.

- absolute range (`<attribute>_absolute`): one sound, which range it falls in;
- relative discrimination (`<attribute>_relative`): two sounds (`Audio 1`, `Audio 2`), which
  way the second differs from the first.

Directions are rendered by the spherical-head model (`head.py`), distance in a room
(`room.py` / the synthetic room in `synth.py`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from omnieval.benchmarks.starbench import head
from omnieval.benchmarks.starbench.signals import RATE, band_noise, fade, tone, write_wav

ATTRIBUTES = ("pitch", "loudness", "duration", "azimuth", "elevation", "distance")
SPATIAL_ATTRIBUTES = ("azimuth", "elevation", "distance")
REGIMES = ("absolute", "relative")
PERCEPTION = tuple(f"{a}_{r}" for a in ATTRIBUTES for r in REGIMES)
SPATIAL_PERCEPTION = tuple(s for s in PERCEPTION if s.split("_")[0] in SPATIAL_ATTRIBUTES)

#: option -> (low, high) of the generated value; the solver's bounds lie between the ranges
PITCH_RANGES = {
    "low (below 300 Hz)": (150.0, 250.0),
    "medium (300 to 1,000 Hz)": (400.0, 750.0),
    "high (above 1,000 Hz)": (1400.0, 2800.0),
}
LOUDNESS_RANGES = {  # RMS level, dBFS
    "soft (about -40 dBFS)": (-43.0, -37.0),
    "moderate (about -25 dBFS)": (-28.0, -22.0),
    "loud (about -10 dBFS)": (-13.0, -7.0),
}
DURATION_RANGES = {  # seconds
    "shorter than 0.5 s": (0.2, 0.4),
    "between 0.5 and 1.5 s": (0.7, 1.2),
    "longer than 1.5 s": (1.8, 2.4),
}
AZIMUTH_RANGES = {"left": (-80.0, -40.0), "front": (-10.0, 10.0), "right": (40.0, 80.0)}
ELEVATION_RANGES = {
    "above": (30.0, 45.0),
    "at ear level": (-8.0, 8.0),
    "below": (-45.0, -30.0),
}
#: distance option -> metres
DISTANCES = {"near (about 0.5 m)": 0.5, "middle (about 2 m)": 2.0, "far (about 8 m)": 8.0}
#: relative distance: (nearer, farther) pairs, a factor of 4 apart
DISTANCE_PAIRS = ((0.5, 2.0), (1.0, 4.0), (2.0, 8.0))

QUESTIONS = {
    "pitch_absolute": "Is the pitch of this tone low, medium or high?",
    "pitch_relative": "Compared with Audio 1, is the pitch of Audio 2 higher or lower?",
    "loudness_absolute": "How loud is this tone?",
    "loudness_relative": "Compared with Audio 1, is Audio 2 louder or softer?",
    "duration_absolute": "How long does this tone last?",
    "duration_relative": "Compared with Audio 1, does Audio 2 last longer or shorter?",
    "azimuth_absolute": "From which direction does the sound come?",
    "azimuth_relative": "Compared with the source of Audio 1, is the source of Audio 2 "
    "further to the left or further to the right?",
    "elevation_absolute": "Is the sound source above, at or below the listener's ear level?",
    "elevation_relative": "Compared with the source of Audio 1, is the source of Audio 2 "
    "higher up or lower down?",
    "distance_absolute": "How far from the listener is the sound source?",
    "distance_relative": "Compared with the source of Audio 1, is the source of Audio 2 "
    "nearer to the listener or farther away?",
}
RELATIVE_OPTIONS = {
    "pitch": ("higher", "lower"),
    "loudness": ("louder", "softer"),
    "duration": ("longer", "shorter"),
    "azimuth": ("further to the left", "further to the right"),
    "elevation": ("higher up", "lower down"),
    "distance": ("nearer", "farther away"),
}

#: renders one distance (metres) in the edition's room: (rng, distance) -> [n, 2]
DistanceRenderer = Callable[[np.random.Generator, float], np.ndarray]


def _pick(rng: np.random.Generator, ranges: dict[str, tuple[float, float]]) -> tuple[str, float]:
    option = list(ranges)[int(rng.integers(len(ranges)))]
    low, high = ranges[option]
    return option, float(rng.uniform(low, high))


def _level_tone(freq: float, seconds: float, rms_dbfs: float) -> np.ndarray:
    return tone(freq, seconds, amplitude=float(np.sqrt(2) * 10 ** (rms_dbfs / 20)))


def _burst(rng: np.random.Generator, azimuth: float, elevation: float | None) -> np.ndarray:
    return head.render(band_noise(rng, 0.4, 200.0, 7800.0), azimuth, elevation, RATE)


def _absolute(
    rng: np.random.Generator, attribute: str, distance: DistanceRenderer
) -> tuple[list[str], str, np.ndarray]:
    if attribute == "pitch":
        answer, hz = _pick(rng, PITCH_RANGES)
        return list(PITCH_RANGES), answer, tone(hz, 0.5)
    if attribute == "loudness":
        answer, level = _pick(rng, LOUDNESS_RANGES)
        return list(LOUDNESS_RANGES), answer, _level_tone(float(rng.uniform(300, 600)), 0.5, level)
    if attribute == "duration":
        answer, seconds = _pick(rng, DURATION_RANGES)
        return list(DURATION_RANGES), answer, tone(float(rng.uniform(300, 600)), seconds)
    if attribute == "azimuth":
        answer, azimuth = _pick(rng, AZIMUTH_RANGES)
        return list(AZIMUTH_RANGES), answer, _burst(rng, azimuth, None)
    if attribute == "elevation":
        answer, elevation = _pick(rng, ELEVATION_RANGES)
        azimuth = float(rng.uniform(-30, 30))
        return list(ELEVATION_RANGES), answer, _burst(rng, azimuth, elevation)
    answer = list(DISTANCES)[int(rng.integers(len(DISTANCES)))]
    return list(DISTANCES), answer, distance(rng, DISTANCES[answer])


def _relative(
    rng: np.random.Generator, attribute: str, distance: DistanceRenderer
) -> tuple[list[str], str, list[np.ndarray]]:
    """Two sounds; the first option is the answer when the second value is the larger (higher,
    louder, longer, further left, higher up, nearer)."""
    options = list(RELATIVE_OPTIONS[attribute])
    first_is_answer = bool(rng.integers(2))
    sign = 1.0 if first_is_answer else -1.0
    answer = options[0 if first_is_answer else 1]
    if attribute == "pitch":
        base = float(rng.uniform(250, 1000))
        ratio = 2 ** (sign * float(rng.uniform(1, 3)) / 12)
        return options, answer, [tone(base, 0.4), tone(base * ratio, 0.4)]
    if attribute == "loudness":
        freq, level = float(rng.uniform(300, 600)), float(rng.uniform(-30, -15))
        step = sign * float(rng.uniform(3, 8))
        pair = [_level_tone(freq, 0.4, level), _level_tone(freq, 0.4, level + step)]
        return options, answer, pair
    if attribute == "duration":
        freq, seconds = float(rng.uniform(300, 600)), float(rng.uniform(0.3, 0.6))
        ratio = float(rng.uniform(1.3, 1.6)) ** sign
        return options, answer, [tone(freq, seconds), tone(freq, seconds * ratio)]
    if attribute == "azimuth":
        first = float(rng.uniform(-45, 45))
        second = first - sign * float(rng.uniform(20, 35))  # further left = smaller azimuth
        return options, answer, [_burst(rng, first, None), _burst(rng, second, None)]
    if attribute == "elevation":
        step = float(rng.uniform(20, 35))
        low = float(rng.uniform(-45, 45 - step))
        first, second = (low, low + step) if first_is_answer else (low + step, low)
        azimuth = float(rng.uniform(-30, 30))
        return options, answer, [_burst(rng, azimuth, first), _burst(rng, azimuth, second)]
    near, far = DISTANCE_PAIRS[int(rng.integers(len(DISTANCE_PAIRS)))]
    first, second = (far, near) if first_is_answer else (near, far)
    return options, answer, [distance(rng, first), distance(rng, second)]


def perception_item(
    rng: np.random.Generator, root: Path, sub: str, n: int, distance: DistanceRenderer
) -> dict[str, Any]:
    """One `foundation_perception` item of sub-category `sub` (`<attribute>_<regime>`)."""
    attribute, regime = sub.split("_")
    folder = f"starbench_audios/foundation_perception/{sub}"
    item_id = f"synth_pc_{sub}_{n}"
    if regime == "absolute":
        options, answer, audio = _absolute(rng, attribute, distance)
        audios = [audio]
    else:
        options, answer, audios = _relative(rng, attribute, distance)
    paths = []
    for k, audio in enumerate(audios):
        rel = f"{folder}/{item_id}_{k + 1}.wav" if len(audios) > 1 else f"{folder}/{item_id}.wav"
        write_wav(root / rel, audio)
        paths.append(rel)
    return {
        "id": item_id,
        "task": "foundation_perception",
        "category": "spatial" if attribute in SPATIAL_ATTRIBUTES else "non-spatial",
        "sub-category": sub,
        "question": QUESTIONS[sub],
        "options": options,
        "answer": answer,
        "audio_paths": paths,
    }


def click(rng: np.random.Generator) -> np.ndarray:
    """A 4 ms click at a random level (+-4 dB), the distance families' source."""
    sound = fade(rng.standard_normal(int(0.004 * RATE)), 0.001)
    return sound * 0.2 * 10 ** (float(rng.uniform(-4, 4)) / 20) / np.max(np.abs(sound))
