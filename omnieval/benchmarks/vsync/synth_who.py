"""The `who-is-speaking` clip: 2-4 faces whose mouths all move with their own speech while the
soundtrack carries one person at a time; the question asks who speaks at a time."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from omnieval.benchmarks.vsync.synth_clip import (
    Clip,
    WordStream,
    add_at,
    batch_size,
    face_frames,
    noise_track,
    normalised_envelope,
    place_words,
    prefetch,
    voice_label,
)
from omnieval.benchmarks.vsync.synth_config import WHO, WHO_QUESTION, VsyncSynthConfig
from omnieval.benchmarks.vsync.synth_speech import SAMPLE_RATE, Engine, Word, draw_voices


@dataclass
class _Placed:
    """Words placed on one speaker's timeline, per turn: (start_s, word)."""

    per_turn: list[list[tuple[float, Word]]]



def _turns(
    rng: np.random.Generator, cfg: VsyncSynthConfig, n_speakers: int
) -> list[tuple[float, float, int]]:
    """Consecutive turns (start, end, speaker) over the clip; consecutive speakers differ."""
    t = float(rng.uniform(0.0, 0.2))
    prev = -1
    turns = []
    while cfg.clip_seconds - t > 0.3:
        end = min(
            t + float(rng.uniform(cfg.turn_seconds_min, cfg.turn_seconds_max)), cfg.clip_seconds
        )
        if cfg.clip_seconds - end < 0.5 * cfg.turn_seconds_min:
            end = cfg.clip_seconds
        choices = [s for s in range(n_speakers) if s != prev]
        speaker = choices[int(rng.integers(len(choices)))]
        turns.append((t, end, speaker))
        prev, t = speaker, end
    return turns


def who_item(rng: np.random.Generator, cfg: VsyncSynthConfig, engine: Engine) -> Clip:
    n = int(rng.integers(cfg.n_speakers_min, cfg.n_speakers_max + 1))
    turns = _turns(rng, cfg, n)
    # Speaker i sits at seat i; voices are drawn at random for this clip, so a voice says
    # nothing about a seat.
    voices = draw_voices(engine, n, rng)
    sr = SAMPLE_RATE
    n_samples = round(cfg.clip_seconds * sr)
    batch = batch_size(engine, cfg)
    tracks = np.zeros((n, n_samples), np.float32)
    placed: list[_Placed] = []
    streams = [WordStream(v, np.random.default_rng(rng.integers(2**63)), batch) for v in voices]
    prefetch(streams)
    for i, stream in enumerate(streams):
        per_turn = [place_words(stream, start, end, rng) for start, end, _ in turns]
        for turn_words in per_turn:
            for pos, word in turn_words:
                add_at(tracks[i], word.samples, round(pos * sr))
        placed.append(_Placed(per_turn))

    audio = np.zeros(n_samples, np.float32)
    lines = []
    for j, (start, end, speaker) in enumerate(turns):
        a, b = round(start * sr), round(end * sr)
        audio[a:b] += tracks[speaker, a:b]
        words = placed[speaker].per_turn[j]
        if words:
            first, last = words[0][0], words[-1][0] + words[-1][1].seconds
            text = " ".join(w.text for _, w in words) if engine == "espeak" else "[speech]"
            lines.append(f"[{first:.2f}-{last:.2f}] {text}")
    audio += noise_track(rng, n_samples, cfg.noise_level)

    t, turn_index = _question_time(rng, cfg, turns, placed)
    answer = turns[turn_index][2]

    n_frames = round(cfg.clip_seconds * cfg.fps)
    openings = np.stack([normalised_envelope(tracks[i], sr, cfg.fps, n_frames) for i in range(n)])
    frames = face_frames(rng, cfg, n, openings)
    return Clip(
        category=WHO,
        frames=frames,
        audio=audio,
        question=WHO_QUESTION.format(t=t),
        options=[f"The person at position {i + 1} ({seat_label(i, n)})" for i in range(n)],
        answer=answer,
        asr="\n".join(lines),
        facts={
            "t": t,
            "n_speakers": n,
            "turns": [[round(s, 3), round(e, 3), spk] for s, e, spk in turns],
            "voices": [voice_label(v) for v in voices],
        },
    )


def _question_time(
    rng: np.random.Generator,
    cfg: VsyncSynthConfig,
    turns: list[tuple[float, float, int]],
    placed: list[_Placed],
) -> tuple[float, int]:
    """A time on a 0.1 s grid inside a turn (>= edge_margin_s from its edges) and, where some
    turn allows it, >= 0.15 s inside the audible speaker's words; returns (t, turn index)."""
    for strict in (True, False):
        grid: list[tuple[float, int]] = []
        for j, (start, end, speaker) in enumerate(turns):
            lo, hi = start + cfg.edge_margin_s, end - cfg.edge_margin_s
            words = placed[speaker].per_turn[j]
            if strict:  # well inside the audible words, not in the pause after them
                if not words:
                    continue
                lo = max(lo, words[0][0] + 0.15)
                hi = min(hi, words[-1][0] + words[-1][1].seconds - 0.15)
            first, last = math.ceil(lo * 10 - 1e-9), math.floor(hi * 10 + 1e-9)
            grid.extend((k / 10, j) for k in range(first, last + 1))
        if grid:
            return grid[int(rng.integers(len(grid)))]
    raise RuntimeError("no turn is long enough for a question; raise turn_seconds_min")


def seat_label(seat: int, seats: int) -> str:
    if seat == 0:
        return "far left"
    if seat == seats - 1:
        return "far right"
    if seats == 3:
        return "middle"
    return "second from left" if seat == 1 else "second from right"
