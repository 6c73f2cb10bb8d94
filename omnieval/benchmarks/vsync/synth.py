"""The generated V-SYNC edition: seeded clips and questions in V-SYNC's own Level-1 layout.

`generate_vsync(out, n, seed)` writes

    OUT/edition.json                  generator version, seed, n, full config, speech engine
    OUT/data/level_1/dataset.json     the official item list (+ `category` and `synth` extras)
    OUT/data/level_1/videos/*.mp4     H.264 (yuv420p) + AAC (mono, 16 kHz), written with PyAV

Two task kinds (the `category` of an item):

- `who-is-speaking`: 2-4 faces side by side, every mouth moving all the time with that person's
  own speech, while the soundtrack carries one person at a time (turns of about 1-2 s). "Who is
  speaking at t s?" is answerable only by matching the audible speech to a moving mouth: all
  mouths move (video alone is blind), and voices are drawn at random, independent of the seat
  (audio alone is blind).
- `sync`: one talking face or a series of flash-and-beep events, with the audio shifted by an
  offset from `sync_offsets_ms` (positive = audio later than video). "Is the audio in sync with
  the video?" with the fixed options ahead / in sync / behind.

Everything is drawn from per-item random generators seeded by (seed, index), so an edition is the
same whatever the number of workers, and a larger `n` with the same seed extends a smaller one.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
from pydantic import Field, model_validator

from omnieval.benchmarks.vsync.synth_render import (
    Flash,
    NoiseBank,
    background,
    draw_faces,
    face_geometry,
    random_look,
    render_flashes,
    render_mouths,
)
from omnieval.benchmarks.vsync.synth_speech import (
    SAMPLE_RATE,
    Engine,
    Voice,
    Word,
    draw_voices,
    espeak_version,
    resolve_engine,
    synth_words,
    synth_words_many,
)
from omnieval.types import Frozen

GENERATOR_VERSION = "1"
WHO = "who-is-speaking"
SYNC = "sync"
WHO_QUESTION = "Who is speaking at {t:.1f} s?"
SYNC_QUESTION = "Is the audio in sync with the video?"
SYNC_OPTIONS = (
    "The audio is ahead of the video",
    "The audio and video are in sync",
    "The audio is behind the video",
)
LETTERS = "ABCD"


class VsyncSynthConfig(Frozen):
    """Difficulty knobs of the generated V-SYNC edition (all recorded in `edition.json`)."""

    n_speakers_min: int = Field(
        default=2, ge=2, le=4, description="fewest faces in a who-is-speaking clip"
    )
    n_speakers_max: int = Field(default=4, ge=2, le=4, description="most faces (= most options)")
    clip_seconds: float = Field(default=4.0, ge=2.0, le=60.0)
    fps: int = Field(default=25, ge=5, le=60)
    width: int = Field(default=320, ge=64, le=1920)
    height: int = Field(default=180, ge=64, le=1080)
    turn_seconds_min: float = Field(default=1.0, gt=0.0, description="shortest speaking turn")
    turn_seconds_max: float = Field(default=2.0, gt=0.0, description="longest speaking turn")
    edge_margin_s: float = Field(
        default=0.3, ge=0.0, description="question time's distance to turn edges"
    )
    sync_share: float = Field(default=0.3, ge=0.0, le=1.0, description="fraction of sync items")
    sync_offsets_ms: tuple[int, ...] = Field(
        default=(-400, -200, -100, 0, 100, 200, 400),
        description="audio offsets drawn uniformly (repeat a value to weight it); + = audio late",
    )
    sync_styles: tuple[Literal["face", "flash"], ...] = ("face", "flash")
    flash_events_min: int = Field(default=3, ge=1)
    flash_events_max: int = Field(default=5, ge=1)
    flash_frames: int = Field(default=2, ge=1, description="frames a flash disc stays on")
    beep_ms: float = Field(default=60.0, gt=0.0, description="tone burst length")
    noise_level: float = Field(
        default=0.01, ge=0.0, le=0.3, description="noise std: x255 on pixels, x1.0 on audio samples"
    )
    mouth_gain: float = Field(default=1.0, gt=0.0, le=1.6, description="how wide mouths open")
    speech: Literal["auto", "espeak", "formant"] = "auto"
    crf: int = Field(default=23, ge=0, le=51, description="H.264 quality (lower = better)")
    x264_preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"
    ] = Field(default="ultrafast", description="x264 speed/size trade-off (quality is set by crf)")
    audio_bitrate: int = Field(default=96_000, ge=16_000)

    @model_validator(mode="after")
    def _check(self) -> VsyncSynthConfig:
        problems = []
        if self.n_speakers_min > self.n_speakers_max:
            problems.append("n_speakers_min > n_speakers_max")
        if self.turn_seconds_min > self.turn_seconds_max:
            problems.append("turn_seconds_min > turn_seconds_max")
        if self.turn_seconds_min < 2 * self.edge_margin_s + 0.2:
            problems.append("turn_seconds_min must be at least 2 * edge_margin_s + 0.2")
        if self.flash_events_min > self.flash_events_max:
            problems.append("flash_events_min > flash_events_max")
        if self.width % 2 or self.height % 2:
            problems.append("width and height must be even (yuv420p)")
        if not self.sync_offsets_ms:
            problems.append("sync_offsets_ms is empty")
        if any(abs(o) * 4 > self.clip_seconds * 1000 for o in self.sync_offsets_ms):
            problems.append("every |sync offset| must be under a quarter of the clip")
        if not self.sync_styles:
            problems.append("sync_styles is empty")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --------------------------------------------------------------------------- entry point


def generate_vsync(
    out: Path,
    n: int,
    seed: int,
    config: VsyncSynthConfig | None = None,
    workers: int = 2,
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """Write a generated V-SYNC edition of `n` items under `out`; return its dataset.json path.

    `on_progress(done)` is called after every finished clip with the number finished so far.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, not {seed}")
    cfg = config or VsyncSynthConfig()
    engine = resolve_engine(cfg.speech)
    out = Path(out)
    level = out / "data" / "level_1"
    videos = level / "videos"
    videos.mkdir(parents=True, exist_ok=True)

    jobs = [
        _Job(index=i, seed=seed, config=cfg, engine=engine, video_dir=str(videos)) for i in range(n)
    ]
    records: list[dict[str, Any] | None] = [None] * n
    if workers <= 1 or n == 1:
        for done, job in enumerate(jobs, 1):
            records[job.index] = make_item(job)
            if on_progress:
                on_progress(done)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, n), mp_context=ctx) as pool:
            futures = {pool.submit(make_item, job): job.index for job in jobs}
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    records[futures[future]] = future.result()
                    if on_progress:
                        on_progress(done)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # fail fast: drop queued clips
                raise

    items = [r for r in records if r is not None]
    dataset = level / "dataset.json"
    _write_json(dataset, items)
    # Videos of an earlier edition written to the same place are no longer listed: remove them.
    keep = {item["video_path"] for item in items}
    for stale in videos.glob("vsync-s*-*.mp4"):
        if stale.name not in keep:
            stale.unlink()
    counts: dict[str, int] = {}
    for item in items:
        counts[item["category"]] = counts.get(item["category"], 0) + 1
    _write_json(
        out / "edition.json",
        {
            "benchmark": "vsync",
            "edition": "synth",
            "generator": "omnieval.benchmarks.vsync.synth",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "n": n,
            "config": cfg.model_dump(mode="json"),
            "speech_engine": engine,
            "espeak_version": espeak_version() if engine == "espeak" else None,
            "pyav_version": av.__version__,
            "counts": dict(sorted(counts.items())),
            "dataset": "data/level_1/dataset.json",
            "videos": "data/level_1/videos",
        },
    )
    return dataset


@dataclass(frozen=True)
class _Job:
    index: int
    seed: int
    config: VsyncSynthConfig
    engine: Engine
    video_dir: str


def item_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of item `index` of edition `seed` (independent of everything else)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def make_item(job: _Job) -> dict[str, Any]:
    """Draw, render and encode one item; return its dataset.json record."""
    cfg = job.config
    rng = item_rng(job.seed, job.index)
    is_sync = bool(rng.random() < cfg.sync_share)
    clip = _sync_item(rng, cfg, job.engine) if is_sync else _who_item(rng, cfg, job.engine)
    item_id = f"vsync-s{job.seed}-{job.index:05d}"
    video_name = f"{item_id}.mp4"
    write_mp4(Path(job.video_dir) / video_name, clip.frames, clip.audio, cfg)
    facts = {
        "generator_version": GENERATOR_VERSION,
        "seed": job.seed,
        "index": job.index,
        "task": clip.category,
        "answer_index": clip.answer,
        "speech_engine": job.engine,
        **clip.facts,
    }
    return {
        "id": item_id,
        "video_path": video_name,
        "question": clip.question,
        "options": [f"{LETTERS[i]}. {text}" for i, text in enumerate(clip.options)],
        "correct_answer": LETTERS[clip.answer],
        "asr_content": clip.asr,
        "category": clip.category,
        "synth": facts,
    }


@dataclass
class _Clip:
    category: str
    frames: np.ndarray
    audio: np.ndarray
    question: str
    options: list[str]
    answer: int
    asr: str
    facts: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- who is speaking


@dataclass
class _Placed:
    """Words placed on one speaker's timeline, per turn: (start_s, word)."""

    per_turn: list[list[tuple[float, Word]]]


class _WordStream:
    """A speaker's words, synthesised in batches as the timeline needs them."""

    def __init__(self, voice: Voice, rng: np.random.Generator, batch: int) -> None:
        self.voice, self.rng, self.batch = voice, rng, batch
        self.words: list[Word] = []

    def peek(self) -> Word:
        if not self.words:
            self.words = synth_words(self.voice, self.batch, self.rng)
        return self.words[0]

    def pop(self) -> Word:
        word = self.peek()
        self.words.pop(0)
        return word


def _prefetch(streams: list[_WordStream]) -> None:
    """Fill every stream's first batch at once (one espeak-ng call for the whole clip)."""
    batches = synth_words_many(
        [s.voice for s in streams], streams[0].batch, [s.rng for s in streams]
    )
    for stream, words in zip(streams, batches, strict=True):
        stream.words = words


def _place_words(
    stream: _WordStream, start: float, end: float, rng: np.random.Generator
) -> list[tuple[float, Word]]:
    """Fill [start, end) with whole words (a short lead-in, small gaps, a tail margin)."""
    pos = start + rng.uniform(0.05, 0.2)
    limit = end - 0.08
    placed: list[tuple[float, Word]] = []
    skips = 0
    while True:
        word = stream.peek()
        if pos + word.seconds > limit:
            if placed or skips >= 3:
                break
            stream.pop()  # a word too long for an empty turn: drop it, try the next
            skips += 1
            continue
        placed.append((pos, stream.pop()))
        pos += word.seconds + rng.uniform(0.03, 0.12)
    return placed


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


def _who_item(rng: np.random.Generator, cfg: VsyncSynthConfig, engine: Engine) -> _Clip:
    n = int(rng.integers(cfg.n_speakers_min, cfg.n_speakers_max + 1))
    turns = _turns(rng, cfg, n)
    # Speaker i sits at seat i; voices are drawn at random for this clip, so a voice says
    # nothing about a seat.
    voices = draw_voices(engine, n, rng)
    sr = SAMPLE_RATE
    n_samples = round(cfg.clip_seconds * sr)
    batch = _batch_size(engine, cfg)
    tracks = np.zeros((n, n_samples), np.float32)
    placed: list[_Placed] = []
    streams = [_WordStream(v, np.random.default_rng(rng.integers(2**63)), batch) for v in voices]
    _prefetch(streams)
    for i, stream in enumerate(streams):
        per_turn = [_place_words(stream, start, end, rng) for start, end, _ in turns]
        for turn_words in per_turn:
            for pos, word in turn_words:
                _add(tracks[i], word.samples, round(pos * sr))
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
    audio += _noise(rng, n_samples, cfg.noise_level)

    t, turn_index = _question_time(rng, cfg, turns, placed)
    answer = turns[turn_index][2]

    n_frames = round(cfg.clip_seconds * cfg.fps)
    openings = np.stack([_normalised_envelope(tracks[i], sr, cfg.fps, n_frames) for i in range(n)])
    frames = _face_frames(rng, cfg, n, openings)
    return _Clip(
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
            "voices": [_voice_label(v) for v in voices],
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


# --------------------------------------------------------------------------- sync


def _sync_item(rng: np.random.Generator, cfg: VsyncSynthConfig, engine: Engine) -> _Clip:
    offset_ms = int(cfg.sync_offsets_ms[int(rng.integers(len(cfg.sync_offsets_ms)))])
    style = cfg.sync_styles[int(rng.integers(len(cfg.sync_styles)))]
    sr = SAMPLE_RATE
    n_samples = round(cfg.clip_seconds * sr)
    n_frames = round(cfg.clip_seconds * cfg.fps)
    shift = round(offset_ms * sr / 1000)
    facts: dict[str, Any] = {"offset_ms": offset_ms, "style": style}
    if style == "face":
        voice = draw_voices(engine, 1, rng)[0]
        batch = _batch_size(engine, cfg)
        stream = _WordStream(voice, np.random.default_rng(rng.integers(2**63)), batch)
        track = np.zeros(n_samples, np.float32)
        lines = []
        t = float(rng.uniform(0.1, 0.3))
        while cfg.clip_seconds - t > 0.6:
            end = min(
                t + float(rng.uniform(cfg.turn_seconds_min, cfg.turn_seconds_max)), cfg.clip_seconds
            )
            words = _place_words(stream, t, end, rng)
            for pos, word in words:
                _add(track, word.samples, round(pos * sr))
            heard = [(p + offset_ms / 1000, w) for p, w in words]
            heard = [(p, w) for p, w in heard if p >= 0 and p + w.seconds <= cfg.clip_seconds]
            if heard:
                first, last = heard[0][0], heard[-1][0] + heard[-1][1].seconds
                text = " ".join(w.text for _, w in heard) if engine == "espeak" else "[speech]"
                lines.append(f"[{first:.2f}-{last:.2f}] {text}")
            t = end + float(rng.uniform(0.15, 0.5))
        audio = _shifted(track, shift)
        openings = _normalised_envelope(track, sr, cfg.fps, n_frames)[None, :]
        frames = _face_frames(rng, cfg, 1, openings)
        asr = "\n".join(lines)
        facts["voices"] = [_voice_label(voice)]
    else:
        flashes, centres = _draw_flashes(rng, cfg, n_frames)
        base = background(cfg.width, cfg.height, rng)
        noise = NoiseBank(cfg.height, cfg.width, n_frames, cfg.noise_level, rng)
        frames = render_flashes(base, flashes, noise)
        audio = np.zeros(n_samples, np.float32)
        tone_hz = float(rng.uniform(700.0, 1400.0))
        beep = _beep(tone_hz, cfg.beep_ms / 1000, sr)
        for c in centres:
            _add(audio, beep, round(c * sr) + shift - beep.size // 2)
        asr = ""
        facts["flash_centres_s"] = [round(c, 4) for c in centres]
    audio += _noise(rng, n_samples, cfg.noise_level)
    answer = 0 if offset_ms < 0 else (1 if offset_ms == 0 else 2)
    return _Clip(
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


# --------------------------------------------------------------------------- shared pieces


def _face_frames(
    rng: np.random.Generator, cfg: VsyncSynthConfig, seats: int, openings: np.ndarray
) -> np.ndarray:
    base = background(cfg.width, cfg.height, rng)
    geoms = [face_geometry(s, seats, cfg.width, cfg.height, rng) for s in range(seats)]
    looks = [random_look(rng) for _ in range(seats)]
    draw_faces(base, list(zip(geoms, looks, strict=True)))
    noise = NoiseBank(cfg.height, cfg.width, openings.shape[1], cfg.noise_level, rng)
    return render_mouths(base, geoms, openings, cfg.mouth_gain, noise)


def frame_rms(x: np.ndarray, sr: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS of `x` over each frame's display interval [k / fps, (k + 1) / fps)."""
    edges = np.clip(np.round(np.arange(n_frames + 1) * sr / fps).astype(np.int64), 0, x.size)
    energy = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    sums = energy[edges[1:]] - energy[edges[:-1]]
    return np.sqrt(sums / np.maximum(edges[1:] - edges[:-1], 1))


def _normalised_envelope(x: np.ndarray, sr: int, fps: float, n_frames: int) -> np.ndarray:
    """Mouth opening per frame in [0, 1]: the frame RMS of the speaker's own speech track."""
    env = frame_rms(x, sr, fps, n_frames)
    peak = float(env.max())
    return env / peak if peak > 0 else env


def _batch_size(engine: Engine, cfg: VsyncSynthConfig) -> int:
    """Words synthesised at a time: espeak-ng pays per call, so it gets a clip's worth."""
    return math.ceil(cfg.clip_seconds / 0.3) + 2 if engine == "espeak" else 3


def _add(track: np.ndarray, samples: np.ndarray, at: int) -> None:
    a, b = max(at, 0), min(at + samples.size, track.size)
    if b > a:
        track[a:b] += samples[a - at : b - at]


def _shifted(x: np.ndarray, shift: int) -> np.ndarray:
    """`x` delayed by `shift` samples (advanced if negative), same length, zero-filled."""
    out = np.zeros_like(x)
    if shift >= 0:
        out[shift:] = x[: x.size - shift]
    else:
        out[:shift] = x[-shift:]
    return out


def _noise(rng: np.random.Generator, n: int, level: float) -> np.ndarray:
    if level <= 0:
        return np.zeros(n, np.float32)
    return (rng.standard_normal(n, dtype=np.float32) * np.float32(level)).astype(np.float32)


def _voice_label(voice: Voice) -> str:
    if voice.engine == "espeak":
        return f"espeak:{voice.name}:pitch{voice.pitch_pct:+d}%:rate{voice.rate_pct}%"
    return f"formant:f0={voice.f0:.0f}:scale={voice.scale:.2f}"


def write_mp4(path: Path, frames: np.ndarray, audio: np.ndarray, cfg: VsyncSynthConfig) -> None:
    """H.264 (yuv420p, single-threaded so the bytes are reproducible) + AAC mono, via PyAV.

    Audio sample n plays at n / sample_rate and video frame k at k / fps: FFmpeg's mp4 muxer
    records the AAC encoder delay in an edit list, so decoders drop the priming samples and the
    decoded audio lines up with the source to the sample.
    """
    tmp = path.with_name(path.name + ".part")
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0.95:
        audio = audio * np.float32(0.95 / peak)
    with av.open(str(tmp), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=cfg.fps)
        video.width, video.height = cfg.width, cfg.height
        video.pix_fmt = "yuv420p"
        video.options = {"crf": str(cfg.crf), "preset": cfg.x264_preset, "threads": "1"}
        sound = container.add_stream("aac", rate=SAMPLE_RATE)
        sound.layout = "mono"
        sound.bit_rate = cfg.audio_bitrate
        sound.options = {"aac_coder": "fast"}
        for k, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = k
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        step = 1024
        for s in range(0, audio.size, step):
            chunk = np.ascontiguousarray(audio[s : s + step], dtype=np.float32)[None, :]
            block = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            block.sample_rate = SAMPLE_RATE
            block.pts = s
            container.mux(sound.encode(block))
        container.mux(sound.encode(None))
    os.replace(tmp, path)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
