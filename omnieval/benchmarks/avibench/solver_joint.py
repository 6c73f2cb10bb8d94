"""`avibench-solver`'s rules for questions both modalities answer: which object sounds
(synchrony of onsets and growths), counts, boxes, frame-by-frame grounding, retrieval, captions
and the is-there probes."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from omnieval.benchmarks.avibench import solver_signal as sig
from omnieval.benchmarks.avibench.solver_media import NOT_SURE, Media
from omnieval.benchmarks.avibench.solver_sensation import heard_events, largest_blob, track_largest
from omnieval.benchmarks.avibench.synth_perception import captions
from omnieval.benchmarks.avibench.synth_signals import FPS, SHAPE_OF, SHAPES, SOUND_OF, SOUNDS

#: a sound onset and an object's growth within this many seconds are the same moment
SYNC_S = 0.15
AVLG_FRAME_S = 0.2
_SOUND_PROBE = re.compile(r"Is there an? (\w+) sound in the audio\?")
_SHAPE_PROBE = re.compile(r"Is there an? (\w+) in the video\?")


def _onsets(media: Media) -> list[float]:
    audio = media.audio
    if audio is None or sig.is_silent(audio):
        return []
    return [start for start, _ in sig.sound_events(audio, media.rate)]


def _grow_times(media: Media) -> list[tuple[sig.Blob, list[float]]]:
    """Each object of the first frame with the moments (s) it grows."""
    if media.frames is None:
        return []
    height, width = media.frames.shape[1:3]
    objects = sig.blobs(media.frames[0])
    regions = []
    for blob in objects:
        x0, y0, x1, y1 = blob.box
        pad = max(4, (x1 - x0) // 3)
        regions.append(
            (
                max(0, x0 - pad),
                max(0, y0 - pad),
                min(width - 1, x1 + pad),
                min(height - 1, y1 + pad),
            )
        )
    starts = sig.pulses(media.frames, regions)
    return [(blob, [k / FPS for k in frames]) for blob, frames in zip(objects, starts, strict=True)]


def _sounding(media: Media) -> list[tuple[sig.Blob, list[float]]]:
    onsets = _onsets(media)
    return [
        (blob, grows)
        for blob, grows in _grow_times(media)
        if any(abs(g - o) <= SYNC_S for g in grows for o in onsets)
    ]


def answer_which_sounds(media: Media, text: str) -> str:
    sounding = _sounding(media)
    if not sounding:
        return f"#{NOT_SURE}#"
    colour = "What colour is the object" in text
    names = sorted({blob.colour if colour else blob.shape for blob, _ in sounding})
    return "#" + ";".join(names) + "#"


def answer_match(media: Media, text: str) -> str:
    onsets = _onsets(media)
    objects = _grow_times(media)
    if not onsets or not objects:
        return NOT_SURE
    grows = sorted(g for _, times in objects for g in times)
    paired = len(grows) == len(onsets) and all(
        any(abs(g - o) <= SYNC_S for g in grows) for o in onsets
    )
    return "yes" if paired else "no"


def answer_first_sound(media: Media, text: str) -> str:
    onsets = _onsets(media)
    sounding = _sounding(media)
    if not onsets or not sounding:
        return NOT_SURE
    first = min(sounding, key=lambda item: min(abs(g - onsets[0]) for g in item[1]))
    return first[0].shape


# --------------------------------------------------------------------------- counting, boxes


def answer_count_sounds(media: Media, text: str) -> str:
    return str(len(_onsets(media)))


def answer_count_objects(media: Media, text: str) -> str:
    picture = media.picture
    return str(len(sig.blobs(picture)) if picture is not None else 0)


def _dict(values: dict[str, Any]) -> str:
    return repr(values)


def answer_count_sound_classes(media: Media, text: str) -> str:
    counts: dict[str, int] = {}
    for _, _, kind in heard_events(media):
        counts[kind] = counts.get(kind, 0) + 1
    return _dict(counts)


def answer_count_shapes(media: Media, text: str) -> str:
    counts: dict[str, int] = {}
    picture = media.picture
    for blob in sig.blobs(picture) if picture is not None else []:
        counts[blob.shape] = counts.get(blob.shape, 0) + 1
    return _dict(counts)


def _heard_shapes(media: Media) -> set[str]:
    return {SHAPE_OF[kind] for _, _, kind in heard_events(media)}


def answer_localise(media: Media, text: str) -> str:
    picture = media.picture
    heard = _heard_shapes(media)
    boxes: dict[str, list[float]] = {}
    if picture is not None:
        height, width = picture.shape[:2]
        for blob in sig.blobs(picture):
            if blob.shape in heard:
                boxes[f"{blob.shape}_{sum(k.startswith(blob.shape) for k in boxes) + 1}"] = (
                    blob.box_xyxy_norm(width, height)
                )
    return _dict(boxes)


def answer_ground(media: Media, text: str) -> str:
    audio = media.audio
    frames: dict[str, list[float] | None] = {f"frame_{k}": None for k in range(len(media.images))}
    if audio is None or sig.is_silent(audio) or not media.images:
        return _dict(frames)
    hop = int(AVLG_FRAME_S * media.rate)
    windows = [audio[k * hop : (k + 1) * hop] for k in range(len(media.images))]
    loud = [w.size > 0 and sig.rms(w) > 3 * sig.SILENCE_RMS for w in windows]
    voiced = np.concatenate([w for w, on in zip(windows, loud, strict=True) if on] or [audio])
    shape = SHAPE_OF[sig.classify_sound(voiced, media.rate)]
    for k, (image, on) in enumerate(zip(media.images, loud, strict=True)):
        if not on:
            continue
        height, width = image.shape[:2]
        match = [b for b in sig.blobs(image) if b.shape == shape]
        if match:
            frames[f"frame_{k}"] = max(match, key=lambda b: b.area).box_xyxy_norm(width, height)
    return _dict(frames)


# --------------------------------------------------------------------------- retrieval, probes


def _majority_class(audio: np.ndarray, rate: int) -> str | None:
    kinds = [kind for _, _, kind in sig.classified_events(audio, rate)]
    return max(set(kinds), key=kinds.count) if kinds else None


def answer_retrieve_sounds(media: Media, text: str) -> str:
    query = largest_blob(media.picture)
    if query is None:
        return "[]"
    wanted = SOUND_OF[query.shape]
    return str([k for k, a in enumerate(media.audios) if _majority_class(a, media.rate) == wanted])


def answer_retrieve_images(media: Media, text: str) -> str:
    kind = _majority_class(media.audio, media.rate) if media.audio is not None else None
    if kind is None:
        return "[]"
    hits = [
        k
        for k, image in enumerate(media.images)
        if (b := largest_blob(image)) is not None and b.shape == SHAPE_OF[kind]
    ]
    return str(hits)


def answer_caption(media: Media, text: str) -> str:
    track = track_largest(media)
    if track is None:
        return "Nothing can be seen."
    first, last = track
    dx, dy = last.cx - first.cx, last.cy - first.cy
    if abs(dx) >= abs(dy):
        direction = "from left to right" if dx > 0 else "from right to left"
    else:
        direction = "downwards" if dy > 0 else "upwards"
    events = heard_events(media)
    if not events:
        return f"A {first.colour} {first.shape} moves {direction}."
    kinds = [kind for _, _, kind in events]
    kind = max(set(kinds), key=kinds.count)
    return captions(first.colour, first.shape, direction, kind, min(len(events), 3))[0]


def answer_sound_probe(media: Media, text: str) -> str:
    found = _SOUND_PROBE.search(text)
    if found is None or found.group(1) not in SOUNDS:
        return NOT_SURE
    return "yes" if found.group(1) in {kind for _, _, kind in heard_events(media)} else "no"


def answer_shape_probe(media: Media, text: str) -> str:
    found = _SHAPE_PROBE.search(text)
    if found is None or found.group(1) not in SHAPES:
        return NOT_SURE
    picture = media.picture
    shapes = {b.shape for b in sig.blobs(picture)} if picture is not None else set()
    return "yes" if found.group(1) in shapes else "no"
