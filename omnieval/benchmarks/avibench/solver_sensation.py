"""`avibench-solver`'s rules for questions one modality answers: hearing (silence, loudness,
tonality, sound events, pitch) and seeing (objects off the background: colour, shape, place,
solid, line, rank; across frames: movement, size, diagonal, surface)."""

from __future__ import annotations

import numpy as np

from omnieval.benchmarks.avibench import solver_signal as sig
from omnieval.benchmarks.avibench.solver_media import NOT_SURE, Media


def answer_hear(media: Media, text: str) -> str:
    audio = media.audio
    return "no" if audio is None or sig.is_silent(audio) else "yes"


def answer_see(media: Media, text: str) -> str:
    picture = media.picture
    return "yes" if picture is not None and sig.blobs(picture) else "no"


def _halves(media: Media) -> tuple[np.ndarray, np.ndarray] | None:
    audio = media.audio
    if audio is None or sig.is_silent(audio):
        return None
    middle = len(audio) // 2
    return audio[:middle], audio[middle:]


def answer_louder(media: Media, text: str) -> str:
    halves = _halves(media)
    if halves is None:
        return NOT_SURE
    db = 20 * np.log10((sig.rms(halves[0]) + 1e-9) / (sig.rms(halves[1]) + 1e-9))
    return "first" if db > 3 else "last" if db < -3 else "same"


def _tonality(segment: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(segment * np.hanning(len(segment)))) ** 2
    peak = int(np.argmax(power))
    width = max(1, int(40 * len(segment) / 16000))  # +-40 Hz
    return float(power[max(0, peak - width) : peak + width + 1].sum() / (power.sum() + 1e-12))


def answer_clearer(media: Media, text: str) -> str:
    halves = _halves(media)
    if halves is None:
        return NOT_SURE
    ratio = _tonality(halves[0]) / (_tonality(halves[1]) + 1e-12)
    return "first" if ratio > 1.5 else "last" if ratio < 1 / 1.5 else "same"


def heard_events(media: Media) -> list[tuple[float, float, str]]:
    audio = media.audio
    return [] if audio is None else sig.classified_events(audio, media.rate)


def answer_sound_or_noise(media: Media, text: str) -> str:
    events = heard_events(media)
    if not events:
        return NOT_SURE
    return "noise" if events[0][2] == "hiss" else "sound"


def answer_higher(media: Media, text: str) -> str:
    events = heard_events(media)
    if len(events) < 2:
        return NOT_SURE
    order = {"buzz": 0, "beep": 1, "whistle": 2, "hiss": 1}
    return "yes" if order[events[1][2]] > order[events[0][2]] else "no"


def largest_blob(picture: np.ndarray | None) -> sig.Blob | None:
    found = sig.blobs(picture) if picture is not None else []
    return max(found, key=lambda b: b.area) if found else None


def answer_colour(media: Media, text: str) -> str:
    blob = largest_blob(media.picture)
    return NOT_SURE if blob is None else blob.colour


def answer_shape(media: Media, text: str) -> str:
    blob = largest_blob(media.picture)
    return NOT_SURE if blob is None else blob.shape


def answer_solid(media: Media, text: str) -> str:
    picture = media.picture
    blob = largest_blob(picture)
    return NOT_SURE if blob is None or picture is None else sig.classify_solid(picture, blob)


def answer_place(media: Media, text: str) -> str:
    picture = media.picture
    blob = largest_blob(picture)
    if blob is None or picture is None:
        return NOT_SURE
    height, width = picture.shape[:2]
    column = "left" if blob.cx < width / 3 else "right" if blob.cx > 2 * width / 3 else "center"
    row = "top" if blob.cy < height / 3 else "bottom" if blob.cy > 2 * height / 3 else ""
    return f"{row} {column}" if row else "center"


def answer_line(media: Media, text: str) -> str:
    picture = media.picture
    return NOT_SURE if picture is None else sig.line_direction(picture)


def answer_ranked_position(media: Media, key: str) -> str:
    found = sig.blobs(media.picture) if media.picture is not None else []
    if len(found) < 2:
        return NOT_SURE
    horizontal = np.ptp([b.cx for b in found]) >= np.ptp([b.cy for b in found])
    ordered = sorted(found, key=lambda b: b.cx if horizontal else b.cy)
    names = (
        ("the left one", "the middle one", "the right one")
        if horizontal
        else ("the top one", "the middle one", "the bottom one")
    )
    best = max(range(len(ordered)), key=lambda k: getattr(ordered[k], key))
    return names[min(best, 2)] if len(ordered) == 3 else names[0 if best == 0 else 2]


def track_largest(media: Media) -> tuple[sig.Blob, sig.Blob] | None:
    """The largest object of the first and of the last frame."""
    if media.frames is None:
        return None
    first, last = largest_blob(media.frames[0]), largest_blob(media.frames[-1])
    return None if first is None or last is None else (first, last)


def answer_movement(media: Media, text: str) -> str:
    track = track_largest(media)
    if track is None:
        return NOT_SURE
    dx, dy = track[1].cx - track[0].cx, track[1].cy - track[0].cy
    if np.hypot(dx, dy) < 6:
        return "no movement"
    angle = abs(np.degrees(np.arctan2(dy, dx))) % 180
    angle = min(angle, 180 - angle)
    return "horizontal" if angle < 20 else "vertical" if angle > 70 else "inclined"


def answer_size_change(media: Media, text: str) -> str:
    track = track_largest(media)
    if track is None:
        return NOT_SURE
    ratio = track[1].area / max(track[0].area, 1)
    return "enlarging" if ratio > 1.5 else "shrinking" if ratio < 1 / 1.5 else "translation"


def answer_diagonal(media: Media, text: str) -> str:
    track = track_largest(media)
    if track is None:
        return NOT_SURE
    dx, dy = track[1].cx - track[0].cx, track[1].cy - track[0].cy
    if np.hypot(dx, dy) < 6:
        return "no movement"
    start = ("bottom" if dy < 0 else "top") + "-" + ("left" if dx > 0 else "right")
    end = ("top" if dy < 0 else "bottom") + "-" + ("right" if dx > 0 else "left")
    return f"{start} to {end}"


def answer_surface(media: Media, text: str) -> str:
    if media.frames is None:
        return NOT_SURE
    blob = largest_blob(media.frames[len(media.frames) // 2])
    if blob is None:
        return NOT_SURE
    return "smooth" if blob.texture < 8 else "moderate" if blob.texture < 30 else "rough"
