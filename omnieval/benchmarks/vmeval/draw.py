"""Small drawing helpers for the generated tasks' tiles (PIL, deterministic shapes).

Digits are drawn as seven-segment glyphs from rectangles, not from a font, so that the tiles a
verifier compares against are the same whatever fonts the machine has.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
BLACK: Color = (20, 20, 20)
RED: Color = (220, 40, 40)
GREEN: Color = (40, 170, 60)
BLUE: Color = (40, 80, 220)
YELLOW: Color = (235, 190, 30)
GREY: Color = (150, 150, 150)
COLORS: dict[str, Color] = {"red": RED, "green": GREEN, "blue": BLUE}

#: segments a..g lit per digit
_SEGMENTS = {
    0: "abcdef",
    1: "bc",
    2: "abged",
    3: "abgcd",
    4: "fgbc",
    5: "afgcd",
    6: "afgedc",
    7: "abc",
    8: "abcdefg",
    9: "abcdfg",
}


def canvas(h: int, w: int, color: Color = WHITE) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (w, h), color)
    return image, ImageDraw.Draw(image)


def as_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.uint8).copy()


def digit(
    draw: ImageDraw.ImageDraw, value: int, box: tuple[int, int, int, int], color: Color
) -> None:
    """A seven-segment digit inside box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    t = max(2, round(min(w, h) * 0.16))
    mid = y0 + h // 2
    bars = {
        "a": (x0, y0, x1, y0 + t),
        "g": (x0, mid - t // 2, x1, mid - t // 2 + t),
        "d": (x0, y1 - t, x1, y1),
        "f": (x0, y0, x0 + t, mid),
        "b": (x1 - t, y0, x1, mid),
        "e": (x0, mid, x0 + t, y1),
        "c": (x1 - t, mid, x1, y1),
    }
    for seg in _SEGMENTS[value]:
        bx0, by0, bx1, by1 = bars[seg]
        draw.rectangle((bx0, by0, bx1 - 1, by1 - 1), fill=color)


def shape(
    draw: ImageDraw.ImageDraw,
    kind: str,
    box: tuple[int, int, int, int],
    fill: Color | None,
    outline: Color | None = None,
    width: int = 1,
) -> None:
    """A circle, square or triangle filling box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    if kind == "circle":
        draw.ellipse(box, fill=fill, outline=outline, width=width)
    elif kind == "square":
        draw.rectangle(box, fill=fill, outline=outline, width=width)
    elif kind == "triangle":
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=fill, outline=outline)
        if outline is not None and width > 1:
            draw.line(
                [((x0 + x1) // 2, y0), (x1, y1), (x0, y1), ((x0 + x1) // 2, y0)],
                fill=outline,
                width=width,
            )
    else:
        raise ValueError(f"unknown shape {kind!r}")
