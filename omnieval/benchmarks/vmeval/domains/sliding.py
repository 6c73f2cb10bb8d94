"""Sliding puzzle (3 x 3, tiles 1-8): slide tiles into the empty space until the tiles read
1-8 in order with the gap bottom right. Scrambled by a few random moves; the solution is a
shortest move sequence (breadth-first search); the wrong move is a legal first move that is not
on a shortest path, after which the video stops.
"""

from __future__ import annotations

import random
from collections import deque
from functools import lru_cache

import numpy as np

from omnieval.benchmarks.vmeval.board import CANVAS, Board, Slot, State
from omnieval.benchmarks.vmeval.domains.base import Domain, Meta, Verdict, cell
from omnieval.benchmarks.vmeval.draw import BLACK, as_array, canvas, digit

N = 3
TILE = 80
OFFSET = (CANVAS - N * TILE) // 2
GOAL = (1, 2, 3, 4, 5, 6, 7, 8, 0)
Tiles = tuple[int, ...]


class SlidingBoard(Board):
    def slots(self) -> list[Slot]:
        return [
            Slot(cell(r, c), OFFSET + r * TILE, OFFSET + c * TILE, TILE, TILE)
            for r in range(N)
            for c in range(N)
        ]

    def labels(self, slot: Slot) -> tuple[str, ...]:
        return tuple(str(v) for v in range(9))

    def tile(self, label: str, slot: Slot) -> np.ndarray:
        return _tile(int(label))

    def background(self) -> np.ndarray:
        image, _ = canvas(CANVAS, CANVAS, (90, 90, 90))
        return as_array(image)


@lru_cache(maxsize=16)
def _tile(value: int) -> np.ndarray:
    if value == 0:
        image, _ = canvas(TILE, TILE, (90, 90, 90))
        return as_array(image)
    image, draw = canvas(TILE, TILE, (90, 90, 90))
    draw.rectangle((3, 3, TILE - 4, TILE - 4), fill=(235, 205, 150), outline=BLACK, width=2)
    digit(draw, value, (28, 18, 52, 62), BLACK)
    return as_array(image)


def _moves(tiles: Tiles) -> list[Tiles]:
    gap = tiles.index(0)
    r, c = divmod(gap, N)
    out = []
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nr, nc = r + dr, c + dc
        if 0 <= nr < N and 0 <= nc < N:
            swap = list(tiles)
            other = nr * N + nc
            swap[gap], swap[other] = swap[other], swap[gap]
            out.append(tuple(swap))
    return out


def _shortest(start: Tiles) -> list[Tiles]:
    prev: dict[Tiles, Tiles | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == GOAL:
            break
        for nxt in _moves(here):
            if nxt not in prev:
                prev[nxt] = here
                queue.append(nxt)
    path: list[Tiles] = []
    node: Tiles | None = GOAL
    while node is not None:
        path.append(node)
        node = prev[node]
    return path[::-1]


def _state(tiles: Tiles) -> State:
    return {cell(*divmod(i, N)): str(v) for i, v in enumerate(tiles)}


class SlidingPuzzle(Domain):
    name = "sliding_puzzle"

    def generate(self, rng: random.Random) -> Meta:
        depth = rng.choice((2, 3, 4))
        while True:
            tiles: Tiles = GOAL
            seen = {tiles}
            for _ in range(depth):
                options = [t for t in _moves(tiles) if t not in seen]
                tiles = rng.choice(options)
                seen.add(tiles)
            path = _shortest(tiles)
            if len(path) - 1 == depth:
                break
        return {
            "difficulty": "easy" if depth <= 2 else "medium",
            "start": list(tiles),
            "goal": list(GOAL),
            "solution": [list(t) for t in path],
            "num_moves": depth,
        }

    def prompt(self, meta: Meta) -> str:
        return (
            "Solve the sliding puzzle: slide tiles into the empty space, one at a time, until "
            "the tiles read 1 to 8 in order from the top left with the empty space at the "
            "bottom right."
        )

    def board(self, meta: Meta) -> Board:
        return SlidingBoard()

    def solution(self, meta: Meta) -> list[State]:
        return [_state(tuple(t)) for t in meta["solution"]]

    def wrong(self, meta: Meta) -> list[State]:
        start = tuple(meta["start"])
        best = tuple(meta["solution"][1])
        other = next(t for t in _moves(start) if t != best)
        return [_state(start), _state(other)]

    def check(self, meta: Meta, state: State) -> Verdict:
        read = [int(state[cell(*divmod(i, N))]) for i in range(N * N)]
        for v in range(9):
            if read.count(v) != 1:
                what = "the empty space" if v == 0 else f"tile {v}"
                return Verdict(False, f"{what} appears {read.count(v)} times")
        for i, v in enumerate(GOAL):
            if read[i] != v:
                got = "the empty space" if read[i] == 0 else f"tile {read[i]}"
                r, c = divmod(i, N)
                want = "the empty space" if v == 0 else f"tile {v}"
                return Verdict(False, f"{got} at ({r},{c}) instead of {want}")
        return Verdict(True, "tiles 1-8 in order")
