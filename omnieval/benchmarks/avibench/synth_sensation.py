"""Sensation stage of the generated edition: ASQA (tones and noise), VSQA_I (flat pictures),
VSQA_V (short clips of one moving shape) and AVSQA (which object / colour makes the sound).

Every formal question is followed by its `pre_` question ("can you hear / see anything?"). A
*control* item has a silent track (ASQA, AVSQA) or a blank picture / clip (VSQA_I, VSQA_V): its
pre-answer is "no" and its formal answer "not sure".
"""

from __future__ import annotations

import numpy as np

from omnieval.benchmarks.avibench.synth_common import TaskFolder, write_clip
from omnieval.benchmarks.avibench.synth_definitions import NOT_SURE, PLACES
from omnieval.benchmarks.avibench.synth_signals import (
    FPS,
    PALETTE,
    SHAPES,
    SOLIDS,
    VIDEO_H,
    VIDEO_W,
    VIVID,
    Event,
    canvas,
    draw_solid,
    mix,
    paint,
    shape_mask,
    write_mp4,
    write_png,
    write_wav,
)

HEAR = "Can you hear any sound?"
SEE_IMAGE = "Can you see anything in the image?"
SEE_VIDEO = "Can you see anything in the video?"

ASQA_SUBTASKS = ("sound_volume", "sound_clarity", "sound_order", "yes_no")
VSQA_I_SUBTASKS = ("color", "shape", "space", "lines", "area", "brightness", "3d")
VSQA_V_SUBTASKS = ("shape", "movement_2d", "movement_3d", "surface", "spatial_change")
AVSQA_SUBTASKS = ("object", "color")
#: grid position name -> (column, row) as fractions of the width / height
PLACE_XY = {
    "center": (0.5, 0.5),
    "top left": (1 / 6, 1 / 6),
    "top center": (0.5, 1 / 6),
    "top right": (5 / 6, 1 / 6),
    "bottom left": (1 / 6, 5 / 6),
    "bottom center": (0.5, 5 / 6),
    "bottom right": (5 / 6, 5 / 6),
}
assert set(PLACE_XY) <= set(PLACES)
#: pulse slots (s) of the AVSQA / AVQA clips; a pulse lasts 0.2 s, a slot is 0.4 s
SLOTS = (0.5, 0.9, 1.3, 1.7, 2.1, 2.5)
PULSE_S = 0.2
PULSE_GROWTH = 1.35
CLIP_S = 3.0


def _pick(rng: np.random.Generator, values: tuple[str, ...] | list[str]) -> str:
    return str(values[int(rng.integers(len(values)))])


# --------------------------------------------------------------------------- ASQA


def asqa_item(folder: TaskFolder, index: int, rng: np.random.Generator, control: bool) -> None:
    item = f"{index:05d}"
    subtask = ASQA_SUBTASKS[index % len(ASQA_SUBTASKS)]
    level = float(rng.uniform(0.25, 0.45))
    length = float(rng.uniform(0.4, 0.6))
    first, second = 0.2 + float(rng.uniform(0, 0.2)), 1.2 + float(rng.uniform(0, 0.2))
    tone = _pick(rng, ("beep", "whistle"))
    events: list[Event] = []
    if subtask == "sound_volume":
        text = "Two sounds play. Which sound is louder, the first or the last?"
        answer = _pick(rng, ("first", "last", "same"))
        gain = 10 ** (-float(rng.uniform(8, 12)) / 20)
        a1, a2 = (level, level * gain) if answer == "first" else (level * gain, level)
        if answer == "same":
            a1 = a2 = level
        events = [Event(tone, first, length, a1), Event(tone, second, length, a2)]
        options = "options_sound_volume"
    elif subtask == "sound_clarity":
        text = "Two tones play. Which tone is clearer, the first or the last?"
        answer = _pick(rng, ("first", "last", "same"))
        events = [Event(tone, first, length, level), Event(tone, second, length, level)]
        if answer != "same":  # the other tone is buried in noise of about its own level
            noisy = second if answer == "first" else first
            events.append(Event("hiss", noisy, length, level * 1.6))
        options = "options_sound_clarity"
    elif subtask == "sound_order":
        text = "A tone (sound) and a noise play. Which comes first, the sound or the noise?"
        answer = _pick(rng, ("sound", "noise"))
        kinds = (tone, "hiss") if answer == "sound" else ("hiss", tone)
        events = [Event(kinds[0], first, length, level), Event(kinds[1], second, length, level)]
        options = "options_sound_order"
    else:
        text = "Two tones play. Is the second tone higher in pitch than the first?"
        low, high = ("buzz", "beep") if rng.random() < 0.5 else ("beep", "whistle")
        answer = _pick(rng, ("yes", "no"))
        pair = (low, high) if answer == "yes" else (high, low)
        events = [Event(pair[0], first, length, level), Event(pair[1], second, length, level)]
        options = "options_yes_no"
    if control:
        events, answer = [], NOT_SURE
    path, ref = folder.media(f"wavs/{item}.wav")
    write_wav(path, mix(events, 2.0, rng))
    folder.add_pair(
        item,
        subtask,
        text,
        answer,
        HEAR,
        "no" if control else "yes",
        pre_options="options_yes_no",
        prompt="prompt_asqa",
        options=options,
        audios=[ref],
    )


# --------------------------------------------------------------------------- VSQA_I


def _line_mask(h: int, w: int, angle_deg: float, length: float, width: float) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    dx, dy = xs + 0.5 - w / 2, ys + 0.5 - h / 2
    ux, uy = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    along = dx * ux + dy * uy
    across = -dx * uy + dy * ux
    return np.asarray((np.abs(along) <= length / 2) & (np.abs(across) <= width / 2))


def _three_places(horizontal: bool, w: int, h: int) -> list[tuple[str, float, float]]:
    if horizontal:
        return [
            ("the left one", w / 6, h / 2),
            ("the middle one", w / 2, h / 2),
            ("the right one", 5 * w / 6, h / 2),
        ]
    return [
        ("the top one", w / 2, h / 6),
        ("the middle one", w / 2, h / 2),
        ("the bottom one", w / 2, 5 * h / 6),
    ]


def vsqa_image_item(
    folder: TaskFolder, index: int, rng: np.random.Generator, control: bool
) -> None:
    item = f"{index:05d}"
    subtask = VSQA_I_SUBTASKS[index % len(VSQA_I_SUBTASKS)]
    img = canvas()
    h, w = img.shape[:2]
    shape, colour = _pick(rng, SHAPES), _pick(rng, list(PALETTE))
    r = float(rng.uniform(14, 20))
    if subtask == "color":
        text, options, answer = "What colour is the shape?", "get_from_color", colour
        paint(img, shape_mask(shape, w / 2, h / 2, r, h, w), PALETTE[colour])
    elif subtask == "shape":
        text, options, answer = "What shape is in the image?", "get_from_shape", shape
        paint(img, shape_mask(shape, w / 2, h / 2, r, h, w), PALETTE[colour])
    elif subtask == "space":
        answer = _pick(rng, list(PLACE_XY))
        fx, fy = PLACE_XY[answer]
        text, options = "Where is the shape in the image?", "get_from_space_hard"
        paint(img, shape_mask(shape, fx * w, fy * h, 14.0, h, w), PALETTE[colour])
    elif subtask == "lines":
        answer = _pick(rng, ("horizontal", "vertical", "inclined"))
        angle = {"horizontal": 0.0, "vertical": 90.0}.get(answer, float(rng.uniform(30, 60)))
        angle *= 1 if rng.random() < 0.5 else -1
        text, options = "What is the direction of the line?", "get_lines_direction"
        paint(img, _line_mask(h, w, angle, 0.6 * min(h, w), 4.0), PALETTE["black"])
    elif subtask == "area":
        places = _three_places(bool(rng.random() < 0.5), w, h)
        radii = [*sorted(rng.uniform(8, 13, 2).tolist()), float(rng.uniform(17, 20))]
        order = rng.permutation(3)
        for k, (_, cx, cy) in enumerate(places):
            paint(img, shape_mask(shape, cx, cy, radii[order[k]], h, w), PALETTE[_pick(rng, VIVID)])
        answer = places[int(np.argmax([radii[o] for o in order]))][0]
        text, options = "Which shape has the largest area?", "get_from_space_easy_area"
    elif subtask == "3d":
        answer = _pick(rng, SOLIDS)
        draw_solid(
            img, answer, w / 2, h / 2, float(rng.uniform(22, 32)), PALETTE[_pick(rng, VIVID)]
        )
        text, options = "Which solid is shown?", "get_from_3d"
    else:
        places = _three_places(bool(rng.random() < 0.5), w, h)
        factors = rng.permutation([0.35, 0.65, 1.0])
        base = np.asarray(PALETTE[_pick(rng, ("blue", "purple", "green"))], np.float64)
        for k, (_, cx, cy) in enumerate(places):
            rgb = tuple(int(v) for v in np.round(base * factors[k]))
            paint(img, shape_mask("square", cx, cy, 14.0, h, w), (rgb[0], rgb[1], rgb[2]))
        answer = places[int(np.argmax(factors))][0]
        text, options = "Which shape is the brightest?", "get_from_space_easy_bbrightness"
    if control:
        img, answer = canvas(), NOT_SURE
    path, ref = folder.media(f"images/{item}.png")
    write_png(path, img)
    folder.add_pair(
        item,
        subtask,
        text,
        answer,
        SEE_IMAGE,
        "no" if control else "yes",
        pre_options="options_yes_no",
        prompt="prompt_vsqa_i",
        options=options,
        images=[ref],
    )


# --------------------------------------------------------------------------- VSQA_V


def _texture(rng: np.random.Generator, h: int, w: int, amplitude: float) -> np.ndarray:
    """A blocky (4 x 4 px) grey texture of the given amplitude."""
    blocks = rng.uniform(-amplitude, amplitude, (h // 4 + 1, w // 4 + 1))
    return np.kron(blocks, np.ones((4, 4)))[:h, :w]


def vsqa_video_item(
    folder: TaskFolder, index: int, rng: np.random.Generator, control: bool
) -> None:
    item = f"{index:05d}"
    subtask = VSQA_V_SUBTASKS[index % len(VSQA_V_SUBTASKS)]
    n_frames, h, w = 20, VIDEO_H, VIDEO_W
    shape, colour = _pick(rng, SHAPES), _pick(rng, VIVID)
    r0 = r1 = 14.0
    start, end = (w / 2, h / 2), (w / 2, h / 2)
    amplitude = 0.0
    if subtask == "shape":
        text, options, answer = "Which shape appears in the video?", "which_object", shape
        start, end = (w * 0.35, h / 2), (w * 0.65, h / 2)
    elif subtask == "movement_2d":
        answer = _pick(rng, ("horizontal", "vertical", "inclined", "no movement"))
        sign = 1 if rng.random() < 0.5 else -1
        span = {
            "horizontal": ((0.2, 0.5), (0.8, 0.5)),
            "vertical": ((0.5, 0.2), (0.5, 0.8)),
            "inclined": ((0.25, 0.25), (0.75, 0.75)),
            "no movement": ((0.5, 0.5), (0.5, 0.5)),
        }[answer]
        (ax, ay), (bx, by) = span[::sign]
        start, end = (ax * w, ay * h), (bx * w, by * h)
        text, options = "How does the shape move?", "what_movement_2d"
    elif subtask == "movement_3d":
        answer = _pick(rng, ("shrinking", "enlarging", "translation"))
        if answer == "shrinking":
            r0, r1 = 24.0, 10.0
        elif answer == "enlarging":
            r0, r1 = 10.0, 24.0
        else:
            start, end = (w * 0.25, h / 2), (w * 0.75, h / 2)
        text, options = "What happens to the shape?", "what_movement_3d"
    elif subtask == "surface":
        answer = _pick(rng, ("rough", "moderate", "smooth"))
        amplitude = {"rough": 90.0, "moderate": 40.0, "smooth": 0.0}[answer]
        r0 = r1 = 26.0
        shape = _pick(rng, ("circle", "square"))
        text, options = "What is the surface of the shape like?", "what_surface"
    else:
        answer = _pick(
            rng,
            (
                "bottom-left to top-right",
                "bottom-right to top-left",
                "top-left to bottom-right",
                "top-right to bottom-left",
            ),
        )
        corners = {"bottom": 0.78, "top": 0.22, "left": 0.2, "right": 0.8}
        a, b = answer.split(" to ")
        ay_, ax_ = a.split("-")
        by_, bx_ = b.split("-")
        start = (corners[ax_] * w, corners[ay_] * h)
        end = (corners[bx_] * w, corners[by_] * h)
        text, options = "How does the shape's position change?", "spacial_change"
    texture = _texture(rng, h, w, amplitude)
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    for k in range(n_frames):
        f = k / (n_frames - 1)
        img = canvas(w, h)
        if not control:
            cx = start[0] + (end[0] - start[0]) * f
            cy = start[1] + (end[1] - start[1]) * f
            mask = shape_mask(shape, cx, cy, r0 + (r1 - r0) * f, h, w)
            fill = np.asarray(PALETTE[colour], np.float64)[None, :] + texture[mask][:, None]
            img[mask] = np.clip(fill, 0, 255).astype(np.uint8)
        frames[k] = img
    if control:
        answer = NOT_SURE
    path, ref = folder.media(f"videos/{item}.mp4")
    write_mp4(path, frames, mix([], n_frames / FPS, rng))
    folder.add_pair(
        item,
        subtask,
        text,
        answer,
        SEE_VIDEO,
        "no" if control else "yes",
        pre_options="options_yes_no",
        prompt="prompt_vsqa_v",
        options=options,
        video=ref,
    )


# --------------------------------------------------------------------------- AVSQA


def pulsing_clip(
    rng: np.random.Generator,
    objects: list[tuple[str, str, float, float]],
    slots_of: list[list[float]],
    sounding: set[int],
    silent: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames and soundtrack of objects (shape, colour, cx, cy) that grow for `PULSE_S` at each
    of their slots; the objects in `sounding` beep at theirs (unless `silent`)."""
    h, w = VIDEO_H, VIDEO_W
    n_frames = int(CLIP_S * FPS)
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    for k in range(n_frames):
        t = k / FPS
        img = canvas(w, h)
        for i, (shape, colour, cx, cy) in enumerate(objects):
            grow = any(s - 1e-9 <= t < s + PULSE_S - 1e-9 for s in slots_of[i])
            paint(
                img,
                shape_mask(shape, cx, cy, 12.0 * (PULSE_GROWTH if grow else 1.0), h, w),
                PALETTE[colour],
            )
        frames[k] = img
    events = [
        Event("beep", s, 0.15, float(rng.uniform(0.25, 0.4)))
        for i in sorted(sounding)
        for s in slots_of[i]
    ]
    return frames, mix([] if silent else events, CLIP_S, rng)


def draw_pulsing_objects(
    rng: np.random.Generator, count: int
) -> tuple[list[tuple[str, str, float, float]], list[list[float]]]:
    """`count` objects of distinct shapes and colours in a row, each with 1-2 distinct slots."""
    shapes = rng.permutation(SHAPES)[:count]
    colours = rng.permutation(VIVID)[:count]
    xs = [(k + 0.5) * VIDEO_W / count for k in range(count)]
    objects = [(str(shapes[k]), str(colours[k]), xs[k], VIDEO_H / 2) for k in range(count)]
    slots = list(rng.permutation(SLOTS))
    slots_of: list[list[float]] = []
    for _ in range(count):
        take = 2 if len(slots) - 2 >= count - len(slots_of) - 1 and rng.random() < 0.5 else 1
        slots_of.append(sorted(float(s) for s in slots[:take]))
        slots = slots[take:]
    return objects, slots_of


def avsqa_item(folder: TaskFolder, index: int, rng: np.random.Generator, control: bool) -> None:
    item = f"{index:05d}"
    subtask = AVSQA_SUBTASKS[index % len(AVSQA_SUBTASKS)]
    objects, slots_of = draw_pulsing_objects(rng, 3)
    n_sounding = 2 if rng.random() < 0.4 else 1
    sounding = {int(k) for k in rng.choice(3, size=n_sounding, replace=False)}
    frames, audio = pulsing_clip(rng, objects, slots_of, sounding, silent=control)
    field = 0 if subtask == "object" else 1
    answer = ";".join(sorted(str(objects[i][field]) for i in sounding))
    if subtask == "object":
        text, options = "Which object makes the sound?", "avsqa_options_list_object"
    else:
        text = "What colour is the object that makes the sound?"
        options = "avsqa_options_list_color"
    if control:
        answer = NOT_SURE
    folder.add_pair(
        item,
        subtask,
        text,
        answer,
        HEAR,
        "no" if control else "yes",
        pre_options="avsqa_options_yes_no",
        prompt="prompt_avsqa",
        options=options,
        **write_clip(folder, item, frames, audio),
    )
