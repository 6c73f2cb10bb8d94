"""The `vsync-solver` rules for the generated Level 2/3 edition (see synth_when).

"When" ("N people sit side by side. Should the person at position k (...) speak at the t-th
second?", options A yes / B no), from the media of the request (the prefix [0, t)):
- the picture: in the last `CUE_WINDOW_S` of frames, the pixels of the yellow glove (R > 220,
  G > 190, B < 80: no skin, hair, shirt or backdrop colour comes near); the strip (of N equal
  vertical strips) holding their mean x is the person the speaker points at;
- the sound: the RMS of the last `SILENCE_WINDOW_S` of audio below `SILENCE_RMS` is silence
  (spoken words have RMS ~0.08, the noise floor ~0.01);
- frames and sound (`avt`): YES iff silent and the glove is at position k;
- frames only (`vt`): YES iff the glove is at position k; sound only (`at`): YES iff silent.
  One modality is right on two item kinds in three, like the majority answer (NO).
"How" ("What should the person ... say?"): a fixed template utterance; the solver has no way
to know the content, which is spoken only after t.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from omnieval.media import AudioSpec, FrameSpec, MediaCache, load_audio, probe, sample_frames
from omnieval.models.base import PermanentModelError
from omnieval.types import TimeWindow

WHEN = re.compile(
    r"\b(\w+) people sit side by side\. Should the person at position (\d+)\b.*?\bspeak\b", re.I
)
HOW = re.compile(r"\bWhat should the person at position (\d+)\b.*?\bsay\?", re.I)
HOW_ANSWER = "Thanks, I agree with that."
COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5}
CUE_WINDOW_S = 0.3
SILENCE_WINDOW_S = 0.4
SILENCE_RMS = 0.03
MIN_GLOVE_PIXELS = 6


def glove_position(path: Path, seats: int, cache: MediaCache | None) -> int | None:
    """The 1-based position the glove is at in the last frames, or None without a glove."""
    duration = probe(path).duration_s
    start = max(0.0, duration - CUE_WINDOW_S)
    frames = sample_frames(path, FrameSpec(window=TimeWindow(start=start)), cache)
    if len(frames) == 0:
        return None
    rgb = frames.images.astype(np.int16)
    mask = (rgb[..., 0] > 220) & (rgb[..., 1] > 190) & (rgb[..., 2] < 80)
    counts = mask.sum(axis=(1, 2))
    seen = np.nonzero(counts >= MIN_GLOVE_PIXELS)[0]
    if seen.size == 0:
        return None
    last = int(seen[-1])
    xs = np.nonzero(mask[last])[1]
    width = frames.images.shape[2]
    return min(seats, int(float(xs.mean()) / (width / seats)) + 1)


def is_silent(path: Path, cache: MediaCache | None) -> tuple[bool, float]:
    """(silent?, RMS) of the last `SILENCE_WINDOW_S` of the file's audio."""
    clip = load_audio(path, AudioSpec(sample_rate=16_000), cache)
    tail = clip.samples[0][-int(SILENCE_WINDOW_S * 16_000) :]
    rms = float(np.sqrt(np.mean(tail.astype(np.float64) ** 2))) if tail.size else 0.0
    return rms < SILENCE_RMS, rms


def when_answer(
    text: str,
    options: dict[str, str],
    path: Path | None,
    frames: bool,
    sound: bool,
    cache: MediaCache | None,
) -> tuple[str, str, dict[str, float]]:
    """(letter, rule, evidence) for a "when" prompt; see the module doc. The letters of YES
    and NO are read from the option lines (`options`: letter -> text), so rotations work."""
    yes = next((k for k, v in options.items() if v.strip().lower().startswith("yes")), "A")
    no = next((k for k, v in options.items() if v.strip().lower().startswith("no")), "B")
    match = WHEN.search(text)
    if match is None:
        raise PermanentModelError("vsync-solver: not a generated 'when' question")
    seats = COUNTS.get(match.group(1).lower())
    if seats is None:
        raise PermanentModelError(f"vsync-solver: unknown people count {match.group(1)!r}")
    named = int(match.group(2))
    evidence: dict[str, float] = {}
    cue_ok = silent = None
    if path is not None and frames:
        where = glove_position(path, seats, cache)
        evidence["glove_position"] = float(where or 0)
        cue_ok = where == named
    if path is not None and sound:
        silent, rms = is_silent(path, cache)
        evidence["tail_rms"] = rms
    if cue_ok is not None and silent is not None:
        return (yes if cue_ok and silent else no), "silence-and-cue", evidence
    if cue_ok is not None:
        return (yes if cue_ok else no), "cue-only", evidence
    if silent is not None:
        return (yes if silent else no), "silence-only", evidence
    return no, "no-media", evidence


__all__ = ["HOW", "HOW_ANSWER", "WHEN", "glove_position", "is_silent", "when_answer"]
