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

Upstream reads only A-D, whatever the item's options: a three-option item still reads "D or B"
as D (wrong), and a five-option item never reads "E." as E. When no A-D is found upstream keeps
the raw stripped text and compares it, case-sensitively, with the upper-cased correct answer: it
counts only when the answer is exactly that label (a bare "E" on a five-option item). Here that
case is `rule="vsync:raw-text"` when the text is exactly one of the caller's labels, and
otherwise a failed extraction (`rule="vsync:none"`), which the accuracy metric scores 0 as
upstream's raw text scores: the numbers are identical, and the report can count them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from omnieval.scoring.extract.text import short
from omnieval.types import Extraction

_UPSTREAM_LETTERS = ("A", "B", "C", "D")
_STANDALONE = re.compile(r"\b([A-D])\b")

AnswerPath = Literal["direct", "http"]
"""How upstream received the answer: `"http"` = local-model HTTP client (last-line trim applied),
`"direct"` = API models (the OpenAI-compatible tester; no trim)."""
ANSWER_PATHS: tuple[AnswerPath, ...] = ("direct", "http")


def _task_letters(letters: Sequence[str]) -> frozenset[str]:
    return frozenset(s.strip() for s in letters if len(s.strip()) == 1)


def _http_client_trim(raw: str) -> tuple[str, bool]:
    # upstream splits on "\n" only (not str.splitlines) and strips each line
    lines = [line.strip() for line in raw.split("\n") if line.strip()]
    if lines and len(lines[-1]) == 1 and lines[-1].upper() in _UPSTREAM_LETTERS:
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
    if text is None:
        return Extraction(value=None, rule="vsync:none", ok=False, detail="no response text")
    if answer_path == "http":
        answer, trimmed = _http_client_trim(text)
    else:
        answer, trimmed = text.strip(), False
    if not answer:
        return Extraction(value=None, rule="vsync:none", ok=False, detail="empty response")
    first = answer[0].upper()
    if first in _UPSTREAM_LETTERS:
        rule = "vsync:last-line" if trimmed else "vsync:first-char"
        return Extraction(value=first, rule=rule, ok=True, detail=short(answer[:40]))
    match = _STANDALONE.search(answer.upper())
    if match is not None:
        context = answer[max(0, match.start() - 20) : match.end() + 20]
        return Extraction(value=match.group(1), rule="vsync:word", ok=True, detail=short(context))
    if answer in _task_letters(letters):
        # Upstream keeps the raw text and compares it with the upper-cased correct answer: an
        # answer that is exactly a label beyond D ("E" of a five-option item) counts.
        return Extraction(value=answer, rule="vsync:raw-text", ok=True, detail=short(answer))
    return Extraction(
        value=None,
        rule="vsync:none",
        ok=False,
        detail="no letter; upstream keeps the raw text, which never equals a letter (wrong)",
    )
