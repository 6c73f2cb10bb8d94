"""Tower of Hanoi: move every disk from the left peg to the right peg, one disk at a time, never
a larger disk on a smaller one. The solution video shows the optimal 2^n - 1 moves; the wrong
move is the smallest disk's first move to the other peg, after which the video stops.
"""

from __future__ import annotations

import itertools
import random
from functools import lru_cache

import numpy as np

from omnieval.benchmarks.vmeval.board import CANVAS, Board, Slot, State
from omnieval.benchmarks.vmeval.domains.base import Domain, Meta, Verdict
from omnieval.benchmarks.vmeval.draw import as_array, canvas

PEGS = 3
PEG_W = 80
LEVEL_H = 24
BASE_Y = 200
LEFT = (CANVAS - PEGS * PEG_W) // 2
DISK_COLORS = ((220, 60, 60), (240, 170, 40), (60, 170, 80), (60, 110, 220))
NAMES = "ABC"
Pegs = list[list[int]]


def _slot(peg: int, level: int) -> Slot:
    return Slot(f"p{peg}l{level}", BASE_Y - (level + 1) * LEVEL_H, LEFT + peg * PEG_W, LEVEL_H,
                PEG_W)


@lru_cache(maxsize=16)
def _tile(size: int, disks: int) -> np.ndarray:
    image, draw = canvas(LEVEL_H, PEG_W)
    draw.rectangle((PEG_W // 2 - 3, 0, PEG_W // 2 + 2, LEVEL_H - 1), fill=(110, 80, 50))
    if size:
        half = 10 + size * (28 // disks)
        draw.rectangle((PEG_W // 2 - half, 2, PEG_W // 2 + half - 1, LEVEL_H - 3),
                       fill=DISK_COLORS[size - 1], outline=(30, 30, 30))
    return as_array(image)


class HanoiBoard(Board):
    def __init__(self, disks: int) -> None:
        self.disks = disks

    def slots(self) -> list[Slot]:
        return [_slot(p, lv) for p in range(PEGS) for lv in range(self.disks)]

    def labels(self, slot: Slot) -> tuple[str, ...]:
        return tuple(str(s) for s in range(self.disks + 1))

    def tile(self, label: str, slot: Slot) -> np.ndarray:
        return _tile(int(label), self.disks)

    def background(self) -> np.ndarray:
        image, draw = canvas(CANVAS, CANVAS)
        draw.rectangle((LEFT - 4, BASE_Y, LEFT + PEGS * PEG_W + 3, BASE_Y + 10), fill=(110, 80, 50))
        top = BASE_Y - (self.disks + 1) * LEVEL_H
        for p in range(PEGS):
            x = LEFT + p * PEG_W + PEG_W // 2
            draw.rectangle((x - 3, top, x + 2, BASE_Y), fill=(110, 80, 50))
        return as_array(image)


def _state(pegs: Pegs, disks: int) -> State:
    return {
        f"p{p}l{lv}": str(pegs[p][lv]) if lv < len(pegs[p]) else "0"
        for p in range(PEGS)
        for lv in range(disks)
    }


def _optimal(n: int, src: int, dst: int, via: int, out: list[tuple[int, int]]) -> None:
    if n == 0:
        return
    _optimal(n - 1, src, via, dst, out)
    out.append((src, dst))
    _optimal(n - 1, via, dst, src, out)


def _play(disks: int, moves: list[tuple[int, int]]) -> list[State]:
    pegs: Pegs = [list(range(disks, 0, -1)), [], []]
    states = [_state(pegs, disks)]
    for src, dst in moves:
        pegs[dst].append(pegs[src].pop())
        states.append(_state(pegs, disks))
    return states


class TowerOfHanoi(Domain):
    name = "tower_of_hanoi"
    hold_step = 3

    def generate(self, rng: random.Random) -> Meta:
        disks = rng.choice((2, 3))
        moves: list[tuple[int, int]] = []
        _optimal(disks, 0, 2, 1, moves)
        return {
            "difficulty": "easy" if disks == 2 else "medium",
            "num_disks": disks,
            "start_pegs": [list(range(disks, 0, -1)), [], []],
            "goal_pegs": [[], [], list(range(disks, 0, -1))],
            "solution_moves": [[NAMES[a], NAMES[b]] for a, b in moves],
        }

    def prompt(self, meta: Meta) -> str:
        return (
            f"Move all {meta['num_disks']} disks from the left peg to the right peg. Move one "
            "disk at a time and never place a larger disk on a smaller one."
        )

    def board(self, meta: Meta) -> Board:
        return HanoiBoard(int(meta["num_disks"]))

    def solution(self, meta: Meta) -> list[State]:
        moves = [(NAMES.index(a), NAMES.index(b)) for a, b in meta["solution_moves"]]
        return _play(int(meta["num_disks"]), moves)

    def wrong(self, meta: Meta) -> list[State]:
        first = NAMES.index(meta["solution_moves"][0][1])
        return _play(int(meta["num_disks"]), [(0, 3 - first)])

    def check(self, meta: Meta, state: State) -> Verdict:
        disks = int(meta["num_disks"])
        pegs: Pegs = []
        for p in range(PEGS):
            stack = [int(state[f"p{p}l{lv}"]) for lv in range(disks)]
            height = next((i for i, v in enumerate(stack) if v == 0), disks)
            if any(stack[height:]):
                return Verdict(False, f"a disk floats above an empty level on peg {NAMES[p]}")
            pegs.append(stack[:height])
        for p, stack in enumerate(pegs):
            if any(a < b for a, b in itertools.pairwise(stack)):
                return Verdict(False, f"a larger disk lies on a smaller one on peg {NAMES[p]}")
        seen = sorted(d for stack in pegs for d in stack)
        if seen != list(range(1, disks + 1)):
            return Verdict(False, f"the disks read are {seen}, not 1..{disks}")
        want = list(range(disks, 0, -1))
        if pegs[2] != want:
            return Verdict(False, f"peg C holds {pegs[2]} instead of {want}")
        return Verdict(True, f"all {disks} disks on peg C in order")
