"""Text clean-up and letter handling shared by the multiple-choice extractors."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# A closed reasoning block is dropped; an unclosed one (the model ran out of tokens while still
# thinking) drops everything after it, since no final answer was ever written.
_THINK_CLOSED = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think(?:ing)?>.*\Z", re.DOTALL | re.IGNORECASE)
_ANSWER_TAG = re.compile(r"</?answer>", re.IGNORECASE)
_EMPHASIS = re.compile(r"\*+|_{2,}|`+")
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]*", re.MULTILINE)


def clean_response(text: str) -> tuple[str, str | None]:
    """Normalise a raw response for pattern matching.

    Returns the cleaned text and, when nothing is left, the reason why. Clean-up is NFKC
    normalisation (full-width letters and brackets become ASCII), dropping `<think>` blocks,
    unwrapping `<answer>` tags, and removing markdown emphasis (`**C**` -> `C`), inline code
    marks and heading hashes.
    """
    cleaned = unicodedata.normalize("NFKC", text)
    had_reasoning = bool(_THINK_CLOSED.search(cleaned) or _THINK_OPEN.search(cleaned))
    cleaned = _THINK_CLOSED.sub("\n", cleaned)
    cleaned = _THINK_OPEN.sub("\n", cleaned)
    cleaned = _ANSWER_TAG.sub("\n", cleaned)
    cleaned = _EMPHASIS.sub("", cleaned)
    cleaned = _HEADING.sub("", cleaned)
    cleaned = cleaned.strip()
    if cleaned:
        return cleaned, None
    if had_reasoning:
        return "", "only reasoning (<think>) content, no final answer"
    return "", "empty response"


def option_labels(letters: Sequence[str], options: Sequence[str] = ()) -> tuple[str, ...]:
    """The valid answer labels, upper-cased and de-duplicated, in order.

    Falls back to `A, B, C, ...` (one per option) when `letters` is empty.
    """
    labels = tuple(dict.fromkeys(s.strip().upper() for s in letters if s and s.strip()))
    if not labels and options:
        labels = tuple(chr(ord("A") + i) for i in range(len(options)))
    if not labels:
        raise ValueError("choice extraction needs the valid option letters (or the options)")
    return labels


def letter_alternation(labels: Sequence[str]) -> str:
    """A regex alternation matching any label, longest first."""
    return "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))


def normalize_words(text: str) -> str:
    """Lower-case, punctuation to spaces, whitespace collapsed (for option-text matching)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", folded).split())


def strip_option_label(option: str, label: str) -> str:
    """`"A. The man"` -> `"The man"` when the option text carries its own label."""
    pattern = rf"^\s*[\(\[]?\s*{re.escape(label)}\s*[\)\]\.:]\s*"
    return re.sub(pattern, "", option, count=1, flags=re.IGNORECASE)


def short(span: str, limit: int = 80) -> str:
    """A matched span for `Extraction.detail`, whitespace collapsed and truncated."""
    flat = " ".join(span.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
