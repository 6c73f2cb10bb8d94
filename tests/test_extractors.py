"""Multiple-choice extraction: the robust default, the V-SYNC parity mode, and `accuracy`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from omnieval.registry import Registry, RegistryError
from omnieval.scoring.extractors import extract_choice, extract_choice_vsync_parity
from omnieval.scoring.metrics import accuracy
from omnieval.types import ChoiceTarget, Extraction

ABCD = ("A", "B", "C", "D")
OPTIONS = ("A. The man in red", "B. The woman", "C. The child", "D. Nobody")


# --------------------------------------------------------------------------- required cases


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Based on the video, the answer is C", "C"),
        ("A man speaks first, so (D)", "D"),
        ("B", "B"),
        ("The answer is B. A is wrong.", "B"),
    ],
)
def test_required_answers(text: str, expected: str) -> None:
    result = extract_choice(text, ABCD)
    assert result.ok and result.value == expected, result


@pytest.mark.parametrize(
    "text",
    [
        "I cannot determine who is speaking.",
        "",
        None,
        "Clearly, during the clip the woman speaks",
    ],
)
def test_required_failures(text: str | None) -> None:
    result = extract_choice(text, ABCD)
    assert result == Extraction(value=None, rule="none", ok=False, detail=result.detail)
    assert result.detail  # says why


# --------------------------------------------------------------------------- robust rules


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        # the whole answer is a letter, optionally wrapped
        ("C", "C", "bare"),
        ("(C)", "C", "bare"),
        ("C.", "C", "bare"),
        ("**C**", "C", "bare"),
        ("[C]", "C", "bare"),
        ("Option C", "C", "bare"),
        ("Answer: C", "C", "bare"),
        ("Answer: (C)", "C", "bare"),
        ("**Answer:** C", "C", "bare"),
        ("`B`", "B", "bare"),
        ("answer: c", "C", "bare"),
        ("c", "C", "bare"),
        ("The answer:\n\nC", "C", "bare"),
        ("<answer>D</answer>", "D", "bare"),
        ("Ｃ", "C", "bare"),  # full-width letter
        # explicit statements
        ("The answer is **C**, the child.", "C", "statement"),
        ("the answer is b because she speaks first", "B", "statement"),
        ("I choose C", "C", "statement"),
        ("I'd go with option (B).", "B", "statement"),
        ("The correct option is C, since the child laughs.", "C", "statement"),
        ("C is correct: the child laughs first.", "C", "statement"),
        ("Option (C) is the best answer here.", "C", "statement"),
        ("A is correct because the man speaks first.", "A", "statement"),
        ("The answer is A because the man talks first", "A", "statement"),
        ("The answer is B, not C.", "B", "statement"),
        ("Between B and C, the answer is C.", "C", "statement"),
        ("Answer: B\nExplanation: A is wrong because the man is silent.", "B", "statement"),
        ("答案是C", "C", "statement"),
        ("final answer: C", "C", "bare"),
        ("Some reasoning first.\n**Final Answer:** (D) Nobody", "D", "final-answer"),
        ("The woman could be it, but the final answer is B.\nNot A.", "B", "final-answer"),
        ("\\boxed{C}", "C", "final-answer"),
        # multi-line reasoning with the letter on its own first or last line
        ("The woman speaks first.\nShe starts at 2 s.\n\nB", "B", "last-line"),
        ("Answer ONLY with the option letter (A, B, C, or D).\nC", "C", "last-line"),
        ("B\n\nThe woman starts speaking first.", "B", "first-line"),
        ("<think>Maybe A? or B</think>\nThe answer is D.", "D", "bare"),
        # parenthesised letter, option mentions, labelled lines
        ("The woman (B) speaks first.", "B", "parenthesized"),
        ("Everyone is silent, so [D]", "D", "parenthesized"),
        ("I'd say it's option c", "C", "option-mention"),
        ("C) The child", "C", "label-line"),
        ("**B. The woman** speaks first.", "B", "label-line"),
        # option text echoed without a letter
        ("The woman speaks first.", "B", "option-text"),
        ("the man in red speaks first", "A", "option-text"),
        ("Nobody speaks here.", "D", "option-text"),
        # a lone capital letter
        ("I think it's C.", "C", "lone-letter"),
        ("Hmm. A.", "A", "lone-letter"),
        ("e.g. hard to tell; so D", "D", "lone-letter"),
    ],
)
def test_robust_extraction(text: str, expected: str, rule: str) -> None:
    result = extract_choice(text, ABCD, OPTIONS)
    assert (result.value, result.rule, result.ok) == (expected, rule, True), result
    assert result.detail


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The answer is B or C", "conflicting"),
        ("B or C", "ambiguous"),
        ("(A) or (B)", "ambiguous"),
        ("Both B and C are plausible.", "ambiguous"),
        ("The answer is B. Wait, the answer is C.", "conflicting"),
        ("C\nD", "conflicting"),
        ("A. The man in red\nB. The woman", "ambiguous"),
        ("Option A says the man; option B says the woman.", "ambiguous"),
        ("I think it is B, not A.", "ambiguous"),
        ("the answer is a man", "no answer"),  # the article, lower-case
        ("A woman speaks first", "no answer"),  # the article, sentence start
        ("Answer: A man in red", "no answer"),
        ("During the clip it is unclear. Clearly hard.", "no answer"),
        ("The answer is E.", "not one of"),  # outside the letters: never returned
        ("E", "not one of"),
        ("   \n  ", "empty"),
        ("<think>I am still weighing A against", "reasoning"),
        ("C, although the text says the woman", "conflict"),
    ],
)
def test_robust_failures(text: str, reason: str) -> None:
    result = extract_choice(text, ABCD, OPTIONS)
    assert not result.ok and result.value is None and result.rule == "none", result
    assert reason in (result.detail or "")


def test_article_and_pronoun_are_not_letters() -> None:
    nine = tuple("ABCDEFGHI")
    assert not extract_choice("I think so, a tough one.", nine).ok
    assert extract_choice("I think the answer is I.", nine).value == "I"
    assert extract_choice("I'm sure it is I", nine).value == "I"
    assert not extract_choice("A dog barks.", ABCD).ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is F", "F"),
        ("(E)", "E"),
        ("Answer: e", "E"),
        ("F. None of them", "F"),
        ("The fifth option fits, so E.", "E"),
    ],
)
def test_six_options(text: str, expected: str) -> None:
    six = tuple("ABCDEF")
    result = extract_choice(text, six)
    assert result.ok and result.value == expected, result


def test_letters_default_to_one_per_option() -> None:
    result = extract_choice("The answer is E", (), ("a", "b", "c", "d", "e"))
    assert result.value == "E"
    with pytest.raises(ValueError, match="letters"):
        extract_choice("C", (), ())


def test_option_text_prefers_the_longer_option() -> None:
    options = ("the man", "the man in red", "the woman")
    assert extract_choice("It is the man in red.", ABCD[:3], options).value == "B"
    assert extract_choice("It is the man.", ABCD[:3], options).value == "A"


# --------------------------------------------------------------------------- parity mode
# What upstream predicts for each answer is checked against upstream's own outputs in
# tests/test_parity_vsync.py (fixture written by tests/parity/vsync_upstream_answers.py). Here:
# only our provenance (which upstream step produced the letter) and our own extensions.


@pytest.mark.parametrize(
    ("text", "answer_path", "rule"),
    [
        ("A man speaks first, so (D)", "http", "vsync:first-char"),
        ("The woman speaks.\n\nc", "http", "vsync:last-line"),
        ("The woman speaks.\n\nc", "direct", "vsync:word"),
        ("Answer:\n\nD", "direct", "vsync:first-char"),
        ("The answer is (C)", "http", "vsync:word"),
    ],
)
def test_vsync_parity_names_the_upstream_step(text: str, answer_path: str, rule: str) -> None:
    result = extract_choice_vsync_parity(text, ABCD, OPTIONS, answer_path=answer_path)  # type: ignore[arg-type]
    assert (result.rule, result.ok) == (rule, True)


def test_vsync_parity_reads_only_a_to_d_as_upstream() -> None:
    # upstream hard-codes A-D: "E" counts only as the whole raw answer (compared with the key)
    assert not extract_choice_vsync_parity("Every option fails: E", tuple("ABCDE")).ok
    assert extract_choice_vsync_parity(" E ", tuple("ABCDE")).rule == "vsync:raw-text"
    assert not extract_choice_vsync_parity("E", ABCD).ok


# --------------------------------------------------------------------------- registry, metric

_REGISTRATIONS = """
from omnieval import registry
from omnieval.scoring.extract import extract_choice, extract_choice_vsync_parity
from omnieval.scoring.metrics import accuracy
assert registry.extractors.get("choice") is extract_choice, "choice"
assert registry.extractors.get("choice-vsync") is extract_choice_vsync_parity, "choice-vsync"
assert registry.metrics.get("accuracy") is accuracy, "accuracy"
print(" ".join(registry.extractors.names()))
"""


def test_the_package_registers_its_extractors_and_metric() -> None:
    # A fresh interpreter, so nothing this test session imported or registered can stand in for
    # the package's own registrations (`registry.get` loads the built-ins itself).
    done = subprocess.run(
        [sys.executable, "-c", _REGISTRATIONS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert {"choice", "choice-vsync"} <= set(done.stdout.split())


def test_a_name_cannot_be_taken_twice() -> None:
    extractors: Registry[Callable[..., object]] = Registry("extractor")
    extractors.register("choice")(extract_choice)
    extractors.register("choice")(extract_choice)  # the same object again is accepted
    with pytest.raises(RegistryError, match="already registered"):
        extractors.register("choice")(extract_choice_vsync_parity)


def test_accuracy() -> None:
    target = ChoiceTarget(answer="c", options=OPTIONS)
    assert accuracy(extract_choice("The answer is C", ABCD), target) == {"accuracy": 1.0}
    assert accuracy(extract_choice("The answer is B", ABCD), target) == {"accuracy": 0.0}
    assert accuracy(extract_choice("I cannot tell", ABCD), target) == {"accuracy": 0.0}
    parity = extract_choice_vsync_parity("Based on the video, the answer is C", ABCD)
    assert accuracy(parity, target) == {"accuracy": 0.0}


def test_accuracy_needs_a_choice_target() -> None:
    from omnieval.types import NumberTarget

    with pytest.raises(TypeError, match="ChoiceTarget"):
        accuracy(extract_choice("C", ABCD), NumberTarget(value=1.0))  # type: ignore[arg-type]
