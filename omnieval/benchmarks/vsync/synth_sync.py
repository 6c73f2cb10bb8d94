"""The `sync` clip: one talking face, or flash-and-beep events, with the audio shifted by an
offset; the question asks whether the audio is ahead, in sync or behind."""

from __future__ import annotations

from typing import Any

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
    shifted,
    voice_label,
)
from omnieval.benchmarks.vsync.synth_config import (
    SYNC,
    SYNC_OPTIONS,
    SYNC_QUESTION,
    VsyncSynthConfig,
)
from omnieval.benchmarks.vsync.synth_render import Flash, NoiseBank, background, render_flashes
from omnieval.benchmarks.vsync.synth_speech import SAMPLE_RATE, Engine, draw_voices


def sync_item(rng: np.random.Generator, cfg: VsyncSynthConfig, engine: Engine) -> Clip:
    offset_ms = int(cfg.sync_offsets_ms[int(rng.integers(len(cfg.sync_offsets_ms)))])
    style = cfg.sync_styles[int(rng.integers(len(cfg.sync_styles)))]
    sr = SAMPLE_RATE
    n_samples = round(cfg.clip_seconds * sr)
    n_frames = round(cfg.clip_seconds * cfg.fps)
    shift = round(offset_ms * sr / 1000)
    facts: dict[str, Any] = {"offset_ms": offset_ms, "style": style}
    if style == "face":
        voice = draw_voices(engine, 1, rng)[0]
        batch = batch_size(engine, cfg)
        stream = WordStream(voice, np.random.default_rng(rng.integers(2**63)), batch)
        track = np.zeros(n_samples, np.float32)
        lines = []
        t = float(rng.uniform(0.1, 0.3))
        while cfg.clip_seconds - t > 0.6:
            end = min(
                t + float(rng.uniform(cfg.turn_seconds_min, cfg.turn_seconds_max)), cfg.clip_seconds
            )
            words = place_words(stream, t, end, rng)
            for pos, word in words:
                add_at(track, word.samples, round(pos * sr))
            heard = [(p + offset_ms / 1000, w) for p, w in words]
            heard = [(p, w) for p, w in heard if p >= 0 and p + w.seconds <= cfg.clip_seconds]
            if heard:
                first, last = heard[0][0], heard[-1][0] + heard[-1][1].seconds
                text = " ".join(w.text for _, w in heard) if engine == "espeak" else "[speech]"
                lines.append(f"[{first:.2f}-{last:.2f}] {text}")
            t = end + float(rng.uniform(0.15, 0.5))
        audio = shifted(track, shift)
        openings = normalised_envelope(track, sr, cfg.fps, n_frames)[None, :]
        frames = face_frames(rng, cfg, 1, openings)
        asr = "\n".join(lines)
        facts["voices"] = [voice_label(voice)]
    else:
        flashes, centres = _draw_flashes(rng, cfg, n_frames)
        base = background(cfg.width, cfg.height, rng)
        noise = NoiseBank(cfg.height, cfg.width, n_frames, cfg.noise_level, rng)
        frames = render_flashes(base, flashes, noise)
        audio = np.zeros(n_samples, np.float32)
        tone_hz = float(rng.uniform(700.0, 1400.0))
        beep = _beep(tone_hz, cfg.beep_ms / 1000, sr)
        for c in centres:
            add_at(audio, beep, round(c * sr) + shift - beep.size // 2)
        asr = ""
        facts["flash_centres_s"] = [round(c, 4) for c in centres]
    audio += noise_track(rng, n_samples, cfg.noise_level)
    answer = 0 if offset_ms < 0 else (1 if offset_ms == 0 else 2)
    return Clip(
        category=SYNC,
        frames=frames,
        audio=audio,
        question=SYNC_QUESTION,
        options=list(SYNC_OPTIONS),
        answer=answer,
        asr=asr,
        facts=facts,
    )


def _draw_flashes(
    rng: np.random.Generator, cfg: VsyncSynthConfig, n_frames: int
) -> tuple[list[Flash], list[float]]:
    """Flash events at irregular times (so only one audio lag lines them all up)."""
    count = int(rng.integers(cfg.flash_events_min, cfg.flash_events_max + 1))
    margin = max(abs(o) for o in cfg.sync_offsets_ms) / 1000 + 0.1
    lo = max(0.3, margin)
    hi = cfg.clip_seconds - max(0.3, margin) - cfg.flash_frames / cfg.fps
    min_gap = 0.45
    while count > 1 and (count - 1) * min_gap > hi - lo:
        count -= 1
    # Gaps = min_gap + a random share of the slack: irregular, never closer than min_gap.
    slack = hi - lo - (count - 1) * min_gap
    cuts = np.sort(rng.uniform(0.0, slack, count))
    times = lo + cuts + np.arange(count) * min_gap
    radius_lo, radius_hi = 0.12 * cfg.height, 0.17 * cfg.height
    flashes, centres = [], []
    for time in times:
        frame = min(round(time * cfg.fps), n_frames - cfg.flash_frames)
        radius = float(rng.uniform(radius_lo, radius_hi))
        x = float(rng.uniform(radius + 2, cfg.width - radius - 2))
        y = float(rng.uniform(radius + 2, cfg.height - radius - 2))
        rgb = (255.0, float(rng.uniform(235, 255)), float(rng.uniform(200, 255)))
        flashes.append(
            Flash(frame=frame, length=cfg.flash_frames, x=x, y=y, radius=radius, rgb=rgb)
        )
        centres.append((frame + cfg.flash_frames / 2) / cfg.fps)
    return flashes, centres


def _beep(hz: float, seconds: float, sr: int) -> np.ndarray:
    n = max(1, round(seconds * sr))
    t = np.arange(n) / sr
    ramp = min(round(0.005 * sr), n // 2)
    env = np.ones(n)
    if ramp > 0:
        edge = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, ramp))
        env[:ramp], env[-ramp:] = edge, edge[::-1]
    return (0.3 * env * np.sin(2 * np.pi * hz * t)).astype(np.float32)
