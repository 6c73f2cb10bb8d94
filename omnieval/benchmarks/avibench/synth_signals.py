"""Primitive, low-semantic stimuli for the generated AVI-Bench edition: four sound classes, four
flat shapes in a small palette, and writers for WAV, PNG and MP4 (H.264 + AAC through PyAV).

The *shape-sound code* ties the two modalities together without any learned semantics:

| shape | its sound | what the sound is |
|---|---|---|
| circle | beep | a pure 1 kHz sine |
| square | buzz | a 200 Hz square wave (odd harmonics) |
| triangle | whistle | a pure 3 kHz sine |
| diamond | hiss | white noise |

The prompts state the code, so a model can use it; `avibench-solver` decides it from the signal
(spectral flatness, then the spectral peak).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from omnieval.media.audio import AudioClip
from omnieval.media.encode import encode_png, encode_wav

RATE = 16000
WIDTH = 192
HEIGHT = 144
VIDEO_W = 160
VIDEO_H = 120
FPS = 10
BACKGROUND = (205, 190, 160)

SHAPES = ("circle", "square", "triangle", "diamond")
SOUND_OF = {"circle": "beep", "square": "buzz", "triangle": "whistle", "diamond": "hiss"}
SHAPE_OF = {sound: shape for shape, sound in SOUND_OF.items()}
SOUNDS = tuple(SOUND_OF[s] for s in SHAPES)
#: sound class -> spectral peak (Hz) of its tone; the hiss has none
SOUND_PEAK_HZ = {"beep": 1000.0, "buzz": 200.0, "whistle": 3000.0}
CODE_TEXT = (
    "Each shape has its own sound: a circle beeps (a pure mid tone), a square buzzes (a low, "
    "harsh tone), a triangle whistles (a pure high tone) and a diamond hisses (noise)."
)

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 70, 220),
    "yellow": (235, 215, 30),
    "purple": (140, 50, 170),
    "white": (250, 250, 250),
    "black": (20, 20, 20),
    "gray": (120, 120, 120),
}
#: colours that stand out well from the background and from each other (shape fills)
VIVID = ("red", "green", "blue", "yellow", "purple")


# --------------------------------------------------------------------------- audio


def _fade(x: np.ndarray, seconds: float = 0.008) -> np.ndarray:
    n = min(int(seconds * RATE), len(x) // 2)
    if n == 0:
        return x
    ramp = np.linspace(0.0, 1.0, n)
    y = x.copy()
    y[:n] *= ramp
    y[len(y) - n :] *= ramp[::-1]
    return y


def sound_event(
    kind: str, seconds: float, amplitude: float, rng: np.random.Generator
) -> np.ndarray:
    """One event of a sound class, `seconds` long, peak about `amplitude`."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    if kind == "hiss":
        wave = np.clip(rng.standard_normal(n) / 3.0, -1.0, 1.0)
    elif kind == "buzz":
        base = SOUND_PEAK_HZ["buzz"]  # band-limited square wave: odd harmonics up to 3 kHz
        wave = np.zeros(n)
        for k in range(1, int(3000 / base) + 1, 2):
            wave += np.sin(2 * np.pi * base * k * t) / k
        wave *= 4 / np.pi / 1.2
    elif kind in SOUND_PEAK_HZ:
        wave = np.sin(2 * np.pi * SOUND_PEAK_HZ[kind] * t)
    else:
        raise ValueError(f"unknown sound class {kind!r}")
    return _fade(amplitude * np.asarray(wave, dtype=np.float64))


@dataclass(frozen=True)
class Event:
    """A sound event: class, start (s), length (s), amplitude."""

    kind: str
    start: float
    length: float
    amplitude: float


def mix(
    events: list[Event], seconds: float, rng: np.random.Generator, floor: float = 0.002
) -> np.ndarray:
    """A mono track of `seconds` with the events over a faint noise floor."""
    track = rng.standard_normal(int(seconds * RATE)) * floor
    for ev in events:
        clip = sound_event(ev.kind, ev.length, ev.amplitude, rng)
        start = int(ev.start * RATE)
        end = min(len(track), start + len(clip))
        track[start:end] += clip[: end - start]
    return track


def spaced_starts(
    rng: np.random.Generator, count: int, seconds: float, length: float, gap: float = 0.25
) -> list[float]:
    """`count` event starts in [0.2, seconds - length - 0.1], at least `length + gap` apart,
    on a 50 ms grid."""
    step = length + gap
    slots = np.arange(0.2, seconds - length - 0.1 + 1e-9, 0.05)
    for _ in range(200):
        picks = np.sort(rng.choice(slots, size=count, replace=False))
        if count < 2 or np.min(np.diff(picks)) >= step - 1e-9:
            return [round(float(p), 3) for p in picks]
    return [round(0.2 + k * step, 3) for k in range(count)]


def write_wav(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    clip = AudioClip(samples=np.clip(samples, -1, 1).astype(np.float32)[None, :], sample_rate=RATE)
    _atomic_write(path, encode_wav(clip))


# --------------------------------------------------------------------------- pictures


def canvas(width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    img = np.empty((height, width, 3), np.uint8)
    img[:] = BACKGROUND
    return img


def shape_mask(shape: str, cx: float, cy: float, r: float, height: int, width: int) -> np.ndarray:
    """Boolean [H, W] mask of a shape centred at (cx, cy) with half-size r (no anti-aliasing)."""
    ys, xs = np.mgrid[0:height, 0:width]
    dx, dy = xs + 0.5 - cx, ys + 0.5 - cy
    if shape == "circle":
        return np.asarray(dx**2 + dy**2 <= r**2)
    if shape == "square":
        return np.asarray((np.abs(dx) <= r) & (np.abs(dy) <= r))
    if shape == "diamond":
        return np.asarray(np.abs(dx) + np.abs(dy) <= r)
    if shape == "triangle":  # apex up, base at cy + r
        inside_y = (dy >= -r) & (dy <= r)
        half_width = (dy + r) / 2.0
        return np.asarray(inside_y & (np.abs(dx) <= half_width))
    raise ValueError(f"unknown shape {shape!r}")


def paint(img: np.ndarray, mask: np.ndarray, rgb: tuple[int, int, int]) -> None:
    img[mask] = rgb


def box_xywh(mask: np.ndarray) -> list[int]:
    """[x, y, w, h] pixel box of a mask (the release's AVL / AVLG box convention)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    x0, x1, y0, y1 = int(cols[0]), int(cols[-1]), int(rows[0]), int(rows[-1])
    return [x0, y0, x1 - x0 + 1, y1 - y0 + 1]


def write_png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, encode_png(img))


# --------------------------------------------------------------------------- video


def write_mp4(path: Path, frames: np.ndarray, audio: np.ndarray, crf: int = 16) -> None:
    """H.264 (yuv420p, single-threaded: reproducible bytes) at `FPS` + AAC mono at `RATE`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    height, width = frames.shape[1:3]
    with av.open(str(tmp), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p"
        video.options = {"crf": str(crf), "preset": "ultrafast", "threads": "1"}
        video.codec_context.time_base = Fraction(1, FPS)
        sound = container.add_stream("aac", rate=RATE)
        sound.layout = "mono"
        sound.bit_rate = 96_000
        for k, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = k
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        peak = float(np.abs(audio).max()) if audio.size else 0.0
        track = audio * (0.95 / peak) if peak > 0.95 else audio
        for s in range(0, track.size, 1024):
            chunk = np.ascontiguousarray(track[s : s + 1024], dtype=np.float32)[None, :]
            block = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            block.sample_rate = RATE
            block.pts = s
            container.mux(sound.encode(block))
        container.mux(sound.encode(None))
    os.replace(tmp, path)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


SOLIDS = ("cube", "cylinder", "cone", "sphere")


def draw_solid(
    img: np.ndarray, solid: str, cx: float, cy: float, r: float, rgb: tuple[int, int, int]
) -> None:
    """A shaded solid, lit from the upper left: a cube in isometric view (three flat faces), a
    cylinder (shaded side, flat light top), a cone (shaded side, curved base) or a sphere
    (radial shading)."""
    height, width = img.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    dx, dy = xs + 0.5 - cx, ys + 0.5 - cy
    base = np.asarray(rgb, np.float64)
    shade = np.zeros((height, width))
    if solid == "cube":  # regular hexagon of circumradius r, split into three rhombi
        s3 = np.sqrt(3.0)
        inside = (np.abs(dx) <= s3 / 2 * r) & (np.abs(dy) <= r - np.abs(dx) / s3)
        top = inside & (dy <= -np.abs(dx) / s3 + 1e-9)
        left = inside & ~top & (dx < 0)
        shade[top], shade[left], shade[inside & ~top & ~left] = 1.0, 0.75, 0.5
    elif solid in ("cylinder", "cone"):
        half, cap = 0.75 * r, 0.22 * r  # half width, half height of the elliptical ends
        side_x = np.clip(0.6 - 0.4 * dx / half, 0.4, 1.0)  # lit from the left
        if solid == "cylinder":
            body = (np.abs(dx) <= half) & (np.abs(dy) <= r - cap)
            bottom = ((dx / half) ** 2 + ((dy - (r - cap)) / cap) ** 2) <= 1
            lid = ((dx / half) ** 2 + ((dy + (r - cap)) / cap) ** 2) <= 1
            inside = body | bottom | lid
            shade[inside] = side_x[inside]
            shade[lid] = 1.0
        else:
            reach = half * (dy + r) / (2 * r - cap)  # the side widens from the apex down
            side = (dy >= -r) & (dy <= r - cap) & (np.abs(dx) <= reach)
            bottom = ((dx / half) ** 2 + ((dy - (r - cap)) / cap) ** 2) <= 1
            inside = side | bottom
            shade[inside] = side_x[inside]
    elif solid == "sphere":
        dist = np.sqrt((dx + 0.35 * r) ** 2 + (dy + 0.35 * r) ** 2) / (1.6 * r)
        inside = dx**2 + dy**2 <= r**2
        shade[inside] = np.clip(1.0 - 0.6 * dist[inside], 0.4, 1.0)
    else:
        raise ValueError(f"unknown solid {solid!r}")
    img[inside] = np.clip(np.round(base * shade[inside][:, None]), 0, 255).astype(np.uint8)
