"""A generated STAR-Bench edition in the release layout, numpy only, deterministic by seed.

Families (each item's answer is decidable from the signal; `starbench-solver` decides it):

| dataset | sub-category | media | question |
|---|---|---|---|
| `pc_nsp` | pitch | 3 mono tones | which audio has the highest pitch |
| `pc_nsp` | loudness | 3 mono tones | which audio is the loudest |
| `pc_nsp` | duration | 3 mono tones | which audio lasts the longest |
| `pc_sp` | azimuth | 1 binaural burst (ITD + ILD) | left, front or right |
| `pc` | all of the above | | |
| `tr*` | OSM, ISSE, TAO, DSS, ETC (cycling) | a rising glide in 3 clips | the clips' order |
| `sr*` | motion | 1 binaural burst panned over time | left to right, right to left or in front |

Binaural rendering is a far-field approximation: an interaural time difference of up to 0.6 ms
(Woodworth) and an interaural level difference of up to 8 dB at 90 degrees; no head-related
transfer function, no room.
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
PERCEPTION = ("pitch", "loudness", "duration", "azimuth")
DIRECTIONS = {"left": -60.0, "front": 0.0, "right": 60.0}
MOTIONS = ("from left to right", "from right to left", "it stays in front")
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


def _perception_item(rng: np.random.Generator, root: Path, sub: str, n: int) -> dict[str, Any]:
    folder = f"starbench_audios/foundation_perception/{sub}"
    item_id = f"synth_pc_{sub}_{n}"
    if sub == "azimuth":
        direction = list(DIRECTIONS)[int(rng.integers(len(DIRECTIONS)))]
        audio = binaural(_noise_burst(rng, 0.4), DIRECTIONS[direction])
        rel = f"{folder}/{item_id}.wav"
        write_wav(root / rel, audio)
        return {
            "id": item_id,
            "task": "foundation_perception",
            "category": "spatial",
            "sub-category": sub,
            "question": "From which direction does the sound come?",
            "options": list(DIRECTIONS),
            "answer": direction,
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


def _spatial_item(rng: np.random.Generator, root: Path, n: int) -> dict[str, Any]:
    item_id = f"synth_sr_motion_{n}"
    motion = MOTIONS[int(rng.integers(len(MOTIONS)))]
    burst = _noise_burst(rng, 0.8)
    ramp = np.linspace(-70.0, 70.0, len(burst))
    azimuth = {MOTIONS[0]: ramp, MOTIONS[1]: -ramp, MOTIONS[2]: np.zeros(len(burst))}[motion]
    rel = f"starbench_audios/holistic_reasoning/spatial/{item_id}.wav"
    write_wav(root / rel, binaural(burst, azimuth))
    return {
        "id": item_id,
        "task": "holistic_reasoning_spatial",
        "category": "spatial",
        "sub-category": "motion",
        "question": "In which direction does the sound source move?",
        "options": list(MOTIONS),
        "answer": motion,
        "audio_paths": [rel],
    }


def generate_starbench(
    out: Path,
    n: int = 4,
    seed: int = 0,
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """`n` items per family (each perception sub-category, temporal, spatial) under `out`."""
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    perception: dict[str, list[dict[str, Any]]] = {sub: [] for sub in PERCEPTION}
    temporal: list[dict[str, Any]] = []
    spatial: list[dict[str, Any]] = []
    for k in range(n):
        for sub in PERCEPTION:
            perception[sub].append(_perception_item(rng, out, sub, k))
        temporal.append(_temporal_item(rng, out, k))
        spatial.append(_spatial_item(rng, out, k))
        if on_progress:
            on_progress(k + 1)
    spatial_pc = perception["azimuth"]
    non_spatial = [i for sub in PERCEPTION if sub != "azimuth" for i in perception[sub]]
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
        json.dumps({"generator": "starbench", "n": n, "seed": seed}), encoding="utf-8"
    )
    return out
