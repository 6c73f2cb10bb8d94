"""Answer extraction for STAR-Bench: upstream's parser (parity) and the corrected default.

Parity (`scoring: starbench`) reproduces upstream's `parse_multi_choice_response`:

1. keyword pass: a keyword (answer, <answer>, solution, choice, option, correct option is,
   answer is, 答案是, 选项是), optional colons, then a bracketed letter `(A)` `<A>` `[A]` `{A}` or
   a bare letter. The whole pattern ignores case, so `answer: b` yields the lower-case `b`,
   which never equals an answer letter: counted wrong (upstream's case bug, kept here).
   Bracketed forms outrank bare ones; among the best form the last match wins.
2. global pass (case-sensitive letters): bracketed letters (rank 2), option texts matched
   case-insensitively between non-letters, only when the response has more than two words
   (rank 1), bare letters (rank 0); the last match of the best rank wins.
3. otherwise upstream's "Z": no answer, counted wrong (here a failed extraction, `starbench:none`).

The default (`scoring: default`) is the framework's robust choice extraction
(`omnieval.scoring.extractors.extract_choice`): letters in either case map to the upper-case
option letter, articles and pronouns are not read as letters, and several different letters
fail as ambiguous instead of picking the last one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from omnieval.scoring.extract.text import short
from omnieval.types import ChoiceTarget, Extraction

PARITY_VERSION = "2"  # 2: a repeated option text counts at its first position, as upstream
_KEYWORDS = r"(?:answer|<answer>|solution|choice|option|correct option is|answer is|答案是|选项是)"
_OPEN = r"[\(\<\[\{]"
_CLOSE = r"[\)\]\>\}]"


def _letter_class(letters: Sequence[str]) -> str:
    return "[" + "".join(re.escape(x) for x in letters) + "]"


def extract_starbench_parity(text: str | None, options: Sequence[str]) -> Extraction:
    """Upstream's parse: the letter as found (its case kept), or a failed extraction for "Z"."""
    response = text or ""
    letters = [chr(ord("A") + i) for i in range(len(options))]
    if not letters:
        return Extraction(value=None, rule="starbench:none", ok=False, detail="no options")
    cls = _letter_class(letters)
    keyword = re.compile(
        rf"(?i){_KEYWORDS}\s*[:：]*\s*(?:{_OPEN}\s*({cls})\s*{_CLOSE}|\b({cls})\b)"
    )
    # (letter, start, rank, rule)
    found: list[tuple[str, int, int, str]] = []
    for match in keyword.finditer(response):
        bracketed, bare = match.group(1), match.group(2)
        if bare:
            found.append((bare, match.start(), 0, "starbench:keyword"))
        if bracketed:
            found.append((bracketed, match.start(), 1, "starbench:keyword-bracketed"))
    if found:
        return _last(found, response)
    anywhere = re.compile(rf"{_OPEN}\s*({cls})\s*{_CLOSE}|\b({cls})\b")
    for match in anywhere.finditer(response):
        bracketed, bare = match.group(1), match.group(2)
        if bracketed:
            found.append((bracketed, match.start(), 2, "starbench:bracketed"))
        if bare:
            found.append((bare, match.start(), 0, "starbench:letter"))
    if len(response.split()) > 2:
        for label, option in zip(letters, options, strict=True):
            pattern = re.compile(rf"(?<![A-Za-z]){re.escape(option)}(?![A-Za-z])", re.IGNORECASE)
            for match in pattern.finditer(response):
                found.append((label, match.start(), 1, "starbench:option-text"))
    if found:
        return _last(found, response)
    return Extraction(
        value=None, rule="starbench:none", ok=False, detail=f"Z: no answer in {short(response)!r}"
    )


def _last(found: list[tuple[str, int, int, str]], response: str) -> Extraction:
    """The last match of the best rank (a stable sort on (rank, start), as upstream)."""
    best = sorted(found, key=lambda hit: (hit[2], hit[1]))[-1]
    span = response[best[1] : best[1] + 40]
    return Extraction(value=best[0], rule=best[3], detail=short(span))


def parity_answer_letter(target: ChoiceTarget) -> str:
    """The letter upstream counts as right: that of the *first* option whose text is the
    answer's (`options.index(answer)` on the options as shown), which differs from the
    answer's own position when an item repeats an option text."""
    letters = target.option_letters()
    text = target.options[letters.index(target.answer)]
    return letters[target.options.index(text)]


def parity_correct(extraction: Extraction, target: ChoiceTarget) -> bool:
    """Upstream compares `<X>` strings exactly: a lower-case letter is never right, and only
    the first option holding the answer text is (`parity_answer_letter`)."""
    return extraction.ok and extraction.value == parity_answer_letter(target)
