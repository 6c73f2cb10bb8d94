"""A generated STAR-Bench edition in the release layout, deterministic by seed (numpy; the room
simulation of the distance family by pyroomacoustics when installed).

Families (each item's answer is decidable from the signal; `starbench-solver` decides it):

| dataset | sub-category | media | question |
|---|---|---|---|
| `pc_nsp` | pitch | 3 mono tones | which audio has the highest pitch |
| `pc_nsp` | loudness | 3 mono tones | which audio is the loudest |
| `pc_nsp` | duration | 3 mono tones | which audio lasts the longest |
| `pc_sp` | azimuth | 1 binaural burst (ITD + ILD) | left, front or right |
| `pc_sp` | elevation | 1 binaural burst, pinna-like spectral notch | above, level, below |
| `pc_sp` | distance | 1 two-ear click in a room (image sources or 1/r + tail) | near ... far |
| `pc` | all of the above | | |
| `tr*` | OSM, ISSE, TAO, DSS, ETC (cycling) | a rising glide in 3 clips | the clips' order |
| `sr*` | motion | 1 binaural burst panned over time | left to right, right to left or in front |
| `sr*` | relation | a low and a high tone at once, each at an azimuth | high vs low: L, R, same |
| `sr*` | trajectory | 1 binaural burst whose distance changes (1/r) | closer, away, same |
| `sr*` | relation3 | low, middle and high tones at once at -60, 0, +60 deg | left/mid/rightmost |

Binaural rendering is a far-field approximation: an interaural time difference of up to 0.6 ms
(Woodworth) and an interaural level difference of up to 8 dB at 90 degrees; no head-related
transfer function. Elevation is a monaural cue, as the pinna's is: a spectral notch whose
centre rises with elevation (3.2 kHz below, 4.8 kHz at ear level, 6.4 kHz above), the same at
both ears. Distance is rendered in a room, chosen by `room` and recorded in `edition.json`:
`pyroomacoustics` (the default when installed; `room.py`, the `starbench` extra) simulates a
12 x 9 x 3.5 m shoebox (RT60 0.4 s) by image sources up to order 10, heard by two microphones
18 cm apart at a listener placed at random in the room's left part, the source straight
ahead; `synthetic` (numpy only) is a direct sound at 1/r and a reverberant tail
(exponentially decaying noise, RT60 0.4 s, independent at each ear) of constant energy. In both
the direct-to-reverberant ratio falls with distance, and the source level is randomised by
+-4 dB so that loudness alone does not tell the distance.
"""

from __future__ import annotations

import itertools
import json
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from omnieval.benchmarks.starbench.loader import TEMPORAL_SUBCATEGORIES

RATE = 16000
MAX_ITD_S = 0.0006
MAX_ILD_DB = 8.0
PERCEPTION = ("pitch", "loudness", "duration", "azimuth", "elevation", "distance")
SPATIAL_PERCEPTION = ("azimuth", "elevation", "distance")
DIRECTIONS = {"left": -60.0, "front": 0.0, "right": 60.0}
#: elevation option -> the centre of its spectral notch (Hz)
ELEVATIONS = {"above": 6400.0, "at ear level": 4800.0, "below": 3200.0}
#: distance option -> metres
DISTANCES = {"near (about 0.5 m)": 0.5, "middle (about 2 m)": 2.0, "far (about 8 m)": 8.0}
RT60_S = 0.4
#: the distance at which direct and reverberant energy are equal (the critical distance)
CRITICAL_DISTANCE_M = 2.0
MOTIONS = ("from left to right", "from right to left", "it stays in front")
RELATIONS = (
    "to the left of the low tone",
    "to the right of the low tone",
    "in the same direction as the low tone",
)
TRAJECTORIES = {  # option -> (start, end) distance in metres
    "it approaches the listener": (4.0, 1.0),
    "it moves away from the listener": (1.0, 4.0),
    "it stays at the same distance": (2.0, 2.0),
}
#: three-source relations: the three tones, low to high
TONES3 = ("the low tone", "the middle tone", "the high tone")
#: question word -> the rank of the answer's azimuth, left (0) to right (2)
POSITIONS3 = {"leftmost": 0, "in the middle": 1, "rightmost": 2}
SPATIAL_REASONING = ("motion", "relation", "trajectory", "relation3")
ORDERINGS = [" -> ".join(f"clip {k}" for k in p) for p in itertools.permutations((1, 2, 3))]


def write_wav(path: Path, samples: np.ndarray) -> None:
    """16-bit PCM WAV; `samples` is [n] (mono) or [n, 2] (stereo) in [-1, 1]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.clip(samples, -1.0, 1.0)
    pcm = (data * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


def _fade(x: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    n = min(int(seconds * RATE), len(x) // 2)
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float64)
    y = x.copy()
    y[:n] *= ramp
    y[len(y) - n :] *= ramp[::-1]
    return y


def tone(freq: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return _fade(amplitude * np.sin(2 * np.pi * freq * t))


def glide(f0: float, f1: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    freq = f0 + (f1 - f0) * t / seconds
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    return _fade(amplitude * np.sin(phase))


def binaural(mono: np.ndarray, azimuth_deg: np.ndarray | float) -> np.ndarray:
    """[n, 2] left/right from a mono source at `azimuth_deg` (negative = left), per sample or
    constant: the far ear is delayed by the ITD and attenuated by the ILD."""
    n = len(mono)
    az = np.radians(np.broadcast_to(np.asarray(azimuth_deg, dtype=np.float64), (n,)))
    itd = MAX_ITD_S * np.sin(az)  # > 0: the source is on the right, the left ear hears it later
    ild_db = MAX_ILD_DB * np.sin(az)
    t = np.arange(n, dtype=np.float64)
    left_gain = 10 ** (-np.maximum(ild_db, 0) / 20)  # a source on the right shadows the left
    right_gain = 10 ** (np.minimum(ild_db, 0) / 20)
    left = np.interp(t - np.maximum(itd, 0) * RATE, t, mono) * left_gain
    right = np.interp(t + np.minimum(itd, 0) * RATE, t, mono) * right_gain
    return np.stack([left, right], axis=1)


def _noise_burst(rng: np.random.Generator, seconds: float) -> np.ndarray:
    noise = rng.standard_normal(int(seconds * RATE))
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(len(noise), 1 / RATE)
    spectrum[(freqs < 200) | (freqs > 3000)] = 0
    burst = np.fft.irfft(spectrum, len(noise))
    return _fade(0.25 * burst / (np.max(np.abs(burst)) + 1e-9))


def notched(rng: np.random.Generator, seconds: float, notch_hz: float) -> np.ndarray:
    """Broadband noise (300-7,500 Hz) with a one-third-octave-wide notch at `notch_hz`."""
    noise = rng.standard_normal(int(seconds * RATE))
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(len(noise), 1 / RATE)
    spectrum[(freqs < 300) | (freqs > 7500)] = 0
    spectrum[np.abs(np.log2(np.maximum(freqs, 1.0) / notch_hz)) < 1 / 6] = 0
    burst = np.fft.irfft(spectrum, len(noise))
    return _fade(0.25 * burst / (np.max(np.abs(burst)) + 1e-9))


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


def _distance_audio(rng: np.random.Generator, distance_m: float, room: str) -> np.ndarray:
    """A 4 ms click at a random level (+-4 dB) `distance_m` straight ahead in a room:
    simulated by pyroomacoustics (image sources, a listener placed at random in the room's
    left part) or the synthetic direct + statistical tail room."""
    click = _fade(rng.standard_normal(int(0.004 * RATE)), 0.001)
    click *= 0.2 * 10 ** (float(rng.uniform(-4, 4)) / 20) / np.max(np.abs(click))
    if room == "pyroomacoustics":
        from omnieval.benchmarks.starbench.room import in_simulated_room

        listener = (float(rng.uniform(1.5, 2.5)), float(rng.uniform(3.5, 5.5)))
        return in_simulated_room(click, distance_m, listener, RATE)
    return in_room(rng, click, distance_m)


def _perception_item(
    rng: np.random.Generator, root: Path, sub: str, n: int, room: str = "synthetic"
) -> dict[str, Any]:
    folder = f"starbench_audios/foundation_perception/{sub}"
    item_id = f"synth_pc_{sub}_{n}"
    if sub in SPATIAL_PERCEPTION:
        rel = f"{folder}/{item_id}.wav"
        if sub == "azimuth":
            options = list(DIRECTIONS)
            answer = options[int(rng.integers(len(options)))]
            audio = binaural(_noise_burst(rng, 0.4), DIRECTIONS[answer])
            question = "From which direction does the sound come?"
        elif sub == "elevation":
            options = list(ELEVATIONS)
            answer = options[int(rng.integers(len(options)))]
            azimuth = float(rng.uniform(-30, 30))
            audio = binaural(notched(rng, 0.4, ELEVATIONS[answer]), azimuth)
            question = "Is the sound source above, at or below the listener's ear level?"
        else:
            options = list(DISTANCES)
            answer = options[int(rng.integers(len(options)))]
            audio = _distance_audio(rng, DISTANCES[answer], room)
            question = "How far from the listener is the sound source?"
        write_wav(root / rel, audio)
        return {
            "id": item_id,
            "task": "foundation_perception",
            "category": "spatial",
            "sub-category": sub,
            "question": question,
            "options": options,
            "answer": answer,
            "audio_paths": [rel],
        }
    winner = int(rng.integers(3))
    base_freq = float(rng.uniform(250, 500))
    paths: list[str] = []
    for k in range(3):
        top = k == winner
        if sub == "pitch":
            audio = tone(base_freq * (1.6 if top else float(rng.uniform(0.8, 1.25))), 0.3)
        elif sub == "loudness":
            audio = tone(base_freq, 0.3, amplitude=0.5 if top else float(rng.uniform(0.05, 0.2)))
        else:
            audio = tone(base_freq, 0.6 if top else float(rng.uniform(0.15, 0.35)))
        rel = f"{folder}/{item_id}_{k + 1}.wav"
        write_wav(root / rel, audio)
        paths.append(rel)
    question = {
        "pitch": "Which audio has the highest pitch?",
        "loudness": "Which audio is the loudest?",
        "duration": "Which audio lasts the longest?",
    }[sub]
    options = [f"Audio {k + 1}" for k in range(3)]
    return {
        "id": item_id,
        "task": "foundation_perception",
        "category": "non-spatial",
        "sub-category": sub,
        "question": question,
        "options": options,
        "answer": options[winner],
        "audio_paths": paths,
    }


def _temporal_item(rng: np.random.Generator, root: Path, n: int) -> dict[str, Any]:
    code = TEMPORAL_SUBCATEGORIES[n % len(TEMPORAL_SUBCATEGORIES)]
    item_id = f"synth_tr_{code}_{n}"
    folder = "starbench_audios/holistic_reasoning/temporal"
    f0 = float(rng.uniform(250, 400))
    uncut = glide(f0, f0 * 3, 0.9)
    third = len(uncut) // 3
    paths = []
    for k in range(3):
        rel = f"{folder}/{item_id}_clip{k + 1}.wav"
        write_wav(root / rel, _fade(uncut[k * third : (k + 1) * third]))
        paths.append(rel)
    uncut_rel = f"{folder}/{item_id}_uncut.wav"
    write_wav(root / uncut_rel, uncut)
    options = [ORDERINGS[i] for i in rng.permutation(len(ORDERINGS))]
    return {
        "id": item_id,
        "task": "holistic_reasoning_temporal",
        "category": "temporal",
        "sub-category": code,
        "question": "The three clips are cut from one tone whose pitch keeps rising. "
        "In which order were they recorded?",
        "options": options,
        "answer": ORDERINGS[0],
        "audio_paths": paths,
        "global_caption": "A single tone glides steadily upward in pitch from low to high.",
        "uncut_audio_path": uncut_rel,
    }


def _spatial_item(rng: np.random.Generator, root: Path, n: int, sub: str) -> dict[str, Any]:
    item_id = f"synth_sr_{sub}_{n}"
    rel = f"starbench_audios/holistic_reasoning/spatial/{item_id}.wav"
    if sub == "motion":
        options = list(MOTIONS)
        answer = options[int(rng.integers(len(options)))]
        burst = _noise_burst(rng, 0.8)
        ramp = np.linspace(-70.0, 70.0, len(burst))
        azimuth = {MOTIONS[0]: ramp, MOTIONS[1]: -ramp, MOTIONS[2]: np.zeros(len(burst))}[answer]
        audio = binaural(burst, azimuth)
        question = "In which direction does the sound source move?"
    elif sub == "trajectory":
        options = list(TRAJECTORIES)
        answer = options[int(rng.integers(len(options)))]
        burst = _noise_burst(rng, 0.9) * 10 ** (float(rng.uniform(-4, 4)) / 20)
        start_m, end_m = TRAJECTORIES[answer]
        distance = np.linspace(start_m, end_m, len(burst))
        audio = binaural(burst / distance, float(rng.uniform(-30, 30)))
        question = "How does the sound source move relative to the listener?"
    elif sub == "relation3":
        options = list(TONES3)
        azimuths = [float(a) for a in rng.permutation([-60.0, 0.0, 60.0])]  # low, middle, high
        position = list(POSITIONS3)[int(rng.integers(len(POSITIONS3)))]
        answer = TONES3[int(np.argsort(azimuths)[POSITIONS3[position]])]
        pitches = (
            float(rng.uniform(250, 350)),
            float(rng.uniform(700, 900)),
            float(rng.uniform(1800, 2400)),
        )
        audio = sum(
            (binaural(tone(hz, 0.6, 0.15), az) for hz, az in zip(pitches, azimuths, strict=True)),
            np.zeros((int(0.6 * RATE), 2)),
        )
        question = (
            "Three tones play at once from three loudspeakers: a low, a middle and a high one. "
            f"Which tone is {'the ' if position != 'in the middle' else ''}{position}?"
        )
    else:
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
        audio = binaural(tone(low_hz, 0.6, 0.2), low_az) + binaural(
            tone(high_hz, 0.6, 0.2), high_az
        )
        question = (
            "Two tones play at once from two loudspeakers: a low one and a high one. "
            "Where is the high tone?"
        )
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
    """`n` items per family (each perception sub-category, temporal, each spatial reasoning
    sub-category) under `out`. `room` renders the distance family: `pyroomacoustics`
    (image-source simulation, the `starbench` extra), `synthetic` (numpy only) or `auto` (the
    first when importable); the choice is recorded in `edition.json`."""
    if n < 1:
        raise ValueError("n must be at least 1")
    from omnieval.benchmarks.starbench.room import resolve_room

    room = resolve_room(room)
    rng = np.random.default_rng(seed)
    perception: dict[str, list[dict[str, Any]]] = {sub: [] for sub in PERCEPTION}
    temporal: list[dict[str, Any]] = []
    spatial: list[dict[str, Any]] = []
    for k in range(n):
        for sub in PERCEPTION:
            perception[sub].append(_perception_item(rng, out, sub, k, room))
        temporal.append(_temporal_item(rng, out, k))
        spatial += [_spatial_item(rng, out, k, sub) for sub in SPATIAL_REASONING]
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
