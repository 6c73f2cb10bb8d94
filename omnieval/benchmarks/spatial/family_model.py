"""`spatial-family`: any chat model, prompted and read the way upstream prompts its family.

```yaml
models:
  - alias: qwen2.5-vl-7b
    provider: spatial-family
    init_args:
      family: qwen2.5-vl            # or model_id / alias to detect it (model_registry)
      model:                        # the model that answers: an alias or {provider, init_args}
        provider: openai
        init_args: {model: Qwen/Qwen2.5-VL-7B-Instruct, base_url: "http://127.0.0.1:8000/v1",
                    inputs: [text, image, video]}
```

Each request is rendered in the family's format (`families.render`: frame prefixes, frames
packed into a video, system prompt, format suffix, token budget), sent to the inner model, and
its answer post-processed (`families.postprocess`: after `</think>`, inside `\\boxed{}`). The
raw answer is kept in the response's `rendering` (`raw_answer`), beside the family's name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omnieval import registry
from omnieval.benchmarks.spatial.families import family as family_named
from omnieval.benchmarks.spatial.families import postprocess, render
from omnieval.benchmarks.spatial.model_registry import detect_family
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.models.masks.pipeline import build_inner_model
from omnieval.types import Modality, Request, Response


@registry.models.register("spatial-family")
class FamilyPromptModel(Model):
    """A chat model wrapped in one upstream family's prompt format and answer rule.

    `model`: the inner model (an alias, or `{provider, init_args}`; aliases resolve with
    `models_file`); `family`: a family name, or None to detect it from `model_id` (a hub id or
    local path) and `alias` (the hub id a renamed folder holds); `video_dir`: where frame
    sequences packed into videos are cached.
    """

    name = "spatial-family"

    def __init__(
        self,
        model: str | Mapping[str, Any],
        family: str | None = None,
        model_id: str | None = None,
        alias: str | None = None,
        models_file: str | None = None,
        video_dir: str | None = None,
    ) -> None:
        if family is None:
            if not model_id and not alias:
                raise ValueError("spatial-family needs `family`, or `model_id` / `alias`")
            family = detect_family(model_id or alias or "", alias)
        self.family = family_named(family)
        self.inner = build_inner_model(model, models_file)
        self.video_dir = Path(video_dir) if video_dir else None
        inner = self.inner.capabilities
        needed = Modality.VIDEO if self.family.frames == "video" else Modality.IMAGE
        if needed not in inner.inputs:
            raise ValueError(
                f"family {self.family.name} sends the frames as {needed.value}, which the inner "
                f"model ({self.inner.name}) does not take: declare it in the inner model's "
                f"inputs (e.g. inputs: [text, image, video])"
            )
        self.capabilities = ModelCapabilities(
            inputs=frozenset({Modality.TEXT, Modality.IMAGE}),
            output=inner.output,
            also_produces=inner.also_produces,
            max_concurrency=inner.max_concurrency,
        )

    def fingerprint(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "family": self.family.name,
            "inner": self.inner.fingerprint(),
        }

    async def generate(self, request: Request) -> Response:
        try:
            rendered = await asyncio.to_thread(render, self.family, request, self.video_dir)
        except (OSError, ValueError) as err:
            raise PermanentModelError(f"{self.family.name} prompt: {err}") from None
        response = await self.inner.generate(rendered)
        if response.text is None:
            return response
        rendering = {
            **(response.rendering or {}),
            "family": self.family.name,
            "raw_answer": response.text,
        }
        return response.model_copy(
            update={"text": postprocess(self.family, response.text), "rendering": rendering}
        )

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        await self.inner.preflight(inputs)

    async def close(self) -> None:
        await self.inner.close()
