"""Temporal reasoning items of the generated STAR-Bench edition: a sound cut into three clips of
equal length, to be put back in order (the six orderings are the options).

- `rising tone` (continuous): a tone gliding up an octave and a half; the f0 rises;
- `vessel filling` (continuous): pouring noise through the air column above the water (a pipe
  closed at one end, its first two resonances c/4L and 3c/4L), L shrinking from about 30 to
  8 cm; the resonance rises;
- `bouncing object` (continuous): impacts whose intervals and amplitudes shrink by the
  restitution coefficient (0.8-0.84, first interval 0.25-0.3 s); onsets come quicker,
  impacts weaken;
- `approaching source` (continuous): an engine-like hum on a road towards the listener (6 m to
  the side, 15 m/s, free field); the level rises and the Doppler pitch falls (the radial
  speed shrinks as the vehicle nears);
- `event sequence` (discrete): four tonal events of distinct pitch one after another, each cut
  falling inside an event; the same sound continues across each cut.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from omnieval.benchmarks.starbench.loader import TEMPORAL_SUBCATEGORIES
from omnieval.benchmarks.starbench.signals import (
    RATE,
    SPEED_OF_SOUND,
    buzz,
    fade,
    free_field_path,
    glide,
    write_wav,
)

ORDERINGS = [" -> ".join(f"clip {k}" for k in p) for p in itertools.permutations((1, 2, 3))]
PROCESSES = (
    "rising tone",
    "vessel filling",
    "bouncing object",
    "approaching source",
    "event sequence",
)
QUESTIONS = {
    "rising tone": "The three clips are cut from one tone whose pitch keeps rising.",
    "vessel filling": "The three clips are cut from one recording of water being poured into "
    "a bottle until it is nearly full.",
    "bouncing object": "The three clips are cut from one recording of a ball dropped on a hard "
    "floor and bouncing until it comes to rest.",
    "approaching source": "The three clips are cut from one recording of a vehicle driving "
    "towards the listener.",
    "event sequence": "The three clips are cut from one recording of four different sounds "
    "heard one after another; each cut falls in the middle of a sound.",
}
CAPTIONS = {
    "rising tone": "A single tone glides steadily upward in pitch from low to high.",
    "vessel filling": "Water is poured into a bottle; the hollow ringing of the air above the "
    "water rises in pitch as the bottle fills.",
    "bouncing object": "A ball is dropped and bounces, the bounces coming quicker and softer "
    "until it rests.",
    "approaching source": "A humming vehicle drives towards the listener, growing louder.",
    "event sequence": "Four different sounds follow one another without a pause.",
}
ASK = " In which order were they recorded?"


def _rising_tone(rng: np.random.Generator) -> np.ndarray:
    f0 = float(rng.uniform(250, 400))
    return glide(f0, f0 * 3, 1.2)


def _vessel_filling(rng: np.random.Generator) -> np.ndarray:
    """Pouring noise shaped, frame by frame, by the air column's first two resonances (a pipe
    closed by the water: c / 4L and 3c / 4L), L shrinking from 30 to 8 cm."""
    n = int(1.5 * RATE)
    noise = rng.standard_normal(n + 1024)
    hop, frame = 256, 512
    window = np.hanning(frame + 1)[:frame]
    freqs = np.fft.rfftfreq(frame, 1 / RATE)
    start_m, end_m = float(rng.uniform(0.26, 0.32)), float(rng.uniform(0.07, 0.09))
    out = np.zeros(n + 1024)
    for start in range(0, n, hop):
        length = start_m + (end_m - start_m) * start / n
        first = SPEED_OF_SOUND / (4 * length)
        gain = np.zeros_like(freqs)
        for mode in (first, 3 * first):
            width = 0.06 * mode  # the resonance's half-width
            gain += 1 / (1 + ((freqs - mode) / width) ** 2)
        spectrum = np.fft.rfft(noise[start : start + frame] * window) * (0.05 + gain)
        out[start : start + frame] += np.fft.irfft(spectrum, frame)
    out = out[:n]
    return fade(0.3 * out / (np.max(np.abs(out)) + 1e-9))


def _bouncing_object(rng: np.random.Generator) -> np.ndarray:
    """Impacts (a click and two decaying modes) at intervals shrinking by the restitution
    coefficient e, each impact's amplitude e times the previous one's; the bounces add up to
    T0 / (1 - e) = 1.25-1.9 s, so every third of the 1.5 s holds at least two impacts."""
    n = int(1.5 * RATE)
    out = np.zeros(n + RATE)
    e = float(rng.uniform(0.8, 0.84))
    interval = float(rng.uniform(0.25, 0.3))
    modes = (float(rng.uniform(900, 1400)), float(rng.uniform(2200, 3200)))
    ring = np.arange(int(0.05 * RATE)) / RATE
    impact = sum(np.sin(2 * np.pi * m * ring) for m in modes) * np.exp(-ring * 90)
    impact[:16] += rng.standard_normal(16)
    time, amplitude = 0.02, 0.4
    while time < 1.5 and interval > 0.01:
        at = int(time * RATE)
        out[at : at + len(impact)] += amplitude * impact / np.max(np.abs(impact))
        time += interval
        interval *= e
        amplitude *= e
    return out[:n]


def _approaching_source(rng: np.random.Generator) -> np.ndarray:
    """A hum on a straight road towards the listener, 6 m to the side: 25 m away at the start,
    2 m (along the road) before passing; heard in free field (1/r, Doppler)."""
    n = int(1.5 * RATE)
    source = buzz(float(rng.uniform(110, 160)), 1.5, amplitude=1.0)
    t = np.arange(n) / RATE
    along = 25.0 - 15.0 * t  # metres still to drive before the closest point
    distance = np.sqrt(along**2 + 6.0**2)
    heard = free_field_path(source, distance)
    return fade(0.3 * heard / (np.max(np.abs(heard)) + 1e-9))


#: events of the discrete sequence: (start, end) seconds; the cuts at 0.45 and 0.9 s fall inside
#: the second and the third event
EVENT_SPANS = ((0.0, 0.3), (0.3, 0.6), (0.6, 1.05), (1.05, 1.35))
EVENT_PITCHES = (220.0, 330.0, 494.0, 740.0, 1109.0, 1661.0)


def _event_sequence(rng: np.random.Generator) -> np.ndarray:
    """Four tonal events of distinct pitch (a whole number of fifths apart), one after the
    other; each a harmonic sound with its own decay, so that each is a different sound."""
    n = int(1.35 * RATE)
    out = np.zeros(n)
    pitches = rng.choice(EVENT_PITCHES, size=4, replace=False)
    for (start, end), pitch in zip(EVENT_SPANS, pitches, strict=True):
        t = np.arange(int((end - start) * RATE)) / RATE
        sound = np.sin(2 * np.pi * pitch * t) + 0.3 * np.sin(4 * np.pi * pitch * t)
        sound *= 0.6 + 0.4 * np.exp(-t * float(rng.uniform(2, 6)))
        at = int(start * RATE)
        out[at : at + len(t)] += fade(0.25 * sound, 0.005)
    return out


SYNTHESISERS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "rising tone": _rising_tone,
    "vessel filling": _vessel_filling,
    "bouncing object": _bouncing_object,
    "approaching source": _approaching_source,
    "event sequence": _event_sequence,
}


def temporal_item(rng: np.random.Generator, root: Path, process: str, n: int) -> dict[str, Any]:
    """One temporal item: `process` cut in three; the sub-category code (which sets upstream's
    clip permutation) cycles with `n`, shifted every round of five so that each process meets
    every code."""
    code = TEMPORAL_SUBCATEGORIES[(n + n // 5) % len(TEMPORAL_SUBCATEGORIES)]
    item_id = f"synth_tr_{code}_{n}"
    folder = "starbench_audios/holistic_reasoning/temporal"
    uncut = SYNTHESISERS[process](rng)
    third = len(uncut) // 3
    paths = []
    for k in range(3):
        rel = f"{folder}/{item_id}_clip{k + 1}.wav"
        write_wav(root / rel, fade(uncut[k * third : (k + 1) * third], 0.005))
        paths.append(rel)
    uncut_rel = f"{folder}/{item_id}_uncut.wav"
    write_wav(root / uncut_rel, uncut)
    options = [ORDERINGS[i] for i in rng.permutation(len(ORDERINGS))]
    return {
        "id": item_id,
        "task": "holistic_reasoning_temporal",
        "category": "discrete" if process == "event sequence" else "continuous",
        "sub-category": process,
        "question": QUESTIONS[process] + ASK,
        "options": options,
        "answer": ORDERINGS[0],
        "audio_paths": paths,
        "global_caption": CAPTIONS[process],
        "uncut_audio_path": uncut_rel,
    }
