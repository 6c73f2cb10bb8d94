"""`avibench-solver`: a reference model that answers the generated AVI-Bench edition from the
signal, reading only the request (its text and media, through the media layer).

- can you hear any sound? -> the track is not silent (RMS and peak under a floor);
- can you see anything? -> the picture (or first frame) holds an object: pixels far from
  the border colour;
- louder / clearer, first or last -> RMS / tonality (peak band over total power) of each half;
- sound or noise first, higher pitch -> class and spectral peak of the first two sound events;
- solid (VSQA_I 3d) -> a cube shows three flat shades; otherwise the silhouette's width a
  quarter of the way down: narrow cone, full cylinder, between sphere;
- colour, shape, place, line, largest, brightest -> objects = connected regions off the
  background; the shape from how an object fills its box (square, circle, then triangle or
  diamond by where it is widest);
- movement, size change, diagonal, surface -> the largest object's centroid and area in the
  first and last frames; texture = the spread of its pixels;
- which object / colour makes the sound (AVSQA) -> the objects that grow at the moment
  (within 0.15 s) a sound begins;
- count by class (AMIC, VMIC) -> sound events by class (spectral flatness, then the spectral
  peak); objects by shape;
- boxes of the sounding objects (AVL) -> the shapes of the heard classes (shape-sound code);
- does every sound come when the object grows (AVM) -> onsets and growths pair up one to one;
- retrieval (VAR, AVR) -> the candidates whose class matches the query's through the code;
- caption (AVC) -> the template filled from colour, shape, direction, sound class and count;
- is there a <sound> / <shape>? (AVH, VAH) -> among the heard sounds / seen shapes;
- how many sounds / objects, which sounds first (AVQA) -> event count, object count, synchrony;
- per-frame boxes (AVLG) -> in each frame whose 0.2 s of audio is not silent, the box of the
  heard class's shape; None elsewhere.

A modality the request lacks is not guessed: a missing track hears nothing ("no", no events),
a missing picture sees nothing; questions that need it get "not sure" or an empty answer. So
under the `no-audio` / `no-frames` / `no-images` ablations the tasks that need both modalities
fall to chance or below.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from omnieval import registry
from omnieval.benchmarks.avibench import solver_signal as sig
from omnieval.benchmarks.avibench.synth_perception import captions
from omnieval.benchmarks.avibench.synth_signals import FPS, SHAPE_OF, SHAPES, SOUND_OF, SOUNDS
from omnieval.media import AudioSpec, FrameSpec, MediaError, load_audio, sample_frames
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.types import AudioPart, ImagePart, Modality, Request, Response, VideoPart

SOLVER_VERSION = "1"
NOT_SURE = "not sure"
#: a sound onset and an object's growth within this many seconds are the same moment
SYNC_S = 0.15
AVLG_FRAME_S = 0.2
_SOUND_PROBE = re.compile(r"Is there an? (\w+) sound in the audio\?")
_SHAPE_PROBE = re.compile(r"Is there an? (\w+) in the video\?")


@dataclass
class Media:
    """The request's signals: audio tracks (mono, in order), pictures, one clip's frames."""

    rate: int = 16000
    audios: list[np.ndarray] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    frames: np.ndarray | None = None

    @property
    def audio(self) -> np.ndarray | None:
        return self.audios[0] if self.audios else None

    @property
    def picture(self) -> np.ndarray | None:
        """The single picture: the image, else the clip's first frame."""
        if self.images:
            return self.images[0]
        return None if self.frames is None else self.frames[0]


@registry.models.register("avibench-solver")
class AvibenchSolver(Model):
    """Signal-level reference solver for the generated AVI-Bench edition (see the module doc)."""

    name = "avibench-solver"
    capabilities = ModelCapabilities(
        inputs=frozenset({Modality.TEXT, Modality.AUDIO, Modality.IMAGE, Modality.VIDEO}),
        max_concurrency=2,
    )

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "version": SOLVER_VERSION}

    async def generate(self, request: Request) -> Response:
        started = time.perf_counter()
        text = await asyncio.to_thread(self.answer, request)
        return Response(text=text, latency_s=time.perf_counter() - started)

    def answer(self, request: Request) -> str:
        text = request.text()
        media = read_media(request)
        for phrase, rule in _RULES:
            if phrase in text:
                return rule(media, text)
        raise PermanentModelError(f"avibench-solver: a question it cannot read: {text[-120:]!r}")


# --------------------------------------------------------------------------- reading media


def read_media(request: Request) -> Media:
    media = Media()
    for part in request.parts:
        try:
            if isinstance(part, AudioPart):
                clip = load_audio(part.path, AudioSpec(sample_rate=media.rate, window=part.window))
                media.audios.append(np.asarray(clip.samples[0], dtype=np.float64))
            elif isinstance(part, ImagePart):
                media.images.append(_read_image(part))
            elif isinstance(part, VideoPart):
                media.frames = sample_frames(part.path, FrameSpec(window=part.window)).images
                if part.with_audio and not any(isinstance(p, AudioPart) for p in request.parts):
                    clip = load_audio(part.path, AudioSpec(sample_rate=media.rate))
                    media.audios.append(np.asarray(clip.samples[0], dtype=np.float64))
        except MediaError as err:
            raise PermanentModelError(f"avibench-solver: {err}") from None
    return media


def _read_image(part: ImagePart) -> np.ndarray:
    source: Path | io.BytesIO
    if part.path is not None:
        source = part.path
    elif part.data is not None:
        source = io.BytesIO(part.data)
    else:
        raise PermanentModelError("avibench-solver: an image part with neither path nor data")
    with av.open(source, mode="r") as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="rgb24"))


# --------------------------------------------------------------------------- sensation


def _hear(media: Media, text: str) -> str:
    audio = media.audio
    return "no" if audio is None or sig.is_silent(audio) else "yes"


def _see(media: Media, text: str) -> str:
    picture = media.picture
    return "yes" if picture is not None and sig.blobs(picture) else "no"


def _halves(media: Media) -> tuple[np.ndarray, np.ndarray] | None:
    audio = media.audio
    if audio is None or sig.is_silent(audio):
        return None
    middle = len(audio) // 2
    return audio[:middle], audio[middle:]


def _louder(media: Media, text: str) -> str:
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


def _clearer(media: Media, text: str) -> str:
    halves = _halves(media)
    if halves is None:
        return NOT_SURE
    ratio = _tonality(halves[0]) / (_tonality(halves[1]) + 1e-12)
    return "first" if ratio > 1.5 else "last" if ratio < 1 / 1.5 else "same"


def _events(media: Media) -> list[tuple[float, float, str]]:
    audio = media.audio
    return [] if audio is None else sig.classified_events(audio, media.rate)


def _sound_or_noise(media: Media, text: str) -> str:
    events = _events(media)
    if not events:
        return NOT_SURE
    return "noise" if events[0][2] == "hiss" else "sound"


def _higher(media: Media, text: str) -> str:
    events = _events(media)
    if len(events) < 2:
        return NOT_SURE
    order = {"buzz": 0, "beep": 1, "whistle": 2, "hiss": 1}
    return "yes" if order[events[1][2]] > order[events[0][2]] else "no"


def _largest(picture: np.ndarray | None) -> sig.Blob | None:
    found = sig.blobs(picture) if picture is not None else []
    return max(found, key=lambda b: b.area) if found else None


def _colour(media: Media, text: str) -> str:
    blob = _largest(media.picture)
    return NOT_SURE if blob is None else blob.colour


def _shape(media: Media, text: str) -> str:
    blob = _largest(media.picture)
    return NOT_SURE if blob is None else blob.shape


def _solid(media: Media, text: str) -> str:
    picture = media.picture
    blob = _largest(picture)
    return NOT_SURE if blob is None or picture is None else sig.classify_solid(picture, blob)


def _place(media: Media, text: str) -> str:
    picture = media.picture
    blob = _largest(picture)
    if blob is None or picture is None:
        return NOT_SURE
    height, width = picture.shape[:2]
    column = "left" if blob.cx < width / 3 else "right" if blob.cx > 2 * width / 3 else "center"
    row = "top" if blob.cy < height / 3 else "bottom" if blob.cy > 2 * height / 3 else ""
    return f"{row} {column}" if row else "center"


def _line(media: Media, text: str) -> str:
    picture = media.picture
    return NOT_SURE if picture is None else sig.line_direction(picture)


def _ranked_position(media: Media, key: str) -> str:
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


def _track(media: Media) -> tuple[sig.Blob, sig.Blob] | None:
    """The largest object of the first and of the last frame."""
    if media.frames is None:
        return None
    first, last = _largest(media.frames[0]), _largest(media.frames[-1])
    return None if first is None or last is None else (first, last)


def _movement(media: Media, text: str) -> str:
    track = _track(media)
    if track is None:
        return NOT_SURE
    dx, dy = track[1].cx - track[0].cx, track[1].cy - track[0].cy
    if np.hypot(dx, dy) < 6:
        return "no movement"
    angle = abs(np.degrees(np.arctan2(dy, dx))) % 180
    angle = min(angle, 180 - angle)
    return "horizontal" if angle < 20 else "vertical" if angle > 70 else "inclined"


def _size_change(media: Media, text: str) -> str:
    track = _track(media)
    if track is None:
        return NOT_SURE
    ratio = track[1].area / max(track[0].area, 1)
    return "enlarging" if ratio > 1.5 else "shrinking" if ratio < 1 / 1.5 else "translation"


def _diagonal(media: Media, text: str) -> str:
    track = _track(media)
    if track is None:
        return NOT_SURE
    dx, dy = track[1].cx - track[0].cx, track[1].cy - track[0].cy
    if np.hypot(dx, dy) < 6:
        return "no movement"
    start = ("bottom" if dy < 0 else "top") + "-" + ("left" if dx > 0 else "right")
    end = ("top" if dy < 0 else "bottom") + "-" + ("right" if dx > 0 else "left")
    return f"{start} to {end}"


def _surface(media: Media, text: str) -> str:
    if media.frames is None:
        return NOT_SURE
    blob = _largest(media.frames[len(media.frames) // 2])
    if blob is None:
        return NOT_SURE
    return "smooth" if blob.texture < 8 else "moderate" if blob.texture < 30 else "rough"


# --------------------------------------------------------------------------- synchrony


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


def _which_sounds(media: Media, text: str) -> str:
    sounding = _sounding(media)
    if not sounding:
        return f"#{NOT_SURE}#"
    colour = "What colour is the object" in text
    names = sorted({blob.colour if colour else blob.shape for blob, _ in sounding})
    return "#" + ";".join(names) + "#"


def _match(media: Media, text: str) -> str:
    onsets = _onsets(media)
    objects = _grow_times(media)
    if not onsets or not objects:
        return NOT_SURE
    grows = sorted(g for _, times in objects for g in times)
    paired = len(grows) == len(onsets) and all(
        any(abs(g - o) <= SYNC_S for g in grows) for o in onsets
    )
    return "yes" if paired else "no"


def _first_sound(media: Media, text: str) -> str:
    onsets = _onsets(media)
    sounding = _sounding(media)
    if not onsets or not sounding:
        return NOT_SURE
    first = min(sounding, key=lambda item: min(abs(g - onsets[0]) for g in item[1]))
    return first[0].shape


# --------------------------------------------------------------------------- counting, boxes


def _count_sounds(media: Media, text: str) -> str:
    return str(len(_onsets(media)))


def _count_objects(media: Media, text: str) -> str:
    picture = media.picture
    return str(len(sig.blobs(picture)) if picture is not None else 0)


def _dict(values: dict[str, Any]) -> str:
    return repr(values)


def _count_sound_classes(media: Media, text: str) -> str:
    counts: dict[str, int] = {}
    for _, _, kind in _events(media):
        counts[kind] = counts.get(kind, 0) + 1
    return _dict(counts)


def _count_shapes(media: Media, text: str) -> str:
    counts: dict[str, int] = {}
    picture = media.picture
    for blob in sig.blobs(picture) if picture is not None else []:
        counts[blob.shape] = counts.get(blob.shape, 0) + 1
    return _dict(counts)


def _heard_shapes(media: Media) -> set[str]:
    return {SHAPE_OF[kind] for _, _, kind in _events(media)}


def _localise(media: Media, text: str) -> str:
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


def _ground(media: Media, text: str) -> str:
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


def _retrieve_sounds(media: Media, text: str) -> str:
    query = _largest(media.picture)
    if query is None:
        return "[]"
    wanted = SOUND_OF[query.shape]
    return str([k for k, a in enumerate(media.audios) if _majority_class(a, media.rate) == wanted])


def _retrieve_images(media: Media, text: str) -> str:
    kind = _majority_class(media.audio, media.rate) if media.audio is not None else None
    if kind is None:
        return "[]"
    hits = [
        k
        for k, image in enumerate(media.images)
        if (b := _largest(image)) is not None and b.shape == SHAPE_OF[kind]
    ]
    return str(hits)


def _caption(media: Media, text: str) -> str:
    track = _track(media)
    if track is None:
        return "Nothing can be seen."
    first, last = track
    dx, dy = last.cx - first.cx, last.cy - first.cy
    if abs(dx) >= abs(dy):
        direction = "from left to right" if dx > 0 else "from right to left"
    else:
        direction = "downwards" if dy > 0 else "upwards"
    events = _events(media)
    if not events:
        return f"A {first.colour} {first.shape} moves {direction}."
    kinds = [kind for _, _, kind in events]
    kind = max(set(kinds), key=kinds.count)
    return captions(first.colour, first.shape, direction, kind, min(len(events), 3))[0]


def _sound_probe(media: Media, text: str) -> str:
    found = _SOUND_PROBE.search(text)
    if found is None or found.group(1) not in SOUNDS:
        return NOT_SURE
    return "yes" if found.group(1) in {kind for _, _, kind in _events(media)} else "no"


def _shape_probe(media: Media, text: str) -> str:
    found = _SHAPE_PROBE.search(text)
    if found is None or found.group(1) not in SHAPES:
        return NOT_SURE
    picture = media.picture
    shapes = {b.shape for b in sig.blobs(picture)} if picture is not None else set()
    return "yes" if found.group(1) in shapes else "no"


#: question phrase -> rule, most specific first (phrases come from the generator's questions)
_RULES = (
    ("Can you hear any sound?", _hear),
    ("Can you see anything in the", _see),
    ("Which sound is louder", _louder),
    ("Which tone is clearer", _clearer),
    ("Which comes first, the sound or the noise?", _sound_or_noise),
    ("Is the second tone higher in pitch", _higher),
    ("What colour is the shape?", _colour),
    ("What shape is in the image?", _shape),
    ("Where is the shape in the image?", _place),
    ("Which solid is shown?", _solid),
    ("What is the direction of the line?", _line),
    ("Which shape has the largest area?", lambda m, t: _ranked_position(m, "area")),
    ("Which shape is the brightest?", lambda m, t: _ranked_position(m, "luma")),
    ("Which shape appears in the video?", _shape),
    ("How does the shape move?", _movement),
    ("What happens to the shape?", _size_change),
    ("What is the surface of the shape like?", _surface),
    ("How does the shape's position change?", _diagonal),
    ("Which object makes the first sound?", _first_sound),
    ("Which object makes the sound?", _which_sounds),
    ("What colour is the object that makes the sound?", _which_sounds),
    ("How many sound events of each class", _count_sound_classes),
    ("How many shapes of each class", _count_shapes),
    ("Which objects make the sound? Give their boxes.", _localise),
    ("Does every sound come exactly when the object grows?", _match),
    ("Which of the sounds could the object in the image make?", _retrieve_sounds),
    ("Which of the images show the object that makes the sound?", _retrieve_images),
    ("Describe the video.", _caption),
    ("How many sounds are there?", _count_sounds),
    ("How many objects are there in the video?", _count_objects),
    ("Where is the sounding object in each frame?", _ground),
    ("sound in the audio?", _sound_probe),
    ("in the video?", _shape_probe),
)
