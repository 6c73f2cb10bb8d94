"""Shape sorting: move each coloured shape from the top row into the bin drawn with its outline.

Three shapes (circle, square, triangle) in a random order above three bins in another random
order. The solution moves them one by one; the wrong move swaps two of them.
"""

from __future__ import annotations

import random
from functools import lru_cache

import numpy as np

from omnieval.benchmarks.vmeval.board import Board, Slot, State
from omnieval.benchmarks.vmeval.domains.base import Domain, Meta, Verdict
from omnieval.benchmarks.vmeval.draw import COLORS, as_array, canvas, shape

SHAPES = ("circle", "square", "triangle")
EMPTY = "empty"
SIZE = 72
XS = (12, 92, 172)
TOP_Y, BIN_Y = 24, 160


def _top(i: int) -> Slot:
    return Slot(f"top{i}", TOP_Y, XS[i], SIZE, SIZE)


def _bin(i: int) -> Slot:
    return Slot(f"bin{i}", BIN_Y, XS[i], SIZE, SIZE)


@lru_cache(maxsize=64)
def _tile(label: str, outline: str | None, colors: tuple[str, ...]) -> np.ndarray:
    image, draw = canvas(SIZE, SIZE)
    if outline is not None:
        draw.rectangle((0, 0, SIZE - 1, SIZE - 1), fill=(225, 225, 225))
        shape(draw, outline, (8, 8, SIZE - 9, SIZE - 9), None, (60, 60, 60), width=4)
    if label != EMPTY:
        color = COLORS[colors[SHAPES.index(label)]]
        shape(draw, label, (16, 16, SIZE - 17, SIZE - 17), color, (20, 20, 20))
    return as_array(image)


class ShapeBoard(Board):
    def __init__(self, bins: tuple[str, ...], colors: tuple[str, ...]) -> None:
        self.bins, self.colors = bins, colors

    def slots(self) -> list[Slot]:
        return [*(_top(i) for i in range(3)), *(_bin(i) for i in range(3))]

    def labels(self, slot: Slot) -> tuple[str, ...]:
        return (EMPTY, *SHAPES)

    def tile(self, label: str, slot: Slot) -> np.ndarray:
        outline = self.bins[int(slot.name[-1])] if slot.name.startswith("bin") else None
        return _tile(label, outline, self.colors)


class ShapeSorter(Domain):
    name = "shape_sorter"

    def generate(self, rng: random.Random) -> Meta:
        top = list(SHAPES)
        bins = list(SHAPES)
        rng.shuffle(top)
        rng.shuffle(bins)
        colors = list(COLORS)
        rng.shuffle(colors)
        return {
            "difficulty": "easy",
            "top_row": top,
            "bins": bins,
            "colors": colors,
        }

    def prompt(self, meta: Meta) -> str:
        return (
            "Move each shape from the top row into the bin below that is drawn with the same "
            "outline, one shape at a time."
        )

    def board(self, meta: Meta) -> Board:
        return ShapeBoard(tuple(meta["bins"]), tuple(meta["colors"]))

    def _moving(self, meta: Meta, placement: dict[str, int]) -> list[State]:
        state = {f"top{i}": s for i, s in enumerate(meta["top_row"])}
        state.update({f"bin{i}": EMPTY for i in range(3)})
        states = [dict(state)]
        for i, s in enumerate(meta["top_row"]):
            state[f"top{i}"] = EMPTY
            state[f"bin{placement[s]}"] = s
            states.append(dict(state))
        return states

    def solution(self, meta: Meta) -> list[State]:
        return self._moving(meta, {s: meta["bins"].index(s) for s in SHAPES})

    def wrong(self, meta: Meta) -> list[State]:
        right = {s: meta["bins"].index(s) for s in SHAPES}
        a, b = meta["top_row"][0], meta["top_row"][1]
        right[a], right[b] = right[b], right[a]
        return self._moving(meta, right)

    def check(self, meta: Meta, state: State) -> Verdict:
        for i in range(3):
            if state[f"top{i}"] != EMPTY:
                return Verdict(False, f"the {state[f'top{i}']} is still outside the bins")
        for i, outline in enumerate(meta["bins"]):
            got = state[f"bin{i}"]
            if got == EMPTY:
                return Verdict(False, f"the {outline} bin is empty")
            if got != outline:
                return Verdict(False, f"{got} in the {outline} bin")
        return Verdict(True, "every shape is in the bin with its outline")
