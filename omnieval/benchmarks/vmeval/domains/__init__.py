"""The generated task domains, each with its board, solution, wrong move and exact check."""

from __future__ import annotations

from omnieval.benchmarks.vmeval.domains.base import Domain, Verdict
from omnieval.benchmarks.vmeval.domains.chess_mate import ChessMate
from omnieval.benchmarks.vmeval.domains.counting import CountingObjects, ObjectSubtraction
from omnieval.benchmarks.vmeval.domains.hanoi import TowerOfHanoi
from omnieval.benchmarks.vmeval.domains.maze import Maze
from omnieval.benchmarks.vmeval.domains.rotation import Rotation
from omnieval.benchmarks.vmeval.domains.shapes import ShapeSorter
from omnieval.benchmarks.vmeval.domains.sliding import SlidingPuzzle
from omnieval.benchmarks.vmeval.domains.sudoku import Sudoku

DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        ChessMate(),
        Maze(),
        Sudoku(),
        Rotation(),
        SlidingPuzzle(),
        TowerOfHanoi(),
        CountingObjects(),
        ObjectSubtraction(),
        ShapeSorter(),
    )
}

__all__ = ["DOMAINS", "Domain", "Verdict"]
