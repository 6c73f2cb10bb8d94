"""V-SYNC parity extraction: the upstream answer parsing, bugs included.

Upstream (V-SYNC Level 1, shared with its successor SocialOmni) parses an answer in up to two
steps, depending on how the model was reached (the `answer_path`):

1. `"http"` only (local models behind V-SYNC's Flask servers, `OmniHttpClient`): the HTTP client
   trims the answer: if the last non-empty line is a single A-D letter (either case) it returns
   that letter upper-cased, otherwise the whole stripped text;
2. both paths: `_normalize_answer` then takes the first character (upper-cased) if it is one of
   A-D, else the first `\\b[A-D]\\b` in the upper-cased text, else keeps the raw text.

The `"direct"` path (API models: GPT-4o and Gemini through `OpenAICompatTester`) skips step 1, so
"Answer:\\n\\nD" reads D on the http path and A (the first character) on the direct path.

Step 2's first branch maps "Based on..." to B, "A man..." to A, "Clearly..." to C and
"During..." to D; its second branch matches the article "a". This module reproduces both, so
that official numbers can be recomputed; `extract_choice` is the corrected default.

Upstream keeps the raw text when no letter is found, and raw text never equals a letter, so it
always counts as wrong. Here that case is a failed extraction (`rule="vsync:none"`), which the
accuracy metric also scores 0: the numbers are identical, and the report can count them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from omnieval.scoring.extract.text import short
from omnieval.types import Extraction

_UPSTREAM_LETTERS = ("A", "B", "C", "D")

AnswerPath = Literal["direct", "http"]
"""How upstream received the answer: `"http"` = local-model HTTP client (last-line trim applied),
`"direct"` = API models (the OpenAI-compatible tester; no trim)."""
ANSWER_PATHS: tuple[AnswerPath, ...] = ("direct", "http")


def _parity_letters(letters: Sequence[str]) -> tuple[str, ...]:
    # Upstream hard-codes A-D. A caller's labels are honoured (so a 5-option task is not
    # silently truncated), but only single characters can take part in a first-character rule.
    chosen = tuple(dict.fromkeys(s.strip().upper() for s in letters if len(s.strip()) == 1))
    return chosen or _UPSTREAM_LETTERS


def _http_client_trim(raw: str, letters: tuple[str, ...]) -> tuple[str, bool]:
    lines = [line.strip() for line in raw.split("\n") if line.strip()]
    if lines and len(lines[-1]) == 1 and lines[-1].upper() in letters:
        return lines[-1].upper(), True
    return raw.strip(), False


def extract_choice_vsync_parity(
    text: str | None,
    letters: Sequence[str] = _UPSTREAM_LETTERS,
    options: Sequence[str] = (),
    *,
    answer_path: AnswerPath = "http",
) -> Extraction:
    """The letter V-SYNC's own scorer would read from `text` (`options` is unused upstream).

    `answer_path` picks upstream's route for the answer: `"http"` (the default: local models,
    whose HTTP client trims a trailing single-letter line first) or `"direct"` (API models,
    parsed as returned, without the trim).
    """
    del options  # kept for the common extractor signature
    if answer_path not in ANSWER_PATHS:
        raise ValueError(f"answer_path must be one of {ANSWER_PATHS}, not {answer_path!r}")
    labels = _parity_letters(letters)
    if text is None:
        return Extraction(value=None, rule="vsync:none", ok=False, detail="no response text")
    if answer_path == "http":
        answer, trimmed = _http_client_trim(text, labels)
    else:
        answer, trimmed = text.strip(), False
    if not answer:
        return Extraction(value=None, rule="vsync:none", ok=False, detail="empty response")
    first = answer[0].upper()
    if first in labels:
        rule = "vsync:last-line" if trimmed else "vsync:first-char"
        return Extraction(value=first, rule=rule, ok=True, detail=short(answer[:40]))
    alternation = "|".join(re.escape(label) for label in labels)
    match = re.search(rf"\b({alternation})\b", answer.upper())
    if match is not None:
        context = answer[max(0, match.start() - 20) : match.end() + 20]
        return Extraction(value=match.group(1), rule="vsync:word", ok=True, detail=short(context))
    return Extraction(
        value=None,
        rule="vsync:none",
        ok=False,
        detail="no letter; upstream keeps the raw text, which never equals a letter (wrong)",
    )
