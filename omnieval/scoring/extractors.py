"""Registered answer extractors (`registry.extractors`).

Every extractor has the signature `(text, letters, options) -> Extraction`:

- `choice`: robust multiple-choice letter extraction, the default (`extract_choice`);
- `choice-vsync`: V-SYNC's upstream parsing, bugs included, for parity with official numbers
  (`extract_choice_vsync_parity`; its keyword `answer_path` picks upstream's route: `"http"`,
  the default, for local models, or `"direct"` for API models).

The rules themselves live in `omnieval.scoring.extract`; `docs/extraction.md` explains them.
"""

from __future__ import annotations

from omnieval import registry
from omnieval.scoring.extract import (
    ANSWER_PATHS,
    CHOICE_RULES_VERSION,
    AnswerPath,
    extract_choice,
    extract_choice_vsync_parity,
)

registry.extractors.register("choice")(extract_choice)
registry.extractors.register("choice-vsync")(extract_choice_vsync_parity)

__all__ = [
    "ANSWER_PATHS",
    "CHOICE_RULES_VERSION",
    "AnswerPath",
    "extract_choice",
    "extract_choice_vsync_parity",
]
