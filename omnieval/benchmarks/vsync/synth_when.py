"""Generated V-SYNC Level 2/3 edition ("should X speak now?"), in SocialOmni's annotation layout.

Three to four faces sit side by side (the Level 1 renderer); one of them, the *speaker*, talks
(the Level 1 speech engines) and at some moment raises an arm towards one person, ending in a
yellow glove beside that person (the *visual cue*). At the question time t (a whole second, as
SocialOmni's timestamps are) the question asks whether a named person, never the speaker, should
speak. Items cycle through three kinds (index mod 3, so every edition is balanced):

| kind | at t the speaker ... | and points at | answer |
|---|---|---|---|
| `yes` | has finished (>= `silence_min_s` of silence before t) | the named person | YES |
| `no-mid-utterance` | is still talking | the named person | NO |
| `no-other-addressee` | has finished | someone else | NO |

So neither modality alone answers: the picture shows a cue at the named person in `yes` and
`no-mid-utterance` items alike, the sound shows silence in `yes` and `no-other-addressee` items
alike; a one-modality rule (cue -> yes, or silence -> yes) is right on two kinds in three, the
same as answering the majority class (NO) every time. Mouths stay closed (mouth motion would
tell the sound from the picture).

After t the clip goes on for `tail_s`: in `yes` items the named person says the reference
utterance (drawn from templates; `question_2.answer`), otherwise the speaker goes on or the
addressee answers. That continuation is in `full_asr` and in the video after t, and must never
reach a model (the prefix cut and the loader see to it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from omnieval.benchmarks.vsync.synth import item_rng
from omnieval.benchmarks.vsync.synth_clip import write_json, write_mp4
from omnieval.benchmarks.vsync.synth_config import VsyncSynthConfig
from omnieval.benchmarks.vsync.synth_jobs import category_counts, make_items
from omnieval.benchmarks.vsync.synth_render import (
    NoiseBank,
    background,
    draw_faces,
    face_geometry,
    random_look,
)
from omnieval.benchmarks.vsync.synth_speech import (
    SAMPLE_RATE,
    Engine,
    SpeechMode,
    Voice,
    Word,
    draw_voices,
    espeak_version,
    espeak_words,
    formant_word,
    resolve_engine,
    synth_words,
)
from omnieval.benchmarks.vsync.synth_speech import _normalise as normalise_word
from omnieval.benchmarks.vsync.synth_who import seat_label
from omnieval.types import Frozen

GENERATOR_VERSION = "1"
KINDS = ("yes", "no-mid-utterance", "no-other-addressee")
GLOVE_RGB = (240.0, 210.0, 30.0)
WHEN_QUESTION = (
    "{count} people sit side by side. "
    "Should the person at position {pos} ({label}) speak at the {nth} second?"
)
COUNT_WORDS = {3: "Three", 4: "Four"}
HOW_QUESTION = "What should the person at position {pos} ({label}) say?"
_OPENERS = ("Thanks", "Right", "Well", "Okay", "Sure", "Yes")
_PHRASES = (
    "I think the {topic} plan works for me",
    "I agree about the {topic}",
    "let me add one thing about the {topic}",
    "I can take care of the {topic} tomorrow",
    "the {topic} sounds good to me",
    "I was worried about the {topic} too",
)
_TOPICS = ("garden", "budget", "trip", "dinner", "meeting", "project", "music", "concert")


class VsyncWhenConfig(Frozen):
    """Knobs of the generated Level 2/3 edition (all recorded in `edition.json`)."""

    people_min: int = Field(default=3, ge=3, le=4)
    people_max: int = Field(default=4, ge=3, le=4)
    t_choices: tuple[int, ...] = (3, 4)
    tail_s: float = Field(default=1.5, gt=0.5)
    silence_min_s: float = Field(default=0.8, ge=0.6)
    cue_lead_min_s: float = Field(default=0.4, gt=0.2)
    cue_lead_max_s: float = Field(default=1.4, gt=0.2)
    fps: int = 25
    width: int = 320
    height: int = 180
    noise_level: float = Field(default=0.01, ge=0.0, le=0.2)
    speech: SpeechMode = "auto"
    crf: int = 23
    x264_preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"
    ] = "ultrafast"
    audio_bitrate: int = 96_000

    @model_validator(mode="after")
    def _check(self) -> VsyncWhenConfig:
        if self.people_min > self.people_max:
            raise ValueError("people_min must not exceed people_max")
        if not self.t_choices or min(self.t_choices) < 3:
            raise ValueError("t_choices must be whole seconds of at least 3")
        if self.cue_lead_min_s > self.cue_lead_max_s:
            raise ValueError("cue_lead_min_s must not exceed cue_lead_max_s")
        return self

    def render(self) -> VsyncSynthConfig:
        """The Level 1 settings the shared encoder reads."""
        return VsyncSynthConfig(
            fps=self.fps,
            width=self.width,
            height=self.height,
            crf=self.crf,
            x264_preset=self.x264_preset,
            audio_bitrate=self.audio_bitrate,
            noise_level=self.noise_level,
        )


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def generate_vsync_when(
    out: Path,
    n: int,
    seed: int,
    config: VsyncWhenConfig | None = None,
    workers: int = 1,
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """Write `n` items under `out/data/level_2/`; return the annotations.json path."""
    if n < 1 or seed < 0:
        raise ValueError(f"n must be at least 1 and seed non-negative (got n={n}, seed={seed})")
    cfg = config or VsyncWhenConfig()
    engine = resolve_engine(cfg.speech)
    level = Path(out) / "data" / "level_2"
    videos = level / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    jobs = [_Job(i, seed, cfg, engine, str(videos)) for i in range(n)]
    written = make_items(make_when_item, jobs, workers, on_progress)
    keep = {item["video_file"] for item in written}
    for stale in videos.glob("vsyncwhen-s*-*.mp4"):
        if stale.name not in keep:
            stale.unlink()
    annotations = level / "annotations.json"
    write_json(annotations, written)
    write_json(
        Path(out) / "edition.json",
        {
            "benchmark": "vsync-level2",
            "generator": "omnieval.benchmarks.vsync.synth_when",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "n": n,
            "config": cfg.model_dump(mode="json"),
            "speech_engine": engine,
            "espeak_version": espeak_version() if engine == "espeak" else None,
            "counts": category_counts(written),
            "annotations": "data/level_2/annotations.json",
        },
    )
    return annotations


@dataclass(frozen=True)
class _Job:
    index: int
    seed: int
    config: VsyncWhenConfig
    engine: Engine
    video_dir: str


@dataclass
class _Scene:
    seats: int
    speaker: int
    named: int
    addressee: int
    t: int
    speech_end: float
    cue_on: float
    kind: str


def make_when_item(job: _Job) -> dict[str, Any]:
    """Draw, render and encode one item; return its annotation record."""
    cfg = job.config
    rng = item_rng(job.seed, job.index)
    kind = KINDS[job.index % len(KINDS)]
    seats = int(rng.integers(cfg.people_min, cfg.people_max + 1))
    speaker = int(rng.integers(seats))
    others = [s for s in range(seats) if s != speaker]
    named, other = (int(x) for x in rng.choice(others, size=2, replace=False))
    t = int(cfg.t_choices[int(rng.integers(len(cfg.t_choices)))])
    length = t + cfg.tail_s
    addressee = other if kind == "no-other-addressee" else named
    voices = draw_voices(job.engine, 2, rng)
    reference = _template(rng)
    words = synth_words(voices[0], 24, rng)
    if kind == "no-mid-utterance":
        talk_until = length
    else:
        talk_until = t - float(rng.uniform(cfg.silence_min_s, cfg.silence_min_s + 0.6))
    audio = np.zeros(round(length * SAMPLE_RATE), np.float32)
    spoken, speech_end = _place(audio, words, 0.25, talk_until, rng)
    reply_voice = voices[1]
    reply_text = reference if kind == "yes" else _template(rng)
    lines = [_asr_line(spoken)]
    if kind != "no-mid-utterance":
        start = t + 0.15
        reply = _utterance(reply_voice, reply_text, rng)
        _add(audio, reply, int(start * SAMPLE_RATE))
        lines.append(
            f"[{start:.2f}-{min(length, start + len(reply) / SAMPLE_RATE):.2f}] {reply_text}"
        )
    audio += rng.normal(0.0, cfg.noise_level, audio.size).astype(np.float32)
    cue_on = max(0.2, t - float(rng.uniform(cfg.cue_lead_min_s, cfg.cue_lead_max_s)))
    scene = _Scene(seats, speaker, named, addressee, t, speech_end, cue_on, kind)
    frames = _render(scene, length, cfg, rng)
    item_id = f"vsyncwhen-s{job.seed}-{job.index:05d}"
    video_name = f"{item_id}.mp4"
    write_mp4(Path(job.video_dir) / video_name, frames, audio, cfg.render())
    label = seat_label(named, seats)
    return {
        "video_id": item_id,
        "video_file": video_name,
        "question_1": {
            "question": WHEN_QUESTION.format(
                count=COUNT_WORDS[seats], pos=named + 1, label=label, nth=ordinal(t)
            ),
            "timestamp": f"00:{t:02d}:00",
            "option_A": "Yes",
            "option_B": "No",
            "correct_answer": "A" if kind == "yes" else "B",
        },
        "question_2": {
            "question": HOW_QUESTION.format(pos=named + 1, label=label),
            "answer": reference if kind == "yes" else "",
        },
        "metadata": {
            "num_people": seats,
            "turn_taking": kind,
            "lighting": "synthetic",
            "consistency": "synthetic",
            "camera_shot": "static",
        },
        "full_asr": "\n".join(line for line in lines if line),
        "category": kind,
        "synth": {
            "generator_version": GENERATOR_VERSION,
            "seed": job.seed,
            "index": job.index,
            "kind": kind,
            "t": t,
            "speaker": speaker,
            "named": named,
            "addressee": addressee,
            "speech_end": round(speech_end, 3),
            "cue_on": round(cue_on, 3),
            "speech_engine": job.engine,
        },
    }


def _template(rng: np.random.Generator) -> str:
    opener = _OPENERS[int(rng.integers(len(_OPENERS)))]
    phrase = _PHRASES[int(rng.integers(len(_PHRASES)))]
    topic = _TOPICS[int(rng.integers(len(_TOPICS)))]
    return f"{opener}, {phrase.format(topic=topic)}."


def _utterance(voice: Voice, text: str, rng: np.random.Generator) -> np.ndarray:
    """The continuation: the text spoken by espeak, or babble words for the formant engine."""
    if voice.engine == "espeak":
        words = espeak_words([(voice, [text.replace(",", "").rstrip(".")])])[0]
        return np.concatenate([w.samples for w in words])
    parts = [normalise_word(formant_word(voice, rng)) for _ in range(4)]
    gap = np.zeros(int(0.08 * SAMPLE_RATE), np.float32)
    return np.concatenate([np.concatenate([p, gap]) for p in parts])


def _place(
    audio: np.ndarray, words: list[Word], start: float, until: float, rng: np.random.Generator
) -> tuple[list[tuple[float, float, str]], float]:
    """Words one after the other from `start` with short gaps, each ending before `until`."""
    placed: list[tuple[float, float, str]] = []
    at = start
    for word in words:
        end = at + word.seconds
        if end > until or end > audio.size / SAMPLE_RATE:
            break
        _add(audio, word.samples, int(at * SAMPLE_RATE))
        placed.append((at, end, word.text))
        at = end + float(rng.uniform(0.04, 0.12))
    if not placed:
        raise RuntimeError("no word fits before the question time; raise t_choices")
    return placed, placed[-1][1]


def _asr_line(words: list[tuple[float, float, str]]) -> str:
    return f"[{words[0][0]:.2f}-{words[-1][1]:.2f}] " + " ".join(w for _, _, w in words)


def _add(track: np.ndarray, samples: np.ndarray, at: int) -> None:
    end = min(track.size, at + samples.size)
    if end > at:
        track[at:end] += samples[: end - at]


def _render(
    scene: _Scene, length: float, cfg: VsyncWhenConfig, rng: np.random.Generator
) -> np.ndarray:
    """uint8 [F, H, W, 3]: the faces, and from `cue_on` the speaker's arm and glove."""
    n_frames = round(length * cfg.fps)
    base = background(cfg.width, cfg.height, rng)
    geoms = [face_geometry(s, scene.seats, cfg.width, cfg.height, rng) for s in range(scene.seats)]
    looks = [random_look(rng) for _ in range(scene.seats)]
    draw_faces(base, list(zip(geoms, looks, strict=True)))
    cued = base.copy()
    speaker, target = geoms[scene.speaker], geoms[scene.addressee]
    side = 1.0 if target.cx > speaker.cx else -1.0
    hand_x = target.cx - side * 1.05 * target.rx
    hand_y = target.cy + 1.05 * target.ry
    _arm(
        cued,
        speaker.cx + side * 0.9 * speaker.rx,
        speaker.cy + 1.35 * speaker.ry,
        hand_x,
        hand_y,
        looks[scene.speaker].shirt,
        0.16 * speaker.rx,
    )
    _disc(cued, hand_x, hand_y, 0.3 * target.rx, GLOVE_RGB)
    noise = NoiseBank(cfg.height, cfg.width, n_frames, cfg.noise_level, rng)
    plain, pointing = noise.frames(base), noise.frames(cued)
    first_cue = int(np.ceil(scene.cue_on * cfg.fps))
    return np.concatenate([plain[:first_cue], pointing[first_cue:]])


def _arm(
    img: np.ndarray,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    rgb: tuple[float, ...],
    half_width: float,
) -> None:
    height, width = img.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    u = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
    dist = np.hypot(xs - (x0 + u * dx), ys - (y0 + u * dy))
    alpha = np.clip(half_width + 0.5 - dist, 0.0, 1.0)[..., None]
    img += (np.array(rgb, np.float32) - img) * alpha


def _disc(img: np.ndarray, cx: float, cy: float, r: float, rgb: tuple[float, ...]) -> None:
    height, width = img.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    alpha = np.clip(r + 0.5 - np.hypot(xs - cx, ys - cy), 0.0, 1.0)[..., None]
    img += (np.array(rgb, np.float32) - img) * alpha
