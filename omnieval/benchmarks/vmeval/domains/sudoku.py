"""Sudoku (4 x 4, boxes of 2 x 2): fill the empty cells in blue so every row, column and box
holds 1-4. The puzzle has exactly one solution; the wrong move fills one cell with another digit.
"""

from __future__ import annotations

import itertools
import random
from functools import lru_cache

import numpy as np

from omnieval.benchmarks.vmeval.board import CANVAS, Board, Slot, State
from omnieval.benchmarks.vmeval.domains.base import Domain, Meta, Verdict, cell
from omnieval.benchmarks.vmeval.draw import BLACK, BLUE, as_array, canvas, digit

N = 4
CELL = 60
OFFSET = (CANVAS - N * CELL) // 2
BLANK = "blank"
_LABELS = (BLANK, *(f"given{d}" for d in range(1, 5)), *(f"fill{d}" for d in range(1, 5)))


class SudokuBoard(Board):
    def slots(self) -> list[Slot]:
        return [
            Slot(cell(r, c), OFFSET + r * CELL, OFFSET + c * CELL, CELL, CELL)
            for r in range(N)
            for c in range(N)
        ]

    def labels(self, slot: Slot) -> tuple[str, ...]:
        return _LABELS

    def tile(self, label: str, slot: Slot) -> np.ndarray:
        return _tile(label)

    def background(self) -> np.ndarray:
        image, draw = canvas(CANVAS, CANVAS)
        end = OFFSET + N * CELL
        for i in range(N + 1):
            width = 4 if i % 2 == 0 else 2
            p = OFFSET + i * CELL
            draw.rectangle((p - width, OFFSET - 4, p + width - 1, end + 3), fill=BLACK)
            draw.rectangle((OFFSET - 4, p - width, end + 3, p + width - 1), fill=BLACK)
        return as_array(image)


@lru_cache(maxsize=16)
def _tile(label: str) -> np.ndarray:
    image, draw = canvas(CELL, CELL)
    draw.rectangle((0, 0, CELL - 1, CELL - 1), outline=(200, 200, 200), width=4)
    if label != BLANK:
        value = int(label[-1])
        digit(draw, value, (18, 10, 42, 50), BLACK if label.startswith("given") else BLUE)
    return as_array(image)


def _solutions(grid: list[list[int]], limit: int = 2) -> list[list[list[int]]]:
    found: list[list[list[int]]] = []

    def solve(g: list[list[int]]) -> None:
        if len(found) >= limit:
            return
        for r, c in itertools.product(range(N), range(N)):
            if g[r][c] == 0:
                for v in range(1, N + 1):
                    if _allowed(g, r, c, v):
                        g[r][c] = v
                        solve(g)
                        g[r][c] = 0
                return
        found.append([row[:] for row in g])

    solve([row[:] for row in grid])
    return found


def _allowed(g: list[list[int]], r: int, c: int, v: int) -> bool:
    if v in g[r] or any(g[i][c] == v for i in range(N)):
        return False
    br, bc = r - r % 2, c - c % 2
    return all(g[i][j] != v for i in (br, br + 1) for j in (bc, bc + 1))


class Sudoku(Domain):
    name = "sudoku"

    def generate(self, rng: random.Random) -> Meta:
        digits = list(range(1, N + 1))
        rng.shuffle(digits)
        base = [[(r * 2 + r // 2 + c) % N for c in range(N)] for r in range(N)]
        rows = [*rng.sample([0, 1], 2), *rng.sample([2, 3], 2)]
        cols = [*rng.sample([0, 1], 2), *rng.sample([2, 3], 2)]
        solution = [[digits[base[r][c]] for c in cols] for r in rows]
        puzzle = [row[:] for row in solution]
        blanks = rng.choice((5, 6, 7, 8))
        cells = [(r, c) for r in range(N) for c in range(N)]
        rng.shuffle(cells)
        removed = 0
        for r, c in cells:
            if removed == blanks:
                break
            keep, puzzle[r][c] = puzzle[r][c], 0
            if len(_solutions(puzzle)) == 1:
                removed += 1
            else:
                puzzle[r][c] = keep
        return {
            "difficulty": "easy" if removed <= 6 else "medium",
            "puzzle": puzzle,
            "solution": solution,
        }

    def prompt(self, meta: Meta) -> str:
        return (
            "Complete this 4x4 Sudoku: write the missing digits in blue so that every row, "
            "every column and every 2x2 box contains each digit from 1 to 4 exactly once."
        )

    def board(self, meta: Meta) -> Board:
        return SudokuBoard()

    def _fill(self, meta: Meta, values: dict[tuple[int, int], int]) -> list[State]:
        puzzle = meta["puzzle"]
        state = {
            cell(r, c): f"given{puzzle[r][c]}" if puzzle[r][c] else BLANK
            for r in range(N)
            for c in range(N)
        }
        states = [dict(state)]
        for (r, c), v in values.items():
            state[cell(r, c)] = f"fill{v}"
            states.append(dict(state))
        return states

    def _blanks(self, meta: Meta) -> list[tuple[int, int]]:
        return [(r, c) for r in range(N) for c in range(N) if meta["puzzle"][r][c] == 0]

    def solution(self, meta: Meta) -> list[State]:
        return self._fill(meta, {(r, c): meta["solution"][r][c] for r, c in self._blanks(meta)})

    def wrong(self, meta: Meta) -> list[State]:
        values = {(r, c): meta["solution"][r][c] for r, c in self._blanks(meta)}
        r, c = self._blanks(meta)[-1]
        values[(r, c)] = values[(r, c)] % N + 1
        return self._fill(meta, values)

    def check(self, meta: Meta, state: State) -> Verdict:
        solution, puzzle = meta["solution"], meta["puzzle"]
        for r in range(N):
            for c in range(N):
                label = state[cell(r, c)]
                want = solution[r][c]
                if label == BLANK:
                    return Verdict(False, f"cell ({r},{c}) is empty; it should be {want}")
                got = int(label[-1])
                if got != want:
                    return Verdict(False, f"cell ({r},{c}) shows {got} instead of {want}")
                if puzzle[r][c] and got != puzzle[r][c]:
                    return Verdict(False, f"given digit at ({r},{c}) was changed")
        return Verdict(True, "every cell holds the solution's digit")
