"""Reasoning stage of the generated edition.

- AVH: a clip of 1-2 still shapes with 1-2 sound classes; "is there a <sound> in the audio?";
- VAH: the same kind of clip; "is there a <shape> in the video?";
- AVQA: a clip of 2-4 shapes that grow at moments, some beeping as they grow; how many sounds,
  how many objects, which object makes the first sound (a count or a shape);
- AVLG: 10 frames of two moving shapes and a 2 s wav (0.2 s per frame); the sounding shape's
  box in each frame, None where no sound plays.

The probes of AVH / VAH are lured: in half of the items, whatever the answer, the other modality
carries the probed class (the sound's shape on screen, the shape's sound on the track), so it
suggests an answer without telling it.
"""

from __future__ import annotations

import numpy as np

from omnieval.benchmarks.avibench.synth_common import TaskFolder, write_clip
from omnieval.benchmarks.avibench.synth_perception import sound_track
from omnieval.benchmarks.avibench.synth_sensation import draw_pulsing_objects, pulsing_clip
from omnieval.benchmarks.avibench.synth_signals import (
    FPS,
    HEIGHT,
    PALETTE,
    RATE,
    SHAPE_OF,
    SHAPES,
    SOUND_OF,
    VIDEO_H,
    VIDEO_W,
    VIVID,
    WIDTH,
    box_xywh,
    canvas,
    mix,
    paint,
    shape_mask,
    sound_event,
    write_png,
    write_wav,
)

AVQA_SUBTASKS = ("count_sounds", "count_objects", "first_sound")
AVLG_FRAMES = 10
AVLG_FRAME_S = 0.2


def _still_clip(
    rng: np.random.Generator, shapes: list[str], kinds: list[str], seconds: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    img = canvas(VIDEO_W, VIDEO_H)
    for k, shape in enumerate(shapes):
        cx = (k + 0.5) * VIDEO_W / len(shapes)
        paint(
            img,
            shape_mask(shape, cx, VIDEO_H / 2, 14.0, VIDEO_H, VIDEO_W),
            PALETTE[str(rng.choice(VIVID))],
        )
    frames = np.repeat(img[None], int(seconds * FPS), axis=0)
    return frames, sound_track(rng, kinds, seconds, length=0.2)


def _probe(rng: np.random.Generator) -> tuple[str, list[str], str]:
    """(answer, other shapes, probed shape) of a yes/no probe."""
    answer = "yes" if rng.random() < 0.5 else "no"
    pool = [str(s) for s in rng.permutation(SHAPES)]
    return answer, pool[1:], pool[0]


def avh_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    """Is there a <sound>? The sound's shape is on screen in half of the items, whatever the
    answer: the picture lures but tells nothing."""
    item = f"{index:05d}"
    answer, rest, probed = _probe(rng)
    sound = SOUND_OF[probed]
    heard = [SOUND_OF[rest[0]]] + ([sound] if answer == "yes" else [])
    shown = [rest[1]] + ([probed] if rng.random() < 0.5 else [])
    frames, audio = _still_clip(rng, [str(s) for s in rng.permutation(shown)], heard)
    folder.add(
        item,
        "audio_probe",
        f"Is there a {sound} sound in the audio?",
        answer,
        prompt="prompt_avh",
        options="avh_options_list",
        **write_clip(folder, item, frames, audio),
    )


def vah_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    """Is there a <shape>? The shape's sound is heard in half of the items, whatever the
    answer: the soundtrack lures but tells nothing."""
    item = f"{index:05d}"
    answer, rest, probed = _probe(rng)
    shown = rest[:1] + ([probed] if answer == "yes" else [])
    heard = [SOUND_OF[rest[1]]] + ([SOUND_OF[probed]] if rng.random() < 0.5 else [])
    frames, audio = _still_clip(rng, [str(s) for s in rng.permutation(shown)], heard)
    folder.add(
        item,
        "visual_probe",
        f"Is there a {probed} in the video?",
        answer,
        prompt="prompt_vah",
        options="vah_options_list",
        **write_clip(folder, item, frames, audio),
    )


def avqa_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    item = f"{index:05d}"
    subtask = AVQA_SUBTASKS[index % len(AVQA_SUBTASKS)]
    count = int(rng.integers(2, 5))
    objects, slots_of = draw_pulsing_objects(rng, count)
    n_sounding = int(rng.integers(1, count))  # at least one object grows without a sound
    sounding = {int(k) for k in rng.choice(count, size=n_sounding, replace=False)}
    frames, audio = pulsing_clip(rng, objects, slots_of, sounding)
    options: str | None = None
    if subtask == "count_sounds":
        text = "How many sounds are there?"
        answer = str(sum(len(slots_of[i]) for i in sounding))
    elif subtask == "count_objects":
        text = "How many objects are there in the video?"
        answer = str(count)
    else:
        text, options = "Which object makes the first sound?", "avqa_cls_list"
        first = min(sounding, key=lambda i: slots_of[i][0])
        answer = objects[first][0]
    folder.add(
        item,
        subtask,
        text,
        answer,
        prompt="prompt_avqa",
        options=options,
        **write_clip(folder, item, frames, audio),
    )


def avlg_item(folder: TaskFolder, index: int, rng: np.random.Generator) -> None:
    item = f"{index:05d}"
    shapes = [str(s) for s in rng.permutation(SHAPES)[:2]]
    sounding = int(rng.integers(2))  # which of the two shapes sounds
    bands = [float(rng.uniform(28, 44)), float(rng.uniform(100, 116))]
    paths = [(float(rng.uniform(24, 70)), float(rng.uniform(122, 168))) for _ in shapes]
    paths = [p if rng.random() < 0.5 else (p[1], p[0]) for p in paths]
    colours = [str(c) for c in rng.permutation(VIVID)[:2]]
    on = np.zeros(AVLG_FRAMES, bool)
    on[rng.permutation(AVLG_FRAMES)[: int(rng.integers(5, 10))]] = True
    boxes: dict[str, list[int] | None] = {}
    refs = []
    for k in range(AVLG_FRAMES):
        img = canvas()
        f = k / (AVLG_FRAMES - 1)
        for i, shape in enumerate(shapes):
            cx = paths[i][0] + (paths[i][1] - paths[i][0]) * f
            mask = shape_mask(shape, cx, bands[i], 14.0, HEIGHT, WIDTH)
            paint(img, mask, PALETTE[colours[i]])
            if i == sounding:
                boxes[f"frame_{k}"] = box_xywh(mask) if on[k] else None
        path, ref = folder.media(f"images/{item}/{k}.png")
        write_png(path, img)
        refs.append(ref)
    audio = mix([], AVLG_FRAMES * AVLG_FRAME_S, rng)
    kind = SOUND_OF[shapes[sounding]]
    for frame in np.flatnonzero(on):
        clip = sound_event(kind, 0.16, float(rng.uniform(0.25, 0.4)), rng)
        start = int((int(frame) * AVLG_FRAME_S + 0.02) * RATE)
        audio[start : start + len(clip)] += clip
    wav, wav_ref = folder.media(f"wavs/{item}.wav")
    write_wav(wav, audio)
    assert SHAPE_OF[kind] == shapes[sounding]
    answer = {"bbox": boxes, "original_wh": [WIDTH, HEIGHT]}
    folder.add(
        item,
        "ground",
        "Where is the sounding object in each frame?",
        answer,
        prompt="prompt_avlg",
        images=refs,
        audios=[wav_ref],
    )
