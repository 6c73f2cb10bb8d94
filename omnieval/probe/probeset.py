"""The generated probe set: a few dozen tiny items, each answerable through exactly one path.

`ensure_probe_set(root, seed)` writes (once, then reuses) one `mcq`-format JSONL file per path
with its media beside it, under `root/probe-v{VERSION}-seed{seed}/`. The paths:

| path | carrier | question |
|---|---|---|
| `text` | the prompt alone | a sum of two small numbers |
| `image` | a PNG of a seven-segment digit | which digit is shown |
| `audio-tones` | a mono WAV of 1-4 tones | how many beeps |
| `audio-speech` | a mono WAV of a spoken digit | which number is spoken |
| `video-frames` | an MP4 whose frames show a digit mid-clip, soundtrack silent | which digit |
| `video-soundtrack` | an MP4 with blank frames and 1-4 tones in its soundtrack | how many beeps |
| `audio-channels` | a stereo WAV with a tone in one channel only | left or right |
| `timing` | an MP4 with a full-frame flash and a beep far apart | which came first |

Answer letters are spread evenly per path, so a model that always gives the same letter scores
at most chance.
"""

from __future__ import annotations

import json
import os
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from omnieval.media.encode import encode_png
from omnieval.probe import signals
from omnieval.types import Modality

VERSION = 2
FPS = 10
WIDTH, HEIGHT = 320, 240
SR = signals.SAMPLE_RATE


@dataclass(frozen=True)
class ProbePath:
    """One way into a model: its name, what it needs the model to take, and its question."""

    name: str
    needs: frozenset[Modality]
    question: str
    summary: str
    items: int
    options: int = 4


PATHS: tuple[ProbePath, ...] = (
    ProbePath("text", frozenset({Modality.TEXT}), "What is {a} + {b}?", "prompt text only", 6),
    ProbePath(
        "image", frozenset({Modality.IMAGE}), "Which digit is shown in the image?", "a PNG", 6
    ),
    ProbePath(
        "audio-tones",
        frozenset({Modality.AUDIO}),
        "How many beeps do you hear in the audio?",
        "tones in a WAV",
        6,
    ),
    ProbePath(
        "audio-speech",
        frozenset({Modality.AUDIO}),
        "Which number is spoken in the audio?",
        "a spoken digit in a WAV",
        6,
    ),
    ProbePath(
        "video-frames",
        frozenset({Modality.VIDEO}),
        "Which digit appears on screen in the video?",
        "a digit in the frames, silent soundtrack",
        6,
    ),
    ProbePath(
        "video-soundtrack",
        frozenset({Modality.AUDIO}),
        "How many beeps are there in the video's soundtrack?",
        "tones in a video's own soundtrack, blank frames",
        6,
    ),
    ProbePath(
        "audio-channels",
        frozenset({Modality.AUDIO}),
        "The sound is in one channel of a stereo recording. In which ear is it?",
        "a tone in the left or the right channel only",
        8,
        options=2,
    ),
    ProbePath(
        "timing",
        frozenset({Modality.VIDEO, Modality.AUDIO}),
        "A video shows a flash of light and plays a beep. Which came first?",
        "a flash and a beep 1.5-2 s apart",
        8,
        options=2,
    ),
)
PATH_NAMES = tuple(p.name for p in PATHS)
EAR_OPTIONS = ("the left ear", "the right ear")
ORDER_OPTIONS = ("the flash of light", "the beep")


def path_named(name: str) -> ProbePath:
    for path in PATHS:
        if path.name == name:
            return path
    raise KeyError(f"unknown probe path {name!r}; known: {', '.join(PATH_NAMES)}")


def set_dir(root: Path, seed: int) -> Path:
    return root / f"probe-v{VERSION}-seed{seed}"


def ensure_probe_set(root: Path, seed: int = 0) -> Path:
    """The probe set for `seed` under `root`, generated unless it is already complete."""
    out = set_dir(root, seed)
    marker = out / "probe.json"
    if marker.is_file():
        facts = json.loads(marker.read_text(encoding="utf-8"))
        if facts.get("version") == VERSION and facts.get("seed") == seed:
            return out
    out.mkdir(parents=True, exist_ok=True)
    engine = signals.speech_engine()
    rng = np.random.default_rng([seed, VERSION])
    for path in PATHS:
        # answer positions spread evenly over the letters, so a constant answer scores chance
        positions = rng.permutation([k % path.options for k in range(path.items)])
        rows = [_item(path, k, int(positions[k]), rng, out, engine) for k in range(path.items)]
        _write_text(out / f"{path.name}.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    facts = {"version": VERSION, "seed": seed, "speech": engine, "paths": list(PATH_NAMES)}
    _write_text(marker, json.dumps(facts, indent=2) + "\n")
    return out


def _item(
    path: ProbePath, k: int, position: int, rng: np.random.Generator, out: Path, engine: str
) -> dict[str, Any]:
    item_id = f"{path.name}-{k}"
    media_dir = out / path.name
    media_dir.mkdir(exist_ok=True)
    if path.name == "audio-channels":
        left = position == 0
        file = media_dir / f"{item_id}.wav"
        mono = signals.tone_train(1, 0.3, 1.2)
        silent = np.zeros_like(mono)
        _write_wav(file, np.stack([mono, silent] if left else [silent, mono]))
        return _row(item_id, path, path.question, list(EAR_OPTIONS), 0 if left else 1, file, out)
    if path.name == "timing":
        flash_first = position == 0
        early = float(rng.uniform(0.4, 0.7))
        late = early + float(rng.uniform(1.6, 2.0))
        flash_at, beep_at = (early, late) if flash_first else (late, early)
        file = media_dir / f"{item_id}.mp4"
        _write_timing_clip(file, flash_at, beep_at)
        return _row(
            item_id, path, path.question, list(ORDER_OPTIONS), 0 if flash_first else 1, file, out
        )
    answer, options = _numeric(path, rng)
    question = path.question
    media: Path | None = None
    if path.name == "text":
        a = int(rng.integers(1, answer))
        question = question.format(a=a, b=answer - a)
    elif path.name == "image":
        media = media_dir / f"{item_id}.png"
        media.write_bytes(encode_png(signals.digit_image(answer, WIDTH, HEIGHT)))
    elif path.name == "audio-tones":
        media = media_dir / f"{item_id}.wav"
        _write_wav(media, signals.tone_train(answer, 0.3, 2.4)[None, :])
    elif path.name == "audio-speech":
        media = media_dir / f"{item_id}.wav"
        word = signals.spoken_digit(answer, engine)
        track = np.zeros(int(0.3 * SR) * 2 + word.size, dtype=np.float32)
        track[int(0.3 * SR) : int(0.3 * SR) + word.size] = word
        _write_wav(media, track[None, :])
    elif path.name == "video-frames":
        media = media_dir / f"{item_id}.mp4"
        frames = np.full((30, HEIGHT, WIDTH, 3), 60, dtype=np.uint8)
        for index in range(10, 24):  # 1.0 s to 2.4 s
            signals.draw_digit(frames[index], answer)
        _write_mp4(media, frames, np.zeros(3 * SR, dtype=np.float32))
    elif path.name == "video-soundtrack":
        media = media_dir / f"{item_id}.mp4"
        frames = np.full((35, HEIGHT, WIDTH, 3), 60, dtype=np.uint8)
        _write_mp4(media, frames, signals.tone_train(answer, 0.4, 3.5))
    options[0], options[position] = options[position], options[0]
    return _row(item_id, path, question, [str(o) for o in options], position, media, out)


def _numeric(path: ProbePath, rng: np.random.Generator) -> tuple[int, list[int]]:
    """The answer (first) and three distractors for a numeric path."""
    if path.name in ("audio-tones", "video-soundtrack"):
        pool = [1, 2, 3, 4]
        answer = int(rng.choice(pool))
    elif path.name == "text":
        answer = int(rng.integers(3, 19))
        pool = list(range(2, 20))
    else:
        answer = int(rng.integers(0, 10))
        pool = list(range(10))
    others = [v for v in pool if v != answer]
    picked = rng.choice(len(others), size=3, replace=False)
    return answer, [answer, *(others[i] for i in picked)]


def _row(
    item_id: str,
    path: ProbePath,
    question: str,
    options: list[str],
    answer: int,
    file: Path | None,
    root: Path,
) -> dict[str, Any]:
    media: list[dict[str, Any]] = []
    if file is not None:
        kind = {".png": "image", ".wav": "audio", ".mp4": "video"}[file.suffix]
        media.append({"kind": kind, "path": str(file.relative_to(root))})
    return {
        "id": item_id,
        "question": question,
        "options": options,
        "answer": chr(ord("A") + answer),
        "category": path.name,
        "media": media,
    }


def _write_timing_clip(file: Path, flash_at: float, beep_at: float) -> None:
    frames = np.full((40, HEIGHT, WIDTH, 3), 30, dtype=np.uint8)
    first = round(flash_at * FPS)
    frames[first : first + 12] = 235  # 1.2 s, so a 1 frame/s sampler sees it
    audio = np.zeros(4 * SR, dtype=np.float32)
    beep = signals.tone(0.3, 800.0)
    start = int(beep_at * SR)
    audio[start : start + beep.size] = beep[: audio.size - start]
    _write_mp4(file, frames, audio)


def _write_wav(file: Path, samples: np.ndarray) -> None:
    """16-bit PCM WAV of float samples [channels, n]."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").T.copy()
    tmp = file.with_name(file.name + ".part")
    with wave.open(str(tmp), "wb") as writer:
        writer.setnchannels(samples.shape[0])
        writer.setsampwidth(2)
        writer.setframerate(SR)
        writer.writeframes(pcm.tobytes())
    os.replace(tmp, file)


def _write_mp4(file: Path, frames: np.ndarray, audio: np.ndarray) -> None:
    """H.264 (single-threaded, reproducible) + AAC mono through PyAV."""
    tmp = file.with_name(file.name + ".part")
    with av.open(str(tmp), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height = WIDTH, HEIGHT
        video.pix_fmt = "yuv420p"
        video.options = {"crf": "18", "preset": "veryfast", "threads": "1"}
        sound = container.add_stream("aac", rate=SR)
        sound.layout = "mono"
        for k, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = k
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for s in range(0, audio.size, 1024):
            chunk = np.ascontiguousarray(audio[s : s + 1024], dtype=np.float32)[None, :]
            block = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            block.sample_rate = SR
            block.pts = s
            container.mux(sound.encode(block))
        container.mux(sound.encode(None))
    os.replace(tmp, file)


def _write_text(file: Path, text: str) -> None:
    tmp = file.with_name(file.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, file)
