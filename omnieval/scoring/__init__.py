"""Scoring: answer extraction, per-trial metrics and the statistics used to aggregate them.

- `extractors`: registered extractors (`choice`, `choice-vsync`), rules in `scoring.extract`;
- `metrics`: registered per-trial metrics (`accuracy`);
- `stats`: standard errors, Wilson / t / bootstrap intervals, clustered SEs, paired tests,
  and `summarize_binary` / `summarize_continuous`, which aggregation calls.
"""

from __future__ import annotations

from omnieval.scoring.extractors import (
    CHOICE_RULES_VERSION,
    extract_choice,
    extract_choice_vsync_parity,
)
from omnieval.scoring.metrics import accuracy
from omnieval.scoring.stats import (
    PairedDifference,
    bootstrap_ci,
    clustered_stderr,
    mean_stderr,
    paired_difference,
    summarize_binary,
    summarize_continuous,
    wilson_interval,
)

__all__ = [
    "CHOICE_RULES_VERSION",
    "PairedDifference",
    "accuracy",
    "bootstrap_ci",
    "clustered_stderr",
    "extract_choice",
    "extract_choice_vsync_parity",
    "mean_stderr",
    "paired_difference",
    "summarize_binary",
    "summarize_continuous",
    "wilson_interval",
]
