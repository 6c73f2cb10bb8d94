"""SocialOmni parity for V-SYNC Levels 2/3: the current upstream's answer reading and the numbers
upstream's Level 2 pipeline prints.

Two upstream versions read a "when" answer differently:

- `socialomni` (Alexisxty/SocialOmni 956463a, V-SYNC's declared Level 2): `parity_when` in
  `level2_task`: the first character if A/B, else the first standalone A/B, else "yes" -> A,
  "no" -> B anywhere (a substring);
- `socialomni-0fab46a` (MAC-AutoML/SocialOmni 0fab46a, the current repository):
  `parity_when_0fab46a` here. It first narrows the answer to a *final region* (after the last
  `</think>`; else the last assistant turn of a chat transcript; else from the last line
  starting "answer"; else the last 1200 characters) and reads, upper-cased: a leading A/B
  followed by punctuation or the end; else the last A/B after "final answer", "answer",
  "correct choice" or "correct answer" (optionally "is" or ":"); else the last after "choice" or
  "option"; else the last standalone A/B. If the region gives nothing the last 1200 characters
  of the whole answer are read the same way; then "yes" / "no" anywhere as before. So
  "Answer: B" reads B (A in the older version), "A or B" reads B, "AB" reads nothing and then
  no yes/no: unreadable.

`upstream_level2` computes the payload upstream's `Level2Pipeline.run` prints, from per-item
outcomes (see `UpstreamItem`): `q1_accuracy` counts an item right only when its when-answer was
right *and*, for a YES item answered YES, its how-answer could be produced and judged (upstream
generates and judges inside the same try block, so an empty how-answer or a judge call that fails
turns the item into an error row, wrong); `q2_avg_score` is the mean of the judge scores above 0
(a bug: zeros are left out) and `q2_count` their number. A judge reply without a number is 0
there, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from omnieval.types import Extraction

#: in the scoring error of a how-trial whose judge replied without a number (upstream: 0)
UNREADABLE_VERDICT = "gave no score"
_THINK_END = "</think>"
_TURNS = (
    re.compile(r"<\|im_start\|>\s*assistant\s*\n", re.I),
    re.compile(r"(?:^|\n)assistant\s*\n", re.I),
    re.compile(r"(?:^|\n)assistant\s*:\s*", re.I),
)
_NEXT_TURN = re.compile(r"\n(?:user|system|assistant)\s*:?\s*(?:\n|$)", re.I)
_CHAT_MARK = re.compile(r"<\|im_end\|>|<\|im_start\|>", re.I)
_LEADING = re.compile(r"^\s*([AB])\s*(?:[\.\):：,，。]|$)")
_KEYWORDS = (
    re.compile(
        r"(?:FINAL\s+ANSWER|ANSWER|CORRECT\s+CHOICE|CORRECT\s+ANSWER)\s*(?:IS|:)?\s*([AB])\b"
    ),
    re.compile(r"(?:CHOICE|OPTION)\s*([AB])\b"),
)
_STANDALONE = re.compile(r"\b([AB])\b")
_TAIL = 1200


def _assistant_turn(text: str) -> str:
    """The last assistant turn of a chat transcript ("" when there is none)."""
    last: re.Match[str] | None = None
    for pattern in _TURNS:
        found = list(pattern.finditer(text))
        if found and (last is None or found[-1].start() > last.start()):
            last = found[-1]
    if last is None:
        return ""
    turn = _NEXT_TURN.split(text[last.end() :].strip(), maxsplit=1)[0]
    return _CHAT_MARK.split(turn, maxsplit=1)[0].strip()


def _final_region(text: str) -> str:
    lower = text.lower()
    if _THINK_END in lower:
        return text[lower.rfind(_THINK_END) + len(_THINK_END) :].strip()
    turn = _assistant_turn(text)
    if turn:
        return turn
    if "\nanswer" in lower:
        return text[lower.rfind("\nanswer") :].strip()
    return text[-_TAIL:].strip()


def _letter_in(region: str) -> str:
    up = region.upper()
    leading = _LEADING.match(up)
    if leading:
        return leading.group(1)
    for pattern in (*_KEYWORDS, _STANDALONE):
        hits = pattern.findall(up)
        if hits:
            return str(hits[-1])
    return ""


def parity_when_0fab46a(text: str | None) -> Extraction:
    """MAC-AutoML/SocialOmni 0fab46a's reading of a when answer (see the module doc)."""
    raw = (text or "").strip()
    if not raw:
        return Extraction(value=None, rule="socialomni-0fab46a", ok=False, detail="empty answer")
    letter = _letter_in(_final_region(raw)) or _letter_in(raw[-_TAIL:])
    if letter:
        return Extraction(value=letter, rule="socialomni-0fab46a:letter")
    low = raw.lower()
    if "yes" in low:
        return Extraction(value="A", rule="socialomni-0fab46a:yes")
    if "no" in low:
        return Extraction(value="B", rule="socialomni-0fab46a:no")
    return Extraction(value=None, rule="socialomni-0fab46a", ok=False, detail="no A/B, yes or no")


@dataclass(frozen=True)
class UpstreamItem:
    """One item as upstream's Level 2 pipeline sees it.

    `when_right`: the when-answer was read and equals the key (a failed call or an empty answer
    is not right); `yes`: the key is YES; for a YES item answered YES, `how_ok` says whether the
    how-answer was produced (non-empty) and judged without an error, and `score` is the judge's
    score (a reply without a number: 0)."""

    when_right: bool
    yes: bool
    how_ok: bool = True
    score: float = 0.0


@dataclass(frozen=True)
class UpstreamLevel2:
    q1_accuracy: float
    q1_correct: int
    q1_total: int
    q2_avg_score: float
    q2_count: int


def upstream_level2(items: Sequence[UpstreamItem]) -> UpstreamLevel2:
    """What upstream's `Level2Pipeline.run` prints for these items (see the module doc)."""
    correct, positive = 0, []
    for item in items:
        asked_how = item.when_right and item.yes
        right = item.when_right and (item.how_ok or not asked_how)
        correct += right
        if asked_how and right and item.score > 0:
            positive.append(item.score)
    total = len(items)
    return UpstreamLevel2(
        q1_accuracy=correct / total * 100.0 if total else 0.0,
        q1_correct=correct,
        q1_total=total,
        q2_avg_score=sum(positive) / len(positive) if positive else 0.0,
        q2_count=len(positive),
    )


__all__ = [
    "UNREADABLE_VERDICT",
    "UpstreamItem",
    "UpstreamLevel2",
    "parity_when_0fab46a",
    "upstream_level2",
]
