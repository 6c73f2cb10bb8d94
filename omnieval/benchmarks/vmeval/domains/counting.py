"""Counting and object subtraction on a 3 x 3 grid of coloured shapes.

- `counting_objects`: count the shapes and write the number in the answer box; the wrong move
  writes the count plus one.
- `object_subtraction`: remove every object of one colour (or one shape), leaving the others
  where they are; the wrong move removes another colour's objects instead.
"""

from __future__ import annotations

import random
from functools import lru_cache

import numpy as np

from omnieval.benchmarks.vmeval.board import Board, Slot, State
from omnieval.benchmarks.vmeval.domains.base import Domain, Meta, Verdict, cell
from omnieval.benchmarks.vmeval.draw import BLACK, COLORS, as_array, canvas, digit, shape

N = 3
SLOT = 64
LEFT, TOP = 24, 16
SHAPES = ("circle", "square", "triangle")
EMPTY = "empty"
OBJECTS = tuple(f"{color} {kind}" for color in sorted(COLORS) for kind in SHAPES)
BOX = Slot("answer", 216, 104, 36, 48)


@lru_cache(maxsize=32)
def _object_tile(label: str) -> np.ndarray:
    image, draw = canvas(SLOT, SLOT)
    if label != EMPTY:
        color, kind = label.split()
        shape(draw, kind, (12, 12, 51, 51), COLORS[color], (20, 20, 20))
    return as_array(image)


@lru_cache(maxsize=16)
def _answer_tile(label: str) -> np.ndarray:
    image, draw = canvas(BOX.h, BOX.w)
    draw.rectangle((0, 0, BOX.w - 1, BOX.h - 1), outline=BLACK, width=2)
    if label != EMPTY:
        digit(draw, int(label), (16, 6, 32, 30), BLACK)
    return as_array(image)


class ObjectBoard(Board):
    def __init__(self, answer_box: bool) -> None:
        self.answer_box = answer_box

    def slots(self) -> list[Slot]:
        grid = [
            Slot(cell(r, c), TOP + r * SLOT, LEFT + c * (SLOT + 8), SLOT, SLOT)
            for r in range(N)
            for c in range(N)
        ]
        return [*grid, BOX] if self.answer_box else grid

    def labels(self, slot: Slot) -> tuple[str, ...]:
        if slot.name == BOX.name:
            return (EMPTY, *(str(d) for d in range(10)))
        return (EMPTY, *OBJECTS)

    def tile(self, label: str, slot: Slot) -> np.ndarray:
        return _answer_tile(label) if slot.name == BOX.name else _object_tile(label)


def _scene(rng: random.Random, low: int, high: int) -> dict[str, str]:
    count = rng.randint(low, high)
    cells = [cell(r, c) for r in range(N) for c in range(N)]
    chosen = set(rng.sample(cells, count))
    return {name: rng.choice(OBJECTS) if name in chosen else EMPTY for name in cells}


def _differences(want: dict[str, str], state: State) -> str | None:
    for name, label in want.items():
        got = state[name]
        if got == label:
            continue
        where = f"({name[1]},{name[3]})"
        if label == EMPTY:
            return f"{got} at {where} should have been removed"
        if got == EMPTY:
            return f"{label} at {where} is missing"
        return f"{got} at {where} instead of {label}"
    return None


class CountingObjects(Domain):
    name = "counting_objects"

    def generate(self, rng: random.Random) -> Meta:
        scene = _scene(rng, 2, 9)
        count = sum(1 for v in scene.values() if v != EMPTY)
        return {
            "difficulty": "easy" if count <= 5 else "medium",
            "scene": scene,
            "ground_truth_count": count,
        }

    def prompt(self, meta: Meta) -> str:
        return "Count the objects and write the number in the box below them."

    def board(self, meta: Meta) -> Board:
        return ObjectBoard(answer_box=True)

    def _with(self, meta: Meta, answer: str) -> State:
        return {**meta["scene"], BOX.name: answer}

    def solution(self, meta: Meta) -> list[State]:
        return [self._with(meta, EMPTY), self._with(meta, str(meta["ground_truth_count"]))]

    def wrong(self, meta: Meta) -> list[State]:
        wrong = (int(meta["ground_truth_count"]) + 1) % 10
        return [self._with(meta, EMPTY), self._with(meta, str(wrong))]

    def check(self, meta: Meta, state: State) -> Verdict:
        changed = _differences(meta["scene"], state)
        if changed:
            return Verdict(False, f"the objects changed: {changed}")
        count = int(meta["ground_truth_count"])
        shown = state[BOX.name]
        if shown == EMPTY:
            return Verdict(False, "the answer box is empty")
        if int(shown) != count:
            return Verdict(False, f"the box shows {shown}; there are {count} objects")
        return Verdict(True, f"the box shows the count {count}")


class ObjectSubtraction(Domain):
    name = "object_subtraction"

    def generate(self, rng: random.Random) -> Meta:
        while True:
            scene = _scene(rng, 4, 7)
            objects = [v for v in scene.values() if v != EMPTY]
            by = rng.choice(("color", "shape"))
            index = 0 if by == "color" else 1
            values = sorted({o.split()[index] for o in objects})
            if len(values) >= 2:
                break
        target = rng.choice(values)
        keep = {k: (EMPTY if v != EMPTY and v.split()[index] == target else v)
                for k, v in scene.items()}
        other = next(v for v in values if v != target)
        return {
            "difficulty": "easy" if len(objects) <= 5 else "medium",
            "scene": scene,
            "remove_by": by,
            "remove_value": target,
            "wrong_value": other,
            "expected_scene": keep,
        }

    def prompt(self, meta: Meta) -> str:
        what = (
            f"all {meta['remove_value']} objects"
            if meta["remove_by"] == "color"
            else f"all {meta['remove_value']}s"
        )
        return f"Remove {what} from the scene. Leave every other object exactly where it is."

    def board(self, meta: Meta) -> Board:
        return ObjectBoard(answer_box=False)

    def _removing(self, meta: Meta, value: str) -> list[State]:
        index = 0 if meta["remove_by"] == "color" else 1
        state = dict(meta["scene"])
        states = [dict(state)]
        for name, label in meta["scene"].items():
            if label != EMPTY and label.split()[index] == value:
                state[name] = EMPTY
                states.append(dict(state))
        return states

    def solution(self, meta: Meta) -> list[State]:
        return self._removing(meta, meta["remove_value"])

    def wrong(self, meta: Meta) -> list[State]:
        return self._removing(meta, meta["wrong_value"])

    def check(self, meta: Meta, state: State) -> Verdict:
        problem = _differences(meta["expected_scene"], state)
        if problem:
            return Verdict(False, problem)
        return Verdict(True, f"every {meta['remove_value']} object removed, the rest unchanged")
