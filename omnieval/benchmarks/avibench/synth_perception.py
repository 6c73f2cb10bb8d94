"""Perception and understanding stages of the generated edition.

- AMIC: a 3 s wav of 2-5 events of 1-3 sound classes; count the events by class
  (`{class: n}`);
- VMIC: a picture of 2-6 shapes of 1-3 classes; count the shapes by class (`{shape: n}`);
- AVL: a picture of 2-3 shapes and a wav of 1-2 of their sounds; the sounding shapes' boxes;
- AVM: a clip of a shape that grows at moments, with beeps; do the beeps come when it grows?
- VAR: a picture of one shape and 4 wavs; the indices of the wavs that are its sound;
- AVR: a wav of one sound class and 4 pictures; the indices of the pictures of its shape;
- AVC: a clip of one moving shape that sounds 1-3 times; templated reference captions.

The link between a sound and a shape is the shape-sound code of `synth_signals`.
"""

from __future__ import annotations

import numpy as np

from omnieval.benchmarks.avibench.synth_common import TaskFolder, write_clip
from omnieval.benchmarks.avibench.synth_sensation import SLOTS, pulsing_clip
from omnieval.benchmarks.avibench.synth_signals import (
    FPS,
    HEIGHT,
    PALETTE,
    SHAPE_OF,
    SHAPES,
    SOUND_OF,
    SOUNDS,
    VIDEO_H,
    VIDEO_W,
    VIVID,
    WIDTH,
    Event,
    box_xywh,
    canvas,
    mix,
    paint,
    shape_mask,
    spaced_starts,
    write_png,
    write_wav,
)

TIMES = {1: "once", 2: "twice", 3: "three times"}
VERB = {"beep": "beeps", "buzz": "buzzes", "whistle": "whistles", "hiss": "hisses"}
DIRECTIONS = {  # caption phrase -> (start, end) as fractions of the frame
    "from left to right": ((0.2, 0.5), (0.8, 0.5)),
    "from right to left": ((0.8, 0.5), (0.2, 0.5)),
    "upwards": ((0.5, 0.8), (0.5, 0.2)),
    "downwards": ((0.5, 0.2), (0.5, 0.8)),
}
CELL = 48  # VMIC / AVL grid cell (4 x 3 cells on a 192 x 144 picture)


def _classes(rng: np.random.Generator, pool: tuple[str, ...], k: int) -> list[str]:
    return [str(c) for c in rng.permutation(pool)[:k]]


def _cells(rng: np.random.Generator, count: int) -> list[tuple[float, float]]:
    cells = rng.permutation(12)[:count]
    jitter = rng.uniform(-4, 4, (count, 2))
    return [
        ((c % 4 + 0.5) * CELL + jitter[i, 0], (c // 4 + 0.5) * CELL + jitter[i, 1])
        for i, c in enumerate(cells)
    ]


def sound_track(
    rng: np.random.Generator, kinds: list[str], seconds: float, length: float = 0.25
) -> np.ndarray:
    """A track with one event per entry of `kinds` (in a random order), well apart."""
    starts = spaced_starts(rng, len(kinds), seconds, length)
    order = rng.permutation(len(kinds))
    amps = rng.uniform(0.2, 0.4, len(kinds))
    events = [Event(kinds[order[k]], starts[k], length, float(amps[k])) for k in range(len(kinds))]
    return mix(events, seconds, rng)


# --------------------------------------------------------------------------- AMIC / VMIC


def amic_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    item = f"{index:05d}"
    classes = _classes(rng, SOUNDS, int(rng.integers(1, 4)))
    counts = {c: 1 for c in classes}
    for _ in range(int(rng.integers(len(classes), 6)) - len(classes)):
        counts[classes[int(rng.integers(len(classes)))]] += 1
    kinds = [c for c, n in counts.items() for _ in range(n)]
    path, ref = folder.media(f"wavs/{item}.wav")
    write_wav(path, sound_track(rng, kinds, 3.0))
    folder.add(
        item,
        "count",
        "How many sound events of each class are there?",
        counts,
        prompt="prompt_amic",
        options="amic_cls_list",
        audios=[ref],
    )


def vmic_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    item = f"{index:05d}"
    classes = _classes(rng, SHAPES, int(rng.integers(1, 4)))
    total = int(rng.integers(max(2, len(classes)), 7))
    extra = [classes[int(rng.integers(len(classes)))] for _ in range(total - len(classes))]
    shapes = classes + extra
    img = canvas()
    for shape, (cx, cy) in zip(shapes, _cells(rng, total), strict=True):
        paint(
            img,
            shape_mask(shape, cx, cy, float(rng.uniform(12, 16)), HEIGHT, WIDTH),
            PALETTE[str(rng.choice(VIVID))],
        )
    counts = {c: shapes.count(c) for c in classes}
    path, ref = folder.media(f"images/{item}.png")
    write_png(path, img)
    folder.add(
        item,
        "count",
        "How many shapes of each class are there?",
        counts,
        prompt="prompt_vmic",
        options="vmic_cls_list",
        images=[ref],
    )


# --------------------------------------------------------------------------- AVL / AVM


def avl_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    item = f"{index:05d}"
    shapes = _classes(rng, SHAPES, int(rng.integers(2, 4)))
    sounding = shapes[: 2 if len(shapes) == 3 and rng.random() < 0.4 else 1]
    img = canvas()
    boxes = {}
    for shape, (cx, cy) in zip(shapes, _cells(rng, len(shapes)), strict=True):
        mask = shape_mask(shape, cx, cy, float(rng.uniform(12, 17)), HEIGHT, WIDTH)
        paint(img, mask, PALETTE[str(rng.choice(VIVID))])
        if shape in sounding:
            boxes[f"{shape}_1"] = box_xywh(mask)
    kinds = [SOUND_OF[s] for s in sounding for _ in range(int(rng.integers(1, 3)))]
    image, image_ref = folder.media(f"images/{item}.png")
    wav, wav_ref = folder.media(f"wavs/{item}.wav")
    write_png(image, img)
    write_wav(wav, sound_track(rng, kinds, 2.0, length=0.2))
    answer = {"bbox": boxes, "original_wh": [WIDTH, HEIGHT]}
    folder.add(
        item,
        "localise",
        "Which objects make the sound? Give their boxes.",
        answer,
        prompt="prompt_avl",
        options="avl_cls_list",
        images=[image_ref],
        audios=[wav_ref],
    )


def avm_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    item = f"{index:05d}"
    shape, colour = str(rng.choice(SHAPES)), str(rng.choice(VIVID))
    slots = [float(s) for s in rng.permutation(SLOTS)]
    count = int(rng.integers(1, 3))
    grows, others = sorted(slots[:count]), sorted(slots[count : 2 * count])
    answer = "yes" if rng.random() < 0.5 else "no"
    objects = [(shape, colour, VIDEO_W / 2, VIDEO_H / 2)]
    frames, _ = pulsing_clip(rng, objects, [grows], set(), silent=True)
    beeps = grows if answer == "yes" else others
    amps = rng.uniform(0.25, 0.4, len(beeps))
    audio = mix(
        [Event("beep", s, 0.15, float(a)) for s, a in zip(beeps, amps, strict=True)],
        frames.shape[0] / FPS,
        rng,
    )
    folder.add(
        item,
        "match",
        "Does every sound come exactly when the object grows?",
        answer,
        prompt="prompt_avm",
        options="avm_options_list",
        **write_clip(folder, item, frames, audio),
    )


# --------------------------------------------------------------------------- VAR / AVR


def _matches(rng: np.random.Generator, target: str, pool: tuple[str, ...]) -> list[str]:
    """Four candidates: 1-2 are `target`, the rest other members of `pool`."""
    hits = int(rng.integers(1, 3))
    others = [str(rng.choice([p for p in pool if p != target])) for _ in range(4 - hits)]
    return [str(c) for c in rng.permutation([target] * hits + others)]


def var_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    item = f"{index:05d}"
    shape = str(rng.choice(SHAPES))
    img = canvas()
    paint(
        img,
        shape_mask(shape, WIDTH / 2, HEIGHT / 2, 20.0, HEIGHT, WIDTH),
        PALETTE[str(rng.choice(VIVID))],
    )
    image, image_ref = folder.media(f"images/{item}.png")
    write_png(image, img)
    candidates = _matches(rng, SOUND_OF[shape], SOUNDS)
    refs = []
    for k, kind in enumerate(candidates):
        wav, ref = folder.media(f"wavs/{item}_{k:02d}.wav")
        write_wav(wav, sound_track(rng, [kind] * int(rng.integers(1, 3)), 1.5, length=0.2))
        refs.append(ref)
    answer = [k for k, kind in enumerate(candidates) if kind == SOUND_OF[shape]]
    folder.add(
        item,
        "retrieval",
        "Which of the sounds could the object in the image make?",
        answer,
        prompt="prompt_var",
        images=[image_ref],
        audios=refs,
    )


def avr_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    item = f"{index:05d}"
    kind = str(rng.choice(SOUNDS))
    wav, wav_ref = folder.media(f"wavs/{item}.wav")
    write_wav(wav, sound_track(rng, [kind] * int(rng.integers(1, 3)), 1.5, length=0.2))
    candidates = _matches(rng, SHAPE_OF[kind], SHAPES)
    refs = []
    for k, shape in enumerate(candidates):
        img = canvas()
        paint(
            img,
            shape_mask(shape, WIDTH / 2, HEIGHT / 2, float(rng.uniform(14, 22)), HEIGHT, WIDTH),
            PALETTE[str(rng.choice(VIVID))],
        )
        image, ref = folder.media(f"images/{item}_{k:02d}.png")
        write_png(image, img)
        refs.append(ref)
    answer = [k for k, shape in enumerate(candidates) if shape == SHAPE_OF[kind]]
    folder.add(
        item,
        "retrieval",
        "Which of the images show the object that makes the sound?",
        answer,
        prompt="prompt_avr",
        images=refs,
        audios=[wav_ref],
    )


# --------------------------------------------------------------------------- AVC


def captions(colour: str, shape: str, direction: str, sound: str, times: int) -> list[str]:
    """The reference captions of one AVC clip (the solver writes the first template)."""
    said = TIMES[times]
    return [
        f"A {colour} {shape} moves {direction} and {VERB[sound]} {said}.",
        f"A {colour} {shape} slides {direction} while a {sound} sounds {said}.",
        f"A {sound} is heard {said} as a {colour} {shape} moves {direction}.",
    ]


def moving_clip(
    shape: str, colour: str, start: tuple[float, float], end: tuple[float, float], n_frames: int
) -> np.ndarray:
    frames = np.empty((n_frames, VIDEO_H, VIDEO_W, 3), np.uint8)
    for k in range(n_frames):
        f = k / (n_frames - 1)
        img = canvas(VIDEO_W, VIDEO_H)
        cx = (start[0] + (end[0] - start[0]) * f) * VIDEO_W
        cy = (start[1] + (end[1] - start[1]) * f) * VIDEO_H
        paint(img, shape_mask(shape, cx, cy, 13.0, VIDEO_H, VIDEO_W), PALETTE[colour])
        frames[k] = img
    return frames


def avc_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    item = f"{index:05d}"
    shape, colour = str(rng.choice(SHAPES)), str(rng.choice(VIVID))
    direction = str(rng.choice(list(DIRECTIONS)))
    times = int(rng.integers(1, 4))
    start, end = DIRECTIONS[direction]
    frames = moving_clip(shape, colour, start, end, 25)
    audio = sound_track(rng, [SOUND_OF[shape]] * times, 25 / FPS, length=0.2)
    refs = captions(colour, shape, direction, SOUND_OF[shape], times)
    folder.add(
        item,
        "caption",
        "Describe the video.",
        refs,
        prompt="prompt_avc",
        **write_clip(folder, item, frames, audio),
    )
