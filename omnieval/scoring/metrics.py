"""Registered per-trial metrics (`registry.metrics`).

A metric has the signature `(extraction, target) -> dict[str, float]` and returns one or more
named values for one trial. A failed extraction (the model answered, but nobody can read the
answer) scores 0; inference failures never reach a metric, they are counted by aggregation.
"""

from __future__ import annotations

from omnieval import registry
from omnieval.types import ChoiceTarget, Extraction


def accuracy(extraction: Extraction, target: ChoiceTarget) -> dict[str, float]:
    """`{"accuracy": 1.0}` if the extracted letter is the target's answer, else `0.0`.

    Letters compare case-insensitively after stripping whitespace; a failed extraction is 0.
    """
    if not isinstance(target, ChoiceTarget):
        raise TypeError(
            f"metric 'accuracy' needs a ChoiceTarget, got {type(target).__name__}; "
            "choose a metric that matches the task's target kind"
        )
    if not extraction.ok or extraction.value is None:
        return {"accuracy": 0.0}
    predicted = str(extraction.value).strip().upper()
    return {"accuracy": 1.0 if predicted == target.answer.strip().upper() else 0.0}


# Registered after the definition (not as a decorator) so `accuracy` keeps its precise type.
registry.metrics.register("accuracy")(accuracy)
