"""Stage scores, Overall and the L1-L4 taxonomy, with every constant in one place.

Upstream's code has no aggregation at all; the numbers below come from the published tables:
- a stage score is the unweighted mean of its tasks' headline scores;
- **Overall = mean(P, U, R, S)** and **L1 (task-adaptive) = mean(P, U, R)** reproduce every
  published row (exact);
- **L2 (modality-adaptive), provisional**: L1 * (1 - a * dm), a = 0.5, dm = |A - V| / ((A + V)/2)
  with A and V the mean headline scores of the audio- and visual-dominant tasks, i.e.
  L1 * 2 min(A, V) / (A + V). The grouping and the form come from a summary of the paper, not
  from the paper's equations; no published per-task numbers exist to check it;
- **L3 (stage-adaptive)** and **L4 (domain-adaptive)**: unavailable. L3 needs the chance levels
  c_t of every task and the exact stage-imbalance term ds (paper appendix G.2.2, not available
  to us); L4 is the harmonic mean of L3 and a penalised sensation score, so it needs L3.
  They are reported as unavailable with that reason, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STAGE_TASKS: dict[str, tuple[str, ...]] = {
    "perception": ("AMIC", "VMIC", "AVL", "AVM"),
    "understanding": ("VAR", "AVR", "AVC"),
    "reasoning": ("AVH", "VAH", "AVQA", "AVLG"),
    "sensation": ("ASQA", "VSQA", "AVSQA"),
}
FAMILIAR = ("perception", "understanding", "reasoning")

#: L2's provisional constants and groups (from a paper summary; unverified)
L2_ALPHA = 0.5
AUDIO_DOMINANT = ("AMIC", "VAR", "AVH", "ASQA")
VISUAL_DOMINANT = ("VMIC", "AVR", "VAH", "VSQA")

L3_UNAVAILABLE = (
    "L3 (stage-adaptive) needs each task's chance level c_t and the exact stage-imbalance "
    "term ds from the paper's appendix G.2.2, which are not available; not computed"
)
L4_UNAVAILABLE = (
    "L4 (domain-adaptive) is the harmonic mean of L3 and a modality-penalised sensation score; "
    "without L3 it cannot be computed"
)


@dataclass(frozen=True)
class Level:
    key: str  # the leaderboard's taxonomy key
    value: float | None  # 0-1, or None when unavailable
    status: str  # exact | provisional | unavailable
    reason: str = ""


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def overall(stages: Mapping[str, float]) -> float:
    return mean([stages[s] for s in STAGE_TASKS])


def l1(stages: Mapping[str, float]) -> float:
    return mean([stages[s] for s in FAMILIAR])


def modality_balance(audio: float, visual: float) -> float:
    """1 - a * dm, dm = |A - V| / ((A + V) / 2); 1 when both are 0."""
    if audio + visual == 0:
        return 1.0
    gap = abs(audio - visual) / ((audio + visual) / 2)
    return 1.0 - L2_ALPHA * gap


def l2(l1_value: float, tasks: Mapping[str, float]) -> float:
    audio = mean([tasks[t] for t in AUDIO_DOMINANT])
    visual = mean([tasks[t] for t in VISUAL_DOMINANT])
    return l1_value * modality_balance(audio, visual)


def taxonomy(stages: Mapping[str, float], tasks: Mapping[str, float]) -> list[Level]:
    """L1-L4 from stage and task headline scores (any scale; missing inputs -> unavailable)."""
    levels: list[Level] = []
    if all(s in stages for s in FAMILIAR):
        first = l1(stages)
        levels.append(Level("l1_task", first, "exact"))
        needed = [t for t in AUDIO_DOMINANT + VISUAL_DOMINANT if t not in tasks]
        if needed:
            reason = f"L2 needs the scores of {', '.join(needed)}"
            levels.append(Level("l2_modality", None, "unavailable", reason))
        else:
            note = "formula from a paper summary, unverified"
            levels.append(Level("l2_modality", l2(first, tasks), "provisional", note))
    else:
        reason = "L1 needs the perception, understanding and reasoning stage scores"
        levels.append(Level("l1_task", None, "unavailable", reason))
        levels.append(Level("l2_modality", None, "unavailable", "L2 needs L1"))
    levels.append(Level("l3_stage", None, "unavailable", L3_UNAVAILABLE))
    levels.append(Level("l4_domain", None, "unavailable", L4_UNAVAILABLE))
    return levels
