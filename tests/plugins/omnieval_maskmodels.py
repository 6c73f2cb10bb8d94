"""A toy mask model for `omnieval serve` tests (importable with `--plugin omnieval_maskmodels`).

`test-masks` answers every request with a text and two PNG masks: one handed over as bytes,
one as a file it wrote (`source`), both derived from the prompt so a test can recompute them.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from omnieval import registry
from omnieval.media import encode_png
from omnieval.models.base import Model, ModelCapabilities
from omnieval.types import Artifact, Request, Response


def mask_png(prompt: str, obj: int) -> bytes:
    """A 24x32 binary mask (0 / 255) seeded by the prompt and the object number."""
    seed = int.from_bytes(hashlib.sha256(f"{obj}:{prompt}".encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    return encode_png(((rng.random((24, 32)) > 0.5) * 255).astype(np.uint8))


@registry.models.register("test-masks")
class ToyMasks(Model):
    name = "test-masks"
    capabilities = ModelCapabilities(output="masks")

    def __init__(self) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="toy-masks-"))

    async def generate(self, request: Request) -> Response:
        prompt = request.text()
        second = self.scratch / f"{hashlib.sha256(prompt.encode()).hexdigest()[:12]}.png"
        second.write_bytes(mask_png(prompt, 2))
        return Response(
            text="2 objects",
            artifacts=(
                Artifact(
                    name="masks/obj1/00000.png",
                    kind="mask",
                    mime="image/png",
                    data=mask_png(prompt, 1),
                    meta={"object": 1, "frame": 0},
                ),
                Artifact(name="masks/obj2/00000.png", kind="mask", mime="image/png", source=second),
            ),
        )

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name}

    async def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
