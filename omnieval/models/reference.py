"""Reference models that every benchmark can be run against: `random`, `constant`, `oracle`.

`random` and `constant` answer from the request's answer space (every choice task puts it
there; a task with structured answers puts a few candidate answers in its format there, kind
`structured`), so they work whatever the prompt's wording; behind `omnieval serve`, where a request
arrives as plain chat text, they fall back to the lettered option lines of the prompt. `random`
is seeded per request content, so a resumed run gives the same answers as an uninterrupted one.

`oracle` answers with the per-trial target (the runner gives it only to models that declare
`reads_target`). It must score full marks on every metric path: a plumbing check, never a
leaderboard entry by default.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from omnieval import registry
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.types import Artifact, MasksTarget, Modality, Request, Response

_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])[.):]\s+\S", re.M)
_ALL_INPUTS = frozenset(Modality)


def option_letters(prompt: str) -> list[str]:
    """The option letters listed in a prompt ("A. ...", "(B) ...", "C: ..."), in order."""
    letters: list[str] = []
    for letter in _OPTION_LINE.findall(prompt):
        if letter not in letters:
            letters.append(letter)
    return letters


def answer_labels(request: Request) -> list[str]:
    """The request's answer space, or the prompt's lettered options when it carries none."""
    if request.answer_space is not None and request.answer_space.labels:
        return list(request.answer_space.labels)
    letters = option_letters(request.text())
    if not letters:
        raise PermanentModelError(
            "the request has no answer space and its prompt lists no lettered options"
        )
    return letters


@registry.models.register("random")
class RandomChoice(Model):
    """Uniform over the answer space (option labels or structured candidates), seeded by
    (seed, request text, media names)."""

    name = "random"
    capabilities = ModelCapabilities(inputs=_ALL_INPUTS, max_concurrency=64)

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    async def generate(self, request: Request) -> Response:
        letters = answer_labels(request)
        media = "\n".join(request.media_names())
        digest = hashlib.sha256(f"{self.seed}\n{request.text()}\n{media}".encode()).digest()
        return Response(text=random.Random(digest).choice(letters))

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "seed": self.seed}


@registry.models.register("constant")
class ConstantChoice(Model):
    """Always the answer at `index` (default the first)."""

    name = "constant"
    capabilities = ModelCapabilities(inputs=_ALL_INPUTS, max_concurrency=64)

    def __init__(self, index: int = 0) -> None:
        self.index = index

    async def generate(self, request: Request) -> Response:
        letters = answer_labels(request)
        return Response(text=letters[min(self.index, len(letters) - 1)])

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "index": self.index}


@registry.models.register("oracle")
class Oracle(Model):
    """Answers with the per-trial target: every metric path must give full marks. It produces
    whatever the task needs (text, or the target's masks as artifacts)."""

    name = "oracle"
    capabilities = ModelCapabilities(inputs=_ALL_INPUTS, max_concurrency=64, reads_target=True)

    async def generate(self, request: Request) -> Response:
        if request.reference_answer is None:
            raise PermanentModelError(
                "oracle was given no target: it only works inside an omnieval run"
            )
        artifacts: tuple[Artifact, ...] = ()
        if isinstance(request.target, MasksTarget):  # a mask task: hand back the true masks
            artifacts = tuple(
                Artifact(name=path.name, kind="mask", mime="image/png", source=path)
                for path in request.target.paths
            )
        return Response(text=request.reference_answer, artifacts=artifacts)
