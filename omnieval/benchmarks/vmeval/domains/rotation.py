"""Rotation: turn a coloured pentomino by a number of quarter turns about the board's centre.

The pentominoes used have no rotational symmetry, so each of the four orientations is its own
drawing. The solution video turns the piece in 15 degree steps; the wrong move turns it the
other way (or by one quarter turn too few for a half turn).
"""

from __future__ import annotations

import random
from functools import lru_cache

import numpy as np
from PIL import Image

from omnieval.benchmarks.vmeval.board import Board, Slot, State
from omnieval.benchmarks.vmeval.domains.base import Domain, Meta, Verdict
from omnieval.benchmarks.vmeval.draw import COLORS, as_array, canvas

GRID = 5
BLOCK = 32
SIDE = 192
ORIGIN = 32
PIECES: dict[str, tuple[tuple[int, int], ...]] = {
    "F": ((1, 2), (1, 3), (2, 1), (2, 2), (3, 2)),
    "L": ((0, 2), (1, 2), (2, 2), (3, 2), (3, 3)),
    "N": ((0, 3), (1, 3), (2, 2), (2, 3), (3, 2)),
    "P": ((1, 2), (1, 3), (2, 2), (2, 3), (3, 2)),
    "Y": ((0, 2), (1, 1), (1, 2), (2, 2), (3, 2)),
}
SLOT = Slot("piece", ORIGIN, ORIGIN, SIDE, SIDE)


def _turn(cells: tuple[tuple[int, int], ...], quarters: int) -> tuple[tuple[int, int], ...]:
    for _ in range(quarters % 4):  # a clockwise quarter turn about the grid's centre
        cells = tuple((c, GRID - 1 - r) for r, c in cells)
    return cells


@lru_cache(maxsize=64)
def _tile(piece: str, color: str, quarters: int) -> np.ndarray:
    image, draw = canvas(SIDE, SIDE)
    margin = (SIDE - GRID * BLOCK) // 2
    for r, c in _turn(PIECES[piece], quarters):
        x, y = margin + c * BLOCK, margin + r * BLOCK
        draw.rectangle((x, y, x + BLOCK - 1, y + BLOCK - 1), fill=COLORS[color],
                       outline=(30, 30, 30), width=2)
    draw.ellipse((SIDE // 2 - 4, SIDE // 2 - 4, SIDE // 2 + 4, SIDE // 2 + 4), fill=(30, 30, 30))
    return as_array(image)


class RotationBoard(Board):
    def __init__(self, piece: str, color: str) -> None:
        self.piece, self.color = piece, color

    def slots(self) -> list[Slot]:
        return [SLOT]

    def labels(self, slot: Slot) -> tuple[str, ...]:
        return ("rot0", "rot1", "rot2", "rot3")

    def tile(self, label: str, slot: Slot) -> np.ndarray:
        return _tile(self.piece, self.color, int(label[-1]))

    def background(self) -> np.ndarray:
        image, draw = canvas(256, 256, (255, 255, 255))
        draw.rectangle((ORIGIN - 3, ORIGIN - 3, ORIGIN + SIDE + 2, ORIGIN + SIDE + 2),
                       outline=(120, 120, 120), width=2)
        return as_array(image)


class Rotation(Domain):
    name = "rotation"

    def generate(self, rng: random.Random) -> Meta:
        quarters = rng.choice((1, 2, 3))
        clockwise = rng.random() < 0.5
        return {
            "difficulty": "easy" if quarters == 2 else "medium",
            "piece": rng.choice(sorted(PIECES)),
            "color": rng.choice(sorted(COLORS)),
            "start_quarters": rng.randrange(4),
            "quarter_turns": quarters,
            "direction": "clockwise" if clockwise else "counterclockwise",
            "degrees": 90 * quarters,
        }

    def prompt(self, meta: Meta) -> str:
        return (
            f"Rotate the {meta['color']} shape {meta['degrees']} degrees {meta['direction']} "
            "about the centre dot, smoothly, and stop when the rotation is complete."
        )

    def board(self, meta: Meta) -> Board:
        return RotationBoard(meta["piece"], meta["color"])

    def _signed(self, meta: Meta) -> int:
        q = int(meta["quarter_turns"])
        return q if meta["direction"] == "clockwise" else -q

    def _label(self, meta: Meta, turns: int) -> State:
        return {"piece": f"rot{(int(meta['start_quarters']) + turns) % 4}"}

    def solution(self, meta: Meta) -> list[State]:
        return [self._label(meta, 0), self._label(meta, self._signed(meta))]

    def wrong(self, meta: Meta) -> list[State]:
        signed = self._signed(meta)
        wrong = -signed if abs(signed) != 2 else signed // 2
        return [self._label(meta, 0), self._label(meta, wrong)]

    def frames(self, meta: Meta, states: list[State]) -> list[np.ndarray]:
        board = self.board(meta)
        start = board.render(states[0])
        end_q = int(states[-1]["piece"][-1])
        turns = (end_q - int(meta["start_quarters"])) % 4
        want = self._signed(meta)
        signed = want if turns == want % 4 else (turns if turns <= 2 else turns - 4)
        out = [start] * self.hold_first
        tile = _tile(meta["piece"], meta["color"], int(meta["start_quarters"]))
        steps = abs(signed) * 6
        for i in range(1, steps):
            angle = -15.0 * i * (1 if signed > 0 else -1)  # PIL turns counter-clockwise
            frame = start.copy()
            turned = Image.fromarray(tile).rotate(angle, resample=Image.Resampling.BILINEAR,
                                                  fillcolor=(255, 255, 255))
            frame[ORIGIN : ORIGIN + SIDE, ORIGIN : ORIGIN + SIDE] = np.asarray(turned)
            out.append(frame)
        out.extend([board.render(states[-1])] * self.hold_final)
        return out

    def check(self, meta: Meta, state: State) -> Verdict:
        got = (int(state["piece"][-1]) - int(meta["start_quarters"])) % 4
        want = self._signed(meta) % 4
        if got == want:
            return Verdict(True, f"shape turned {meta['degrees']} degrees {meta['direction']}")
        if got == 0:
            return Verdict(False, "the shape was not rotated")
        return Verdict(
            False,
            f"shape turned {90 * got} degrees clockwise instead of {90 * want} degrees clockwise",
        )
