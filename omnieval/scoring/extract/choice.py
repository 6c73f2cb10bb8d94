"""Robust multiple-choice letter extraction.

The rules run from the most to the least explicit; the first rule that finds anything decides.
If it finds exactly one valid letter, that letter is the answer; if it finds several distinct
letters, the extraction fails as ambiguous. Nothing is ever guessed. See `docs/extraction.md`.

| order | rule | example |
|---|---|---|
| 1 | `bare` | `C`, `(C)`, `**C**`, `Option C`, `Answer: c` |
| 2 | `final-answer` | `... Final answer: C`, `\\boxed{C}` |
| 3 | `statement`, `first-line`, `last-line` | `the answer is C`, `I choose C`, `C is correct` |
| 4 | `parenthesized` | `A man speaks first, so (D)` |
| 5 | `option-mention` | `... so option C` |
| 6 | `label-line` | a line `C. The woman in red` |
| 7 | `option-text` / `lone-letter` | `The woman in red speaks.` / `... so C` |
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from omnieval.scoring.extract.text import (
    clean_response,
    letter_alternation,
    normalize_words,
    option_labels,
    short,
    strip_option_label,
)
from omnieval.types import Extraction

# Bump when a rule changes, so benchmarks can put it in their scoring fingerprint.
CHOICE_RULES_VERSION = "1"

# A letter token: not glued to a word ("Based"), a contraction ("I'm"), a hyphenation ("X-ray")
# or an abbreviation ("e.g.", "U.S.").
_BEFORE = r"(?<![A-Za-z0-9_])(?<![A-Za-z0-9][\-'’.])"
_AFTER = r"(?![A-Za-z0-9_])(?![\-'’.][A-Za-z0-9])"
_OPEN = r"[\(\[\{<\"']?"
_CLOSE = r"[\)\]\}>\"']?"
_DASH = r"[:=\-–—]"
_KIND = r"(?:option|choice|letter)"
_VERB = (
    r"(?:is|would\s+be|should\s+be|will\s+be|must\s+be|seems\s+to\s+be|appears\s+to\s+be"
    r"|is\s+likely|is\s+probably|is\s+clearly|is\s+definitely)"
)

# "A" followed by one of these words is the letter ("A is correct"), by any other word the
# article ("A man speaks"). "I" is the pronoun unless followed by one of a shorter list.
_A_CONNECTORS = frozenset(
    {
        "is", "was", "seems", "appears", "would", "could", "should", "must", "might", "may",
        "will", "matches", "fits", "describes", "corresponds", "best", "because", "since", "as",
        "and", "or", "but", "then", "so", "which", "here", "too", "also", "only", "instead",
        "not", "with", "vs", "versus", "rather", "over", "than", "looks", "sounds", "makes",
        "being", "isn't", "wasn't", "has", "does",
    }
)  # fmt: skip
_I_CONNECTORS = frozenset(
    {
        "is", "was", "seems", "appears", "matches", "fits", "describes", "corresponds", "or",
        "vs", "versus", "rather", "than",
    }
)  # fmt: skip
_WORD_AFTER = re.compile(r"[ \t]+([A-Za-z][A-Za-z'’\-]*)")


@dataclass(frozen=True)
class _Hit:
    letter: str  # upper-cased, possibly not a valid label
    span: str


@dataclass(frozen=True)
class _Patterns:
    bare: re.Pattern[str]
    final: tuple[re.Pattern[str], ...]
    statements: tuple[re.Pattern[str], ...]
    alternative: re.Pattern[str]
    parenthesized: re.Pattern[str]
    mention: re.Pattern[str]
    label_line: re.Pattern[str]
    lone: re.Pattern[str]


@functools.lru_cache(maxsize=64)
def _patterns(labels: tuple[str, ...]) -> _Patterns:
    valid = letter_alternation(labels)
    # In explicit frames any single letter is captured, so "the answer is E" with options A-D
    # fails loudly instead of falling through to a weaker rule.
    wrapped_any = rf"{_OPEN}\s*{_BEFORE}(?P<L>{valid}|[A-Za-z]){_AFTER}\s*{_CLOSE}"
    wrapped_valid = rf"{_OPEN}\s*{_BEFORE}(?P<L>{valid}){_AFTER}\s*{_CLOSE}"
    ci = re.IGNORECASE
    return _Patterns(
        bare=re.compile(
            rf"^(?:(?:the\s+|my\s+)?(?:final\s+|correct\s+|best\s+|right\s+)?(?:answer|{_KIND})"
            rf"\s*(?:is\b\s*|would\s+be\s*)?{_DASH}?\s*)?(?:{_KIND}\s*:?\s*)?{wrapped_any}\s*[.!]?$",
            ci,
        ),
        final=(
            re.compile(
                rf"\bfinal\s+answer\s*(?:is\b\s*|would\s+be\s*|will\s+be\s*)?{_DASH}?\s*"
                rf"(?:{_KIND}\s*:?\s*)?{wrapped_any}",
                ci,
            ),
            re.compile(
                rf"\\boxed\s*\{{\s*(?:\\text(?:bf)?\s*\{{\s*)?(?:{_KIND}\s*)?{wrapped_any}\s*\}}",
                ci,
            ),
        ),
        statements=(
            re.compile(
                rf"(?:\banswer|答案)\s*(?:(?:{_VERB}\b|是|为|為)\s*{_DASH}?|{_DASH})\s*"
                rf"(?:{_KIND}\s*:?\s*)?{wrapped_any}",
                ci,
            ),
            re.compile(
                rf"\b(?:correct|right|best)\s+{_KIND}\s*(?:{_VERB}\b\s*{_DASH}?|{_DASH})\s*"
                rf"(?:{_KIND}\s*:?\s*)?{wrapped_any}",
                ci,
            ),
            re.compile(
                r"(?:\bI\s*(?:would|will|'d|’d|'ll|’ll|must|should|can|am\s+going\s+to)?\s*"
                r"(?:choose|pick|select|go\s+with|opt\s+for)\b|我?选择?)\s*:?\s*"
                rf"(?:(?:the\s+)?(?:{_KIND}|answer)\s*:?\s*)?{wrapped_any}",
                ci,
            ),
            # Letter first: "C is correct", "(C) is the best answer"; the letter must be upper-case.
            re.compile(
                rf"[\(\[]?{_BEFORE}(?P<L>{valid}){_AFTER}[\)\]]?\s+"
                r"(?i:is|would\s+be|seems\s+to\s+be|must\s+be)\s+(?i:the\s+)?"
                r"(?i:correct|right|best)\b"
            ),
        ),
        alternative=re.compile(
            rf"\s*(?:(?:/|&|\b(?i:or|and)\b)\s*(?i:{_KIND}\s*)?[\(\[]?{_BEFORE}(?P<L>{valid}){_AFTER}"
            rf"|,\s*(?i:or\s+|and\s+)?[\(\[]?{_BEFORE}(?P<M>{valid}){_AFTER}[\)\]]?"
            r"(?=\s*(?:$|[.,;!?]|\b(?i:or|and)\b)))"
        ),
        parenthesized=re.compile(rf"[\(\[]\s*(?P<L>{valid})\s*[\)\]]"),
        mention=re.compile(rf"(?:\b{_KIND}|选项)\s*:?\s*{wrapped_valid}", ci),
        label_line=re.compile(rf"^[ \t>•\-]*(?P<L>{valid})[.):][ \t]+\S.*$", re.MULTILINE),
        lone=re.compile(rf"{_BEFORE}(?P<L>{valid}){_AFTER}"),
    )


def _is_word_use(token: str, text: str, end: int) -> bool:
    """True if the letter token at `text[:end]` is the article "a" or the pronoun "I"."""
    upper = token.upper()
    if upper not in ("A", "I"):
        return False
    if upper == "I" and text[end : end + 1] in ("'", "’"):
        return True
    following = _WORD_AFTER.match(text, end)
    if following is None:
        return False
    connectors = _A_CONNECTORS if upper == "A" else _I_CONNECTORS
    return following.group(1).lower() not in connectors


def _collect(
    pattern: re.Pattern[str],
    text: str,
    alternative: re.Pattern[str] | None = None,
    words_possible: bool = True,
) -> list[_Hit]:
    """Every letter `pattern` finds in `text`, minus articles and pronouns.

    `words_possible=False` is for frames where the letter cannot be a word ("option A says").

    With `alternative`, a letter directly followed by "or D" / "and D" / "/D" / ", D" also
    yields the second letter, so "the answer is B or C" is ambiguous rather than B.
    """
    hits: list[_Hit] = []
    for match in pattern.finditer(text):
        token = match.group("L")
        if words_possible and _is_word_use(token, text, match.end("L")):
            continue
        hits.append(_Hit(token.upper(), short(match.group(0))))
        if alternative is None:
            continue
        other = alternative.match(text, match.end())
        if other is None:
            continue
        group = "L" if other.group("L") is not None else "M"
        if not _is_word_use(other.group(group), text, other.end(group)):
            span = short(match.group(0) + other.group(0))
            hits.append(_Hit(other.group(group).upper(), span))
    return hits


def _distinct(hits: Iterable[_Hit]) -> list[str]:
    return list(dict.fromkeys(hit.letter for hit in hits))


def _failed(reason: str) -> Extraction:
    return Extraction(value=None, rule="none", ok=False, detail=reason)


def _decide(rule: str, hits: Sequence[_Hit], labels: Sequence[str]) -> Extraction | None:
    """One valid letter -> answer; several -> ambiguous; an invalid one -> failed; none -> None."""
    letters = _distinct(hits)
    if not letters:
        return None
    if len(letters) > 1:
        return _failed(f"ambiguous ({rule}): {', '.join(sorted(letters))}")
    letter = letters[0]
    if letter not in labels:
        return _failed(f"answer {letter!r} ({rule}) is not one of {', '.join(labels)}")
    return Extraction(value=letter, rule=rule, ok=True, detail=hits[0].span)


def _explicit(text: str, pats: _Patterns, labels: Sequence[str]) -> Extraction | None:
    """Statements anywhere, plus a bare letter on the first or last line, must all agree."""
    by_rule: dict[str, list[_Hit]] = {"statement": [], "last-line": [], "first-line": []}
    for pattern in pats.statements:
        by_rule["statement"] += _collect(pattern, text, pats.alternative)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        by_rule["first-line"] = _collect(pats.bare, lines[0])
        by_rule["last-line"] = _collect(pats.bare, lines[-1])
    every = [hit for hits in by_rule.values() for hit in hits]
    if len(_distinct(every)) > 1:
        return _failed(f"conflicting answers: {', '.join(sorted(_distinct(every)))}")
    for rule, hits in by_rule.items():
        if hits:
            return _decide(rule, hits, labels)
    return None


def _option_text_hits(text: str, labels: Sequence[str], options: Sequence[str]) -> dict[str, str]:
    """Options whose full text occurs in `text` (case and punctuation ignored).

    An occurrence lying inside an occurrence of a longer option's text ("the man" inside
    "the man in red") does not count for the shorter option.
    """
    answer = f" {normalize_words(text)} "
    spans: list[tuple[int, int, str, str]] = []
    for label, option in zip(labels, options, strict=False):
        body = normalize_words(strip_option_label(option, label))
        if not body or body == label.lower():
            continue
        needle = f" {body} "
        start = answer.find(needle)
        while start != -1:
            spans.append((start + 1, start + 1 + len(body), label, body))
            start = answer.find(needle, start + 1)
    found: dict[str, str] = {}
    for start, end, label, body in spans:
        inside_longer = any(
            other != label and s <= start and end <= e and e - s > end - start
            for s, e, other, _ in spans
        )
        if not inside_longer:
            found.setdefault(label, body)
    return found


def _weak(text: str, pats: _Patterns, labels: Sequence[str], options: Sequence[str]) -> Extraction:
    """Option text and lone capital letters, each accepted only if the other does not object."""
    by_text = _option_text_hits(text, labels, options) if options else {}
    lone_hits = _collect(pats.lone, text)
    lone = _distinct(lone_hits)
    if len(by_text) == 1:
        ((label, body),) = by_text.items()
        if not lone or lone == [label]:
            return Extraction(value=label, rule="option-text", ok=True, detail=body)
    if len(lone) == 1 and (not by_text or lone[0] in by_text):
        return Extraction(value=lone[0], rule="lone-letter", ok=True, detail=lone_hits[0].span)
    if not by_text and not lone:
        return _failed("no answer letter found")
    if len(by_text) == 1 and len(lone) == 1:
        return _failed(f"conflict: letter {lone[0]} but the text of option {next(iter(by_text))}")
    named = sorted(set(by_text) | set(lone))
    return _failed(f"ambiguous (option-text/lone-letter): {', '.join(named)}")


def extract_choice(
    text: str | None, letters: Sequence[str], options: Sequence[str] = ()
) -> Extraction:
    """The option letter a free-text answer commits to, or a failed extraction saying why.

    `letters` are the valid labels (e.g. `("A", "B", "C", "D")`; `A, B, ...` one per option if
    empty); `options` are the option texts, with or without their own `"A. "` label, used by
    the option-text rule. The returned value is always one of `letters`, upper-cased.
    """
    labels = option_labels(letters, options)
    if text is None:
        return _failed("no response text")
    cleaned, why_empty = clean_response(text)
    if why_empty is not None:
        return _failed(why_empty)
    pats = _patterns(labels)

    decided = _decide("bare", _collect(pats.bare, cleaned), labels)
    if decided is not None:
        return decided
    final_hits = [hit for p in pats.final for hit in _collect(p, cleaned, pats.alternative)]
    decided = _decide("final-answer", final_hits, labels)
    if decided is not None:
        return decided
    decided = _explicit(cleaned, pats, labels)
    if decided is not None:
        return decided
    for rule, hits in (
        ("parenthesized", _collect(pats.parenthesized, cleaned, words_possible=False)),
        ("option-mention", _collect(pats.mention, cleaned, pats.alternative, False)),
        ("label-line", _collect(pats.label_line, cleaned, words_possible=False)),
    ):
        decided = _decide(rule, hits, labels)
        if decided is not None:
            return decided
    return _weak(cleaned, pats, labels, options)
