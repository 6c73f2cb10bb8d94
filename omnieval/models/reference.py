"""Reference baselines that every benchmark can be run against: `random` and `constant`.

They read only the request text (the lettered options) so they behave the same in-process and
behind `omnieval serve`. `random` is seeded per request content, so a resumed run gives the same
answers as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from omnieval import registry
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.types import Modality, Request, Response

_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])[.):]\s+\S", re.M)
_ALL_INPUTS = frozenset(Modality)


def option_letters(prompt: str) -> list[str]:
    """The option letters listed in a prompt ("A. ...", "(B) ...", "C: ..."), in order."""
    letters: list[str] = []
    for letter in _OPTION_LINE.findall(prompt):
        if letter not in letters:
            letters.append(letter)
    return letters


def _letters_or_fail(request: Request) -> list[str]:
    letters = option_letters(request.text())
    if not letters:
        raise PermanentModelError("no lettered options found in the prompt")
    return letters


@registry.models.register("random")
class RandomChoice(Model):
    """Uniform over the listed options, seeded by (seed, request text, media paths)."""

    name = "random"
    capabilities = ModelCapabilities(inputs=_ALL_INPUTS, max_concurrency=64)

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    async def generate(self, request: Request) -> Response:
        letters = _letters_or_fail(request)
        media = "\n".join(request.media_names())
        digest = hashlib.sha256(f"{self.seed}\n{request.text()}\n{media}".encode()).digest()
        return Response(text=random.Random(digest).choice(letters))

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "seed": self.seed}


@registry.models.register("constant")
class ConstantChoice(Model):
    """Always the option at `index` (default the first)."""

    name = "constant"
    capabilities = ModelCapabilities(inputs=_ALL_INPUTS, max_concurrency=64)

    def __init__(self, index: int = 0) -> None:
        self.index = index

    async def generate(self, request: Request) -> Response:
        letters = _letters_or_fail(request)
        return Response(text=letters[min(self.index, len(letters) - 1)])

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "index": self.index}
