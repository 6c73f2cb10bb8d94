"""`starbench-openai`: the `openai` provider plus what upstream's wrapper of a model does to
every request (InternLM/StarBench `ALMEval_code/models/*.py`), for models served behind an
OpenAI-compatible endpoint (their own server, vLLM, `omnieval serve`).

A recipe sets the system prompt, greedy decoding and upstream's token limit (256, or 1024 for
the reasoning datasets `tr*` / `sr*`, whose task names contain "reasoning" upstream), and how
the parts become messages:

- `step-audio2` (`step_audio.py`): system "You are an expert in audio analysis, ...";
  256 / 1024 tokens;
- `kimi-audio` (`kimi_audio.py`): no system prompt; 256 tokens for every dataset (upstream
  computes 1024 for reasoning but passes a fixed 256); every part its own user message, as
  its message list;
- `desta25` (`desta.py`): system "Focus on the audio clips and instructions."; 256 / 1024;
- `midashenglm` (`midashenglm.py`): Qwen's system prompt ("You are Qwen, ..."); the
  request's token limit (upstream uses the checkpoint's generation config);
- `plain`: nothing but greedy decoding and 256 / 1024.

What the endpoint cannot reproduce is listed in `RECIPE_NOTES` (and docs/starbench.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omnieval import registry
from omnieval.benchmarks.starbench.prompts import FAMILY_KEY
from omnieval.models.openai_provider import OpenAIChat
from omnieval.models.transport import PreparedContent
from omnieval.models.wire import chat_body, encode_body
from omnieval.types import Request

__all__ = ["FAMILY_KEY", "RECIPES", "StarbenchEndpoint"]


@dataclass(frozen=True)
class Recipe:
    system: str | None = None
    #: token limits for perception and for reasoning (temporal, spatial); None: the request's
    max_tokens: int | None = 256
    reasoning_max_tokens: int | None = 1024
    #: Kimi-Audio's message list: every text and audio part its own user message
    split_messages: bool = False


RECIPES: dict[str, Recipe] = {
    "step-audio2": Recipe(
        system="You are an expert in audio analysis, please analyze the audio content and "
        "answer the questions accurately."
    ),
    "kimi-audio": Recipe(max_tokens=256, reasoning_max_tokens=256, split_messages=True),
    "desta25": Recipe(system="Focus on the audio clips and instructions."),
    "midashenglm": Recipe(
        system="You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, "
        "capable of perceiving auditory and visual inputs, as well as generating text and "
        "speech.",
        max_tokens=None,
        reasoning_max_tokens=None,
    ),
    "plain": Recipe(),
}
RECIPE_NOTES = {
    "step-audio2": "upstream decodes with 2 beams (num_beams=2); an OpenAI endpoint decodes "
    "greedily unless the server takes a beam setting through generation.extra",
    "kimi-audio": "upstream sets text_temperature 0 and text_top_k 5 (greedy text) and asks "
    "for text output only; audio sampling settings do not apply to text answers",
    "desta25": "upstream joins the text parts into one string with an <|AUDIO|> marker where "
    "each audio goes; the server's chat template places its audio token from the ordered "
    "content parts",
    "midashenglm": "upstream generates with the checkpoint's generation config",
    "plain": "",
}


@registry.models.register("starbench-openai")
class StarbenchEndpoint(OpenAIChat):
    """An OpenAI-compatible endpoint that receives STAR-Bench requests as upstream's wrapper of
    the model builds them (`recipe`, see the module doc); every `openai` argument applies."""

    name = "starbench-openai"

    def __init__(self, recipe: str = "plain", **kwargs: Any) -> None:
        if recipe not in RECIPES:
            known = ", ".join(sorted(RECIPES))
            raise ValueError(f"unknown starbench recipe {recipe!r}; choose one of {known}")
        super().__init__(**kwargs)
        self.recipe_name = recipe
        self.recipe = RECIPES[recipe]

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "recipe": self.recipe_name}

    def adapt(self, request: Request) -> Request:
        """The request as upstream's wrapper would send it: system prompt, greedy decoding,
        the family's token limit."""
        recipe = self.recipe
        reasoning = request.metadata.get(FAMILY_KEY) in ("temporal", "spatial")
        tokens = recipe.reasoning_max_tokens if reasoning else recipe.max_tokens
        update: dict[str, Any] = {"temperature": 0.0}
        if tokens is not None:
            update["max_tokens"] = tokens
        generation = request.generation.model_copy(update=update)
        system = recipe.system if recipe.system is not None else request.system
        return request.model_copy(update={"system": system, "generation": generation})

    def build_body(self, request: Request, content: PreparedContent) -> bytes:
        request = self.adapt(request)
        extra = {**content.extra, **self.overrides.extra} if self.overrides.extra else content.extra
        body = chat_body(self.model, request.system, content.parts, self.sampling(request), extra)
        if self.recipe.split_messages:
            body["messages"] = split_user_message(body["messages"])
        return encode_body(body)


def split_user_message(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every part of the user message its own user message, in order (text as a string)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message["content"]
        if message["role"] != "user" or not isinstance(content, list):
            out.append(message)
            continue
        for part in content:
            text = part.get("text") if part.get("type") == "text" else None
            out.append({"role": "user", "content": text if text is not None else [part]})
    return out
