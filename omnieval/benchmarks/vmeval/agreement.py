"""Judge vs verifier: the confusion matrix of two binary verdicts and Cohen's kappa."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Agreement:
    """Counts of (verifier, judge) verdict pairs: `both`, `verifier_only`, `judge_only`,
    `neither` (solved / success = True)."""

    both: int
    verifier_only: int
    judge_only: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.verifier_only + self.judge_only + self.neither

    @property
    def observed(self) -> float:
        return (self.both + self.neither) / self.n if self.n else 0.0

    @property
    def expected(self) -> float:
        if not self.n:
            return 0.0
        v_yes = (self.both + self.verifier_only) / self.n
        j_yes = (self.both + self.judge_only) / self.n
        return v_yes * j_yes + (1 - v_yes) * (1 - j_yes)

    @property
    def kappa(self) -> float:
        """Cohen's kappa; 1.0 when both raters agree on every item and chance agreement is 1."""
        pe = self.expected
        if pe >= 1.0:
            return 1.0 if self.observed >= 1.0 else 0.0
        return (self.observed - pe) / (1 - pe)

    def table(self) -> dict[str, dict[str, int]]:
        solved = {"judge success": self.both, "judge failure": self.verifier_only}
        unsolved = {"judge success": self.judge_only, "judge failure": self.neither}
        return {"verifier solved": solved, "verifier not solved": unsolved}


def agreement(pairs: Iterable[tuple[bool, bool]]) -> Agreement:
    """From (verifier solved, judge success) pairs."""
    counts = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for verifier, judge in pairs:
        counts[(bool(verifier), bool(judge))] += 1
    return Agreement(
        counts[(True, True)], counts[(True, False)], counts[(False, True)], counts[(False, False)]
    )
