"""Reference models for the spatial benchmark.

- `spatial-solver` answers the generated edition from the pixels only: it segments the frames
  by colour (saturated pixels, grouped by hue around the colour words the question and options
  name), then reads depth from where each object meets the ground (lower in the image = nearer,
  the camera looks down at the ground), camera motion from how the objects' apparent size
  changes, left/right from the visible parts' centroids, and "closest to the back wall" as
  "farthest from the camera". For a mask task it returns the chosen object's colour mask on
  every frame. It never reads the renderer's metadata, the target or the mask files.
- `empty-masks` predicts an empty mask on every frame: the floor of the mask tasks, which shows
  what "both empty = 1" on frames where the object is absent is worth.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from omnieval import registry
from omnieval.benchmarks.spatial.masks import mask_artifacts
from omnieval.benchmarks.spatial.synth import PALETTE
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.models.reference import answer_labels
from omnieval.types import ImagePart, Modality, Request, Response

_INPUTS = frozenset({Modality.TEXT, Modality.IMAGE})
_OPTION = re.compile(r"^([A-Z])\.\s*(.+)$", re.M)
_COLOUR = re.compile(r"\b(" + "|".join(PALETTE) + r")\b")
MIN_SATURATION = 0.45
MIN_VALUE = 0.12
HUE_TOLERANCE = 25.0


def _hue(rgb: tuple[int, int, int]) -> float:
    r, g, b = (c / 255 for c in rgb)
    high, low = max(r, g, b), min(r, g, b)
    if high == low:
        return 0.0
    if high == r:
        h = ((g - b) / (high - low)) % 6
    elif high == g:
        h = (b - r) / (high - low) + 2
    else:
        h = (r - g) / (high - low) + 4
    return 60.0 * h


PALETTE_HUES = {name: _hue(rgb) for name, rgb in PALETTE.items()}


def load_frames(request: Request) -> list[np.ndarray]:
    from PIL import Image

    frames = []
    for part in request.parts:
        if isinstance(part, ImagePart):
            if part.path is None:
                raise PermanentModelError("spatial-solver reads frames from files")
            with Image.open(part.path) as image:
                frames.append(np.asarray(image.convert("RGB")))
    if not frames:
        raise PermanentModelError("spatial-solver needs the frames as image parts")
    return frames


def colour_mask(frame: np.ndarray, colour: str) -> np.ndarray:
    """Pixels whose hue is near `colour`'s and that are clearly saturated (not ground or wall)."""
    rgb = frame.astype(np.float32) / 255
    high = rgb.max(axis=-1)
    low = rgb.min(axis=-1)
    span = np.maximum(high - low, 1e-6)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-6), 0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    hue = np.where(
        high == r,
        ((g - b) / span) % 6,
        np.where(high == g, (b - r) / span + 2, (r - g) / span + 4),
    )
    hue = hue * 60.0
    distance = np.abs((hue - PALETTE_HUES[colour] + 180.0) % 360.0 - 180.0)
    return (saturation >= MIN_SATURATION) & (high >= MIN_VALUE) & (distance <= HUE_TOLERANCE)


class Cues:
    """Per-object pixel cues over the frames: where it meets the ground, size, centroid."""

    def __init__(self, frames: list[np.ndarray], colours: list[str]) -> None:
        self.masks = {c: [colour_mask(f, c) for f in frames] for c in colours}

    def bottom(self, colour: str, frame: int = 0) -> float:
        rows = np.nonzero(self.masks[colour][frame].any(axis=1))[0]
        return float(rows[-1]) if rows.size else -1.0

    def nearness(self, colour: str) -> float:
        """Larger = nearer: mean lowest row over frames (the ground contact)."""
        return float(np.mean([self.bottom(colour, i) for i in range(len(self.masks[colour]))]))

    def area(self, colour: str, frame: int) -> int:
        return int(self.masks[colour][frame].sum())

    def centroid_x(self, colour: str, frame: int = 0) -> float:
        cols = np.nonzero(self.masks[colour][frame])[1]
        return float(cols.mean()) if cols.size else 0.0


def scene_colours(frames: list[np.ndarray], named: list[str]) -> list[str]:
    """The palette colours visible in the first frame (with enough pixels), named ones first."""
    found = [c for c in PALETTE if colour_mask(frames[0], c).sum() >= 20]
    return list(dict.fromkeys([*named, *found]))


def _options(text: str) -> dict[str, str]:
    return {letter: body.strip() for letter, body in _OPTION.findall(text)}


def _colour_in(text: str) -> str | None:
    match = _COLOUR.search(text)
    return match.group(1) if match else None


def answer_question(text: str, frames: list[np.ndarray]) -> str:
    """The letter of the option the pixels support."""
    options = _options(text)
    question = text.split("\n", 1)[0]
    named = [c for c in (_colour_in(o) for o in options.values()) if c]
    named += _COLOUR.findall(question)
    cues = Cues(frames, scene_colours(frames, named))
    colours = list(cues.masks)

    def pick(colour: str) -> str:
        for letter, body in options.items():
            if _colour_in(body) == colour:
                return letter
        return next(iter(options))

    def yes_no(value: bool) -> str:
        wanted = "yes" if value else "no"
        return next((k for k, v in options.items() if v.lower() == wanted), next(iter(options)))

    lower = question.lower()
    if "toward or away" in lower:
        first = sum(cues.area(c, 0) for c in colours)
        last = sum(cues.area(c, len(frames) - 1) for c in colours)
        wanted = "toward" if last > first else "away"
        return next((k for k, v in options.items() if v.startswith(wanted)), next(iter(options)))
    in_question = _COLOUR.findall(question)
    if "to the left of" in lower and len(in_question) >= 2:
        a, b = in_question[:2]
        return yes_no(cues.centroid_x(a) < cues.centroid_x(b))
    if "closer to the back wall than" in lower and len(in_question) >= 2:
        a, b = in_question[:2]
        return yes_no(cues.nearness(a) < cues.nearness(b))
    candidates = [c for c in named if c in cues.masks] or colours
    if "nearest" in lower or "nearer" in lower:
        return pick(max(candidates, key=cues.nearness))
    if "farthest" in lower or "back wall" in lower:
        return pick(min(candidates, key=cues.nearness))
    return next(iter(options))


def segment_expression(text: str, frames: list[np.ndarray]) -> tuple[str, list[np.ndarray]]:
    """The colour of the referred object and its colour mask on every frame."""
    lower = text.lower()
    cues = Cues(frames, scene_colours(frames, _COLOUR.findall(text)))
    colours = list(cues.masks)
    if "to the left of" in lower and _colour_in(text):
        ref = _colour_in(text) or colours[0]
        left = [c for c in colours if c != ref and cues.centroid_x(c) < cues.centroid_x(ref)]
        chosen = max(left, key=cues.centroid_x) if left else colours[0]
    elif "nearest" in lower:
        chosen = max(colours, key=cues.nearness)
    else:  # closest to the back wall / farthest
        chosen = min(colours, key=cues.nearness)
    return chosen, cues.masks[chosen]


def _spatial_meta(request: Request) -> dict[str, Any]:
    meta = request.metadata.get("spatial")
    return meta if isinstance(meta, dict) else {}


@registry.models.register("spatial-solver")
class SpatialSolver(Model):
    """Answers the generated spatial edition from its pixels (colour, ground contact, size)."""

    name = "spatial-solver"
    capabilities = ModelCapabilities(
        inputs=_INPUTS, output="masks", also_produces=frozenset({"text"}), max_concurrency=4
    )

    async def generate(self, request: Request) -> Response:
        import asyncio

        return await asyncio.to_thread(self._solve, request)

    def _solve(self, request: Request) -> Response:
        frames = load_frames(request)
        meta = _spatial_meta(request)
        if meta.get("kind") == "mask":
            colour, masks = segment_expression(request.text(), frames)
            obj = str(meta.get("object", "target"))
            artifacts = mask_artifacts({obj: dict(enumerate(masks))}, "png")
            return Response(text=f"the {colour} object", artifacts=artifacts)
        return Response(text=answer_question(request.text(), frames))


@registry.models.register("empty-masks")
class EmptyMasks(Model):
    """Predicts an empty mask on every frame (and the first option for a question): the floor."""

    name = "empty-masks"
    capabilities = ModelCapabilities(
        inputs=_INPUTS, output="masks", also_produces=frozenset({"text"}), max_concurrency=16
    )

    async def generate(self, request: Request) -> Response:
        meta = _spatial_meta(request)
        if meta.get("kind") != "mask":
            return Response(text=answer_labels(request)[0])
        shape = _frame_shape(request)
        obj = str(meta.get("object", "target"))
        count = int(meta.get("frames", 0))
        empty = {obj: {i: np.zeros(shape, dtype=bool) for i in range(count)}}
        return Response(text="", artifacts=mask_artifacts(empty, "rle"))


def _frame_shape(request: Request) -> tuple[int, int]:
    from PIL import Image

    for part in request.parts:
        if isinstance(part, ImagePart) and part.path is not None:
            with Image.open(part.path) as image:
                return image.height, image.width
    return 480, 640
