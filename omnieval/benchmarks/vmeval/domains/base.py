"""What a generated domain provides: puzzles, their drawing, solution and exact check."""

from __future__ import annotations

import abc
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnieval.benchmarks.vmeval.board import Board, State

Meta = dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    """The verifier's answer for one video: solved or not, and why."""

    solved: bool
    reason: str


class Domain(abc.ABC):
    """One generated task domain (`maze`, `chess` ...), written as `<name>_task/`.

    `generate` returns the puzzle as the JSON of `question_metadata.json` (puzzle, solution and
    whatever the board needs); every other method reads only that JSON, so a question directory
    alone is enough to verify a video.
    """

    name: str
    #: the ground-truth video's frames per state: first, each step, final
    hold_first, hold_step, hold_final = 4, 2, 6

    @abc.abstractmethod
    def generate(self, rng: random.Random) -> Meta:
        """A new puzzle (its metadata without the common fields)."""

    @abc.abstractmethod
    def prompt(self, meta: Meta) -> str: ...

    @abc.abstractmethod
    def board(self, meta: Meta) -> Board: ...

    @abc.abstractmethod
    def solution(self, meta: Meta) -> list[State]:
        """States from the first to the solved one."""

    @abc.abstractmethod
    def wrong(self, meta: Meta) -> list[State]:
        """States from the first to a legal but wrong final state."""

    @abc.abstractmethod
    def check(self, meta: Meta, state: State) -> Verdict:
        """Whether a read state is the solved one, with a reason naming the first error."""

    def frames(self, meta: Meta, states: list[State]) -> list[np.ndarray]:
        """The video frames of a state sequence (each state held a few frames)."""
        board = self.board(meta)
        out: list[np.ndarray] = []
        last = len(states) - 1
        for i, state in enumerate(states):
            hold = self.hold_first if i == 0 else self.hold_final if i == last else self.hold_step
            image = board.render(state)
            out.extend([image] * hold)
        return out


def cell(r: int, c: int) -> str:
    return f"r{r}c{c}"
