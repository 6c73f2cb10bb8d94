"""Maze: draw the path from the green start to the red goal without crossing a wall.

The maze is a perfect maze (one route) on a (2k+1)-square grid of wall and open cells, made by a
randomised depth-first search. The solution colours the route's cells blue one by one; the wrong
move follows the route to a fork and then runs into a dead end.
"""

from __future__ import annotations

import random
from collections import deque
from functools import lru_cache

import numpy as np

from omnieval.benchmarks.vmeval.board import CANVAS, Board, Slot, State, solid
from omnieval.benchmarks.vmeval.domains.base import Domain, Meta, Verdict, cell
from omnieval.benchmarks.vmeval.draw import BLUE, GREEN, RED

WALL, OPEN, PATH, START, GOAL = "wall", "open", "path", "start", "goal"
_TILE = {WALL: (40, 40, 40), OPEN: (250, 250, 250), PATH: BLUE, START: GREEN, GOAL: RED}
Cell = tuple[int, int]


class MazeBoard(Board):
    def __init__(self, size: int) -> None:
        self.size = size
        self.step = (CANVAS // size) // 2 * 2
        self.offset = (CANVAS - self.step * size) // 2 // 2 * 2

    def slots(self) -> list[Slot]:
        s, o = self.step, self.offset
        return [
            Slot(cell(r, c), o + r * s, o + c * s, s, s)
            for r in range(self.size)
            for c in range(self.size)
        ]

    def labels(self, slot: Slot) -> tuple[str, ...]:
        return (WALL, OPEN, PATH, START, GOAL)

    def tile(self, label: str, slot: Slot) -> np.ndarray:
        return _tile(label, slot.h)


@lru_cache(maxsize=64)
def _tile(label: str, size: int) -> np.ndarray:
    out = solid(size, size, _TILE[label])
    if label != WALL:  # a thin grid line keeps open cells apart
        out[0, :] = out[:, 0] = (215, 215, 215)
    return out


def _carve(k: int, rng: random.Random) -> list[list[int]]:
    n = 2 * k + 1
    grid = [[1] * n for _ in range(n)]  # 1 = wall
    stack = [(0, 0)]
    seen = {(0, 0)}
    grid[1][1] = 0
    while stack:
        r, c = stack[-1]
        nbrs = [
            (r + dr, c + dc)
            for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))
            if 0 <= r + dr < k and 0 <= c + dc < k and (r + dr, c + dc) not in seen
        ]
        if not nbrs:
            stack.pop()
            continue
        nr, nc = rng.choice(nbrs)
        grid[2 * r + 1 + (nr - r)][2 * c + 1 + (nc - c)] = 0
        grid[2 * nr + 1][2 * nc + 1] = 0
        seen.add((nr, nc))
        stack.append((nr, nc))
    return grid


def _route(grid: list[list[int]], start: Cell, goal: Cell) -> list[Cell]:
    prev: dict[Cell, Cell | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            break
        for nxt in _neighbours(grid, here):
            if nxt not in prev:
                prev[nxt] = here
                queue.append(nxt)
    route: list[Cell] = []
    node: Cell | None = goal
    while node is not None:
        route.append(node)
        node = prev[node]
    return route[::-1]


def _neighbours(grid: list[list[int]], here: Cell) -> list[Cell]:
    r, c = here
    n = len(grid)
    return [
        (r + dr, c + dc)
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))
        if 0 <= r + dr < n and 0 <= c + dc < n and grid[r + dr][c + dc] == 0
    ]


class Maze(Domain):
    name = "maze"
    hold_step = 1

    def generate(self, rng: random.Random) -> Meta:
        k = rng.choice((3, 4))
        grid = _carve(k, rng)
        n = 2 * k + 1
        start, goal = (1, 1), (n - 2, n - 2)
        route = _route(grid, start, goal)
        return {
            "difficulty": "easy" if k == 3 else "medium",
            "grid": grid,
            "start": list(start),
            "goal": list(goal),
            "solution_path": [list(p) for p in route],
        }

    def prompt(self, meta: Meta) -> str:
        return (
            "Draw the path through the maze from the green start square to the red goal square "
            "in blue, one cell at a time, without crossing any wall."
        )

    def board(self, meta: Meta) -> Board:
        return MazeBoard(len(meta["grid"]))

    def _base(self, meta: Meta) -> State:
        grid = meta["grid"]
        state = {
            cell(r, c): WALL if grid[r][c] else OPEN
            for r in range(len(grid))
            for c in range(len(grid))
        }
        state[cell(*meta["start"])] = START
        state[cell(*meta["goal"])] = GOAL
        return state

    def _painted(self, meta: Meta, cells: list[Cell]) -> list[State]:
        state = self._base(meta)
        states = [dict(state)]
        for r, c in cells:
            if state[cell(r, c)] == OPEN:
                state[cell(r, c)] = PATH
                states.append(dict(state))
        return states

    def solution(self, meta: Meta) -> list[State]:
        return self._painted(meta, [(p[0], p[1]) for p in meta["solution_path"]])

    def wrong(self, meta: Meta) -> list[State]:
        grid = meta["grid"]
        route: list[Cell] = [(p[0], p[1]) for p in meta["solution_path"]]
        on_route = set(route)
        for i, here in enumerate(route[:-1]):
            branches = [n for n in _neighbours(grid, here) if n not in on_route]
            if branches:  # follow the route to here, then take the side branch to its end
                walk, prev, node = [], here, branches[0]
                while True:
                    walk.append(node)
                    nxt = [n for n in _neighbours(grid, node) if n != prev]
                    if not nxt:
                        break
                    prev, node = node, nxt[0]
                return self._painted(meta, route[: i + 1] + walk)
        return self._painted(meta, route[: len(route) // 2])

    def check(self, meta: Meta, state: State) -> Verdict:
        grid = meta["grid"]
        n = len(grid)
        start, goal = tuple(meta["start"]), tuple(meta["goal"])
        for r in range(n):
            for c in range(n):
                label = state[cell(r, c)]
                if grid[r][c] and label != WALL:
                    return Verdict(False, f"path crosses a wall at ({r},{c})")
        if state[cell(*start)] != START or state[cell(*goal)] != GOAL:
            return Verdict(False, "the start or goal square was painted over")
        painted = {(r, c) for r in range(n) for c in range(n) if state[cell(r, c)] == PATH}
        route = [tuple(p) for p in meta["solution_path"]]
        needed = {p for p in route if p not in (start, goal)}
        if not painted:
            return Verdict(False, "no path is drawn")
        off = sorted(painted - needed)
        reached = _reach(painted | {start, goal}, start)
        if goal not in reached:
            last = max(reached - {start}, key=lambda p: route.index(p) if p in route else -1,
                       default=start)
            return Verdict(False, f"path stops at {last} without reaching the goal {goal}")
        if off:
            return Verdict(False, f"path enters a dead end at {off[0]}")
        return Verdict(True, f"path from {start} to {goal} drawn through {len(painted)} cells")


def _reach(cells: set[Cell], start: Cell) -> set[Cell]:
    seen = {start}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for nxt in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if nxt in cells and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
