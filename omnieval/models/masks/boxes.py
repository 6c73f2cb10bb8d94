"""Boxes out of a grounding model's text answer.

Grounding models write boxes in a few conventions; `parse_boxes` reads them all and
`to_pixels` turns them into pixel boxes of the frame the model was shown:

- Qwen2.5-VL / Qwen3-VL JSON: `[{"bbox_2d": [x1, y1, x2, y2], "label": "cube"}]`, often inside
  a ```json fence; Qwen2.5-VL gives pixels of its (resized) input, Qwen3-VL a 0..1000 grid;
- Qwen-VL / Qwen2-VL tokens: `<|box_start|>(x1,y1),(x2,y2)<|box_end|>` on a 0..1000 grid;
- a bare list `[x1, y1, x2, y2]` or `{"bbox": [...]}` / `{"box": [...]}`.

`coords` says which grid the numbers are on: `pixels` (of the frame as sent), `norm1000`
(0..1000), `norm1` (0..1), or `auto` (token boxes are 0..1000; otherwise all values <= 1 mean
0..1, else pixels, and a box reaching past the frame while within 1000 means 0..1000).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

BoxCoords = Literal["auto", "pixels", "norm1000", "norm1"]
COORDS: tuple[str, ...] = ("auto", "pixels", "norm1000", "norm1")

_TOKEN_BOX = re.compile(
    r"<\|box_start\|>\s*\(\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\)\s*,\s*"
    r"\(\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\)\s*<\|box_end\|>"
)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
_NUMBER_LIST = re.compile(
    r"\[\s*([-\d.eE+]+)\s*,\s*([-\d.eE+]+)\s*,\s*([-\d.eE+]+)\s*,"
    r"\s*([-\d.eE+]+)\s*\]"
)
_BOX_KEYS = ("bbox_2d", "bbox", "box", "box_2d")


class BoxParseError(ValueError):
    """The grounding answer holds no box."""


@dataclass(frozen=True)
class ParsedBox:
    """A box as the model wrote it (on the grid `grid`: `token` = 0..1000, `raw` = unknown)."""

    x0: float
    y0: float
    x1: float
    y1: float
    label: str | None = None
    grid: Literal["token", "raw"] = "raw"


def parse_boxes(text: str) -> list[ParsedBox]:
    """Every box in `text`, in order; raises `BoxParseError` (quoting the text) when none."""
    tokens = [_from_match(m.groups(), "token") for m in _TOKEN_BOX.finditer(text)]
    if tokens:
        return tokens
    for candidate in [*_FENCE.findall(text), text]:
        found = _json_boxes(candidate)
        if found:
            return found
    bare = [_from_match(m.groups(), "raw") for m in _NUMBER_LIST.finditer(text)]
    if bare:
        return bare
    shown = text if len(text) <= 200 else text[:200] + "..."
    raise BoxParseError(f"no bounding box in the grounding answer {shown!r}")


def _from_match(groups: tuple[str | Any, ...], grid: Literal["token", "raw"]) -> ParsedBox:
    x0, y0, x1, y1 = (float(v) for v in groups)
    return ParsedBox(x0, y0, x1, y1, grid=grid)


def _json_boxes(text: str) -> list[ParsedBox]:
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    if start < 0:
        return []
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return []
    return _boxes_in(value)


def _boxes_in(value: Any) -> list[ParsedBox]:
    if isinstance(value, dict):
        for key in _BOX_KEYS:
            if key in value:
                box = _four_numbers(value[key])
                if box is not None:
                    label = value.get("label")
                    return [ParsedBox(*box, label=str(label) if label is not None else None)]
        return []
    if isinstance(value, list):
        box = _four_numbers(value)
        if box is not None:
            return [ParsedBox(*box)]
        return [b for item in value for b in _boxes_in(item)]
    return []


def _four_numbers(value: Any) -> tuple[float, float, float, float] | None:
    if (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        return (float(value[0]), float(value[1]), float(value[2]), float(value[3]))
    return None


def to_pixels(
    box: ParsedBox, width: int, height: int, coords: BoxCoords = "auto"
) -> tuple[float, float, float, float]:
    """The box in pixels of a `width` x `height` frame, corners ordered and clipped to it."""
    if coords not in COORDS:
        raise ValueError(f"box coords must be one of {', '.join(COORDS)}, not {coords!r}")
    values = (box.x0, box.y0, box.x1, box.y1)
    grid = coords
    if grid == "auto":
        if box.grid == "token":
            grid = "norm1000"
        elif max(values) <= 1.0:
            grid = "norm1"
        elif (max(box.x0, box.x1) > width or max(box.y0, box.y1) > height) and max(values) <= 1000:
            grid = "norm1000"
        else:
            grid = "pixels"
    scale_x, scale_y = {
        "pixels": (1.0, 1.0),
        "norm1000": (width / 1000.0, height / 1000.0),
        "norm1": (float(width), float(height)),
    }[grid]
    x0, x1 = sorted((box.x0 * scale_x, box.x1 * scale_x))
    y0, y1 = sorted((box.y0 * scale_y, box.y1 * scale_y))
    clip_x = lambda v: min(max(v, 0.0), float(width))  # noqa: E731
    clip_y = lambda v: min(max(v, 0.0), float(height))  # noqa: E731
    return (clip_x(x0), clip_y(y0), clip_x(x1), clip_y(y1))
