"""STAR-Bench answer extraction: a regression table for upstream parity and the default.

Each parity row was worked out by hand from upstream's `parse_multi_choice_response`
(ALMEval_code/datasets/starbench.py @ 0daf8b0): keyword pass (case-insensitive, bracketed beats
bare, last wins), then bracketed letters > option text (> 2 words) > bare letters, else "Z".
(tests/parity/ does not exist on this branch's base; the table lives here.)
"""

from __future__ import annotations

import pytest

from omnieval.benchmarks.starbench.extract import extract_starbench_parity, parity_correct
from omnieval.scoring.extractors import extract_choice
from omnieval.types import ChoiceTarget

OPTIONS = ("dog barking", "cat meowing", "bird singing", "car horn")
LETTERS = ("A", "B", "C", "D")

# response, target, parity (value, rule), parity correct?, default value (None = failed)
TABLE: list[tuple[str, str, tuple[str | None, str], bool, str | None]] = [
    # terse
    ("B", "B", ("B", "starbench:letter"), True, "B"),
    # verbose, keyword "answer is"
    (
        "The sound is clearly a cat meowing, so the answer is B.",
        "B",
        ("B", "starbench:keyword"),
        True,
        "B",
    ),
    # bracketed, no keyword
    ("I think (C) is right.", "C", ("C", "starbench:bracketed"), True, "C"),
    # option text only (more than two words)
    ("It is a bird singing in the morning", "C", ("C", "starbench:option-text"), True, "C"),
    # option text with two words or fewer is not read by upstream
    ("bird singing", "C", (None, "starbench:none"), False, "C"),
    # keyword forms
    ("Answer: <D>", "D", ("D", "starbench:keyword-bracketed"), True, "D"),
    ("The correct option is [A].", "A", ("A", "starbench:keyword-bracketed"), True, "A"),
    ("答案是 C", "C", ("C", "starbench:keyword"), True, "C"),
    # a CJK character is a word character: no \b before the letter, so upstream finds nothing
    ("答案是C", "C", (None, "starbench:none"), False, "C"),
    # the keyword pass ignores case: the lower-case letter is kept and never equals the answer
    ("answer: b", "B", ("b", "starbench:keyword"), False, "B"),
    # ... even the article "a" after "answer is" becomes the (wrong) answer "a"
    ("The answer is a dog barking.", "A", ("a", "starbench:keyword"), False, "A"),
    # among keyword matches bracketed beats bare, then the last wins
    (
        "Option A seems plausible, but the answer is (B).",
        "B",
        ("B", "starbench:keyword-bracketed"),
        True,
        "B",
    ),
    # no keyword: a bracketed letter outranks a later bare one (the default reads "(A)" too)
    ("(A) or maybe B", "B", ("A", "starbench:bracketed"), False, "A"),
    # none
    ("I cannot tell.", "A", (None, "starbench:none"), False, None),
    ("", "A", (None, "starbench:none"), False, None),
]


@pytest.mark.parametrize(("response", "answer", "parity", "right", "default"), TABLE)
def test_regression_table(
    response: str,
    answer: str,
    parity: tuple[str | None, str],
    right: bool,
    default: str | None,
) -> None:
    target = ChoiceTarget(answer=answer, options=OPTIONS)
    got = extract_starbench_parity(response, OPTIONS)
    assert (got.value, got.rule) == parity
    assert got.ok is (parity[0] is not None)
    assert parity_correct(got, target) is right
    fixed = extract_choice(response, LETTERS, OPTIONS)
    assert (fixed.value if fixed.ok else None) == default, fixed


def test_parity_is_case_sensitive_outside_keywords() -> None:
    # the global pass matches upper-case letters only: "a" and "I" are words, not answers
    got = extract_starbench_parity("I guess a dog barking", OPTIONS)
    assert (got.value, got.rule) == ("A", "starbench:option-text")
