"""What both kinds of generated V-SYNC clip share: the clip record, audio track arithmetic,
mouth openings from speech, the faces' frames, and the mp4 and JSON writers."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from omnieval.benchmarks.vsync.synth_config import VsyncSynthConfig
from omnieval.benchmarks.vsync.synth_render import (
    NoiseBank,
    background,
    draw_faces,
    face_geometry,
    random_look,
    render_mouths,
)
from omnieval.benchmarks.vsync.synth_speech import (
    SAMPLE_RATE,
    Engine,
    Voice,
    Word,
    synth_words,
    synth_words_many,
)


@dataclass
class Clip:
    category: str
    frames: np.ndarray
    audio: np.ndarray
    question: str
    options: list[str]
    answer: int
    asr: str
    facts: dict[str, Any] = field(default_factory=dict)



class WordStream:
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


def prefetch(streams: list[WordStream]) -> None:
    """Fill every stream's first batch at once (one espeak-ng call for the whole clip)."""
    batches = synth_words_many(
        [s.voice for s in streams], streams[0].batch, [s.rng for s in streams]
    )
    for stream, words in zip(streams, batches, strict=True):
        stream.words = words


def place_words(
    stream: WordStream, start: float, end: float, rng: np.random.Generator
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


def face_frames(
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


def normalised_envelope(x: np.ndarray, sr: int, fps: float, n_frames: int) -> np.ndarray:
    """Mouth opening per frame in [0, 1]: the frame RMS of the speaker's own speech track."""
    env = frame_rms(x, sr, fps, n_frames)
    peak = float(env.max())
    return env / peak if peak > 0 else env


def batch_size(engine: Engine, cfg: VsyncSynthConfig) -> int:
    """Words synthesised at a time: espeak-ng pays per call, so it gets a clip's worth."""
    return math.ceil(cfg.clip_seconds / 0.3) + 2 if engine == "espeak" else 3


def add_at(track: np.ndarray, samples: np.ndarray, at: int) -> None:
    a, b = max(at, 0), min(at + samples.size, track.size)
    if b > a:
        track[a:b] += samples[a - at : b - at]


def shifted(x: np.ndarray, shift: int) -> np.ndarray:
    """`x` delayed by `shift` samples (advanced if negative), same length, zero-filled."""
    out = np.zeros_like(x)
    if shift >= 0:
        out[shift:] = x[: x.size - shift]
    else:
        out[:shift] = x[-shift:]
    return out


def noise_track(rng: np.random.Generator, n: int, level: float) -> np.ndarray:
    if level <= 0:
        return np.zeros(n, np.float32)
    return (rng.standard_normal(n, dtype=np.float32) * np.float32(level)).astype(np.float32)


def voice_label(voice: Voice) -> str:
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


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
