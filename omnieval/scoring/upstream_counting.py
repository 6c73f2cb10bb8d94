"""Counting trials as upstream scorers do, for the labelled parity nodes of each benchmark.

omnieval leaves a failed trial out of its metrics and counts it apart. Upstream scorers keep it:
a call that failed is a wrong answer (value 0) in the denominator. And upstream has no
replicates, so an item counts once: its first replicate.
"""

from __future__ import annotations

from collections.abc import Sequence

from omnieval.types import Outcome, TrialRecord


def value_or_zero(record: TrialRecord, metric: str) -> float:
    """The trial's `metric` when it was scored; 0 for a failed, unsupported or unscorable one."""
    if record.outcome is not Outcome.SCORED or record.score is None:
        return 0.0
    return float(record.score.values.get(metric, 0.0))


def _replicate_order(label: str) -> tuple[int, int, str]:
    digits = "".join(c for c in label if c.isdigit())
    return (0 if not label else 1, int(digits or 0), label)


def first_replicates(records: Sequence[TrialRecord]) -> list[TrialRecord]:
    """One record per sample (its first replicate), in sample-id order."""
    kept: dict[str, TrialRecord] = {}
    for record in records:
        seen = kept.get(record.trial.sample_id)
        if seen is None or _replicate_order(record.trial.replicate) < _replicate_order(
            seen.trial.replicate
        ):
            kept[record.trial.sample_id] = record
    return [kept[key] for key in sorted(kept)]
