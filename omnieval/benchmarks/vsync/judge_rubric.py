"""The Level 3 judge: SocialOmni's rubric, its discrete scale, its verdict parsing, and an offline
deterministic judge for tests and the demo.

The rubric prompt is upstream's (the Level 2 pipeline's judge request, kept verbatim because it
*is* the protocol): a strict evaluator scores the candidate utterance against the reference on
{0, 25, 50, 75, 100} by semantic match, intent correctness and key-information completeness, and
answers with one number. The verdict is read as upstream reads it: the first number in the reply,
clamped to [0, 100] and snapped to the nearest scale value (a tie goes to the lower value). A
reply with no number is unreadable (upstream scores it 0; here it is a scoring error, counted).

`vsync-judge` (a registered model) answers such prompts offline and deterministically: the word
F1 between the reference and the candidate, snapped to the scale. It is a stand-in for an LLM
judge in tests and the demo, never a measure of utterance quality.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from typing import Any

from omnieval import registry
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.types import Modality, Request, Response

SCALE = (0, 25, 50, 75, 100)
#: bump when the judge prompt or the verdict reading changes (enters every judge key)
JUDGE_PROMPT_VERSION = "socialomni-2"
#: upstream's judge client appends this question to the rubric (blank line between)
JUDGE_QUESTION = "Score the candidate answer."

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SECTION = re.compile(
    r"\[Reference\]\n(.*?)\n\n\[Candidate\]\n(.*?)(?:\n+Score the candidate answer\.)?\Z", re.S
)
_WORD = re.compile(r"[a-z0-9']+")


def judge_prompt(reference: str, candidate: str) -> str:
    """Upstream's judge request for one candidate utterance: the rubric, then (as its
    `OpenAICompatTester.call` joins `user_prompt` and `question`) a blank line and the
    question."""
    return rubric(reference, candidate) + "\n\n" + JUDGE_QUESTION


def rubric(reference: str, candidate: str) -> str:
    """The rubric block of the judge request (`judge_prompt` adds upstream's question)."""
    return (
        "You are a strict evaluator for dialog continuation.\n"
        "Score candidate answer against reference on scale {0, 25, 50, 75, 100}.\n"
        "Criteria: semantic match, intent correctness, key info completeness.\n"
        "Output ONLY one number.\n\n"
        f"[Reference]\n{reference}\n\n"
        f"[Candidate]\n{candidate}\n"
    )


def snap(value: float) -> int:
    """The scale value nearest to `value` clamped to [0, 100] (ties: the lower)."""
    clamped = max(0.0, min(100.0, value))
    return min(SCALE, key=lambda bucket: abs(bucket - clamped))


def parse_verdict(text: str | None) -> int | None:
    """The judge's score on the scale, or None when the reply holds no number."""
    match = _NUMBER.search(text or "")
    return None if match is None else snap(float(match.group(0)))


def word_f1(reference: str, candidate: str) -> float:
    """Bag-of-words F1 between two utterances (lower-cased words)."""
    ref, cand = Counter(_WORD.findall(reference.lower())), Counter(_WORD.findall(candidate.lower()))
    common = sum((ref & cand).values())
    if not common:
        return 0.0
    precision, recall = common / sum(cand.values()), common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def offline_score(reference: str, candidate: str) -> int:
    """The offline judge's verdict: word F1 x 100 snapped to the scale."""
    return snap(100.0 * word_f1(reference, candidate))


@registry.models.register("vsync-judge")
class OfflineJudge(Model):
    """Deterministic offline judge for the Level 3 rubric prompt (see the module doc).

    `calls_file` (optional) gets one line per call, `<reference> || <candidate>`, flushed and
    synced, so tests can count the calls; `delay_s` slows each call down.
    """

    name = "vsync-judge"
    capabilities = ModelCapabilities(inputs=frozenset({Modality.TEXT}), max_concurrency=8)

    def __init__(self, calls_file: str | None = None, delay_s: float = 0.0) -> None:
        self.calls_file = calls_file
        self.delay_s = float(delay_s)

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "version": "1"}

    async def generate(self, request: Request) -> Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        match = _SECTION.search(request.text())
        if match is None:
            raise PermanentModelError(
                "vsync-judge: the prompt holds no [Reference] / [Candidate] sections"
            )
        reference, candidate = match.group(1).strip(), match.group(2).strip()
        if self.calls_file:
            with open(self.calls_file, "a", encoding="utf-8") as out:
                out.write(f"{reference} || {candidate}\n".replace("\n", " ").strip() + "\n")
                out.flush()
                os.fsync(out.fileno())
        return Response(text=str(offline_score(reference, candidate)))


__all__ = [
    "JUDGE_PROMPT_VERSION",
    "JUDGE_QUESTION",
    "SCALE",
    "OfflineJudge",
    "judge_prompt",
    "offline_score",
    "parse_verdict",
    "rubric",
    "snap",
    "word_f1",
]
