"""Answer extraction: turn a model's free text into a structured answer with its provenance.

`omnieval.scoring.extractors` is the registry-facing module; this package holds the rules.
"""

from __future__ import annotations

from omnieval.scoring.extract.choice import CHOICE_RULES_VERSION, extract_choice
from omnieval.scoring.extract.vsync import ANSWER_PATHS, AnswerPath, extract_choice_vsync_parity

__all__ = [
    "ANSWER_PATHS",
    "CHOICE_RULES_VERSION",
    "AnswerPath",
    "extract_choice",
    "extract_choice_vsync_parity",
]
