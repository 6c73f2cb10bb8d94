"""The optional refine step: a second model rewrites an answer into the task's format.

Upstream (`auto_format/run.py`) sends one user message per answer to a refine LLM with a prompt
per task family; here each call is a **judge trial** with role `refine` (journaled, resumed,
never asked twice; see docs/judges.md). Policies: `never` (rules only), `fallback` (refine only
answers the rules cannot read), `always` (refine every answer of the tasks upstream refines:
not AVM, AVC, AVH, VAH).

Prompt templates: by default our own wording of the same five families (retrieval, AVLG, AVL,
counting, QA), with the same placeholders (`MODEL_MSG`; for QA `x_original_question`,
`x_original_responses`, `x_what_you_should_do`). Give `refine_prompts:` the path of upstream's
`auto_format/run.py` to use its `PROMPT_*` templates verbatim: the file is parsed, never
executed. The per-task QA hints are ours in both cases.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from omnieval.benchmarks.avibench.definitions import DefinitionsError, read_module_strings
from omnieval.benchmarks.avibench.layout import Shape
from omnieval.types import GenerationParams, Request, TextPart

RefinePolicy = Literal["never", "fallback", "always"]
ROLE = "refine"
PROMPT_VERSION = "1"

FAMILIES = ("PROMPT_RETRIEVAL", "PROMPT_AVLG", "PROMPT_AVL", "PROMPT_MIC", "PROMPT_QA")

OWN_PROMPTS: dict[str, str] = {
    "PROMPT_RETRIEVAL": (
        "Rewrite the text below as a list of the indices it selects, e.g. [0, 2, 5]. Keep only "
        "numbers; output [] if nothing is selected.\nText: MODEL_MSG\nList:"
    ),
    "PROMPT_AVLG": (
        "Rewrite the text below as a JSON object with the keys frame_0 to frame_9, each a box "
        "[x_min, y_min, x_max, y_max] of four numbers, or null when the frame has no object. "
        "Drop keys beyond frame_9; a box that is incomplete or not numeric becomes null.\n"
        "Text: `MODEL_MSG`\nJSON:"
    ),
    "PROMPT_AVL": (
        "Rewrite the text below as a JSON object whose keys are instance names "
        "<category>_<number> (e.g. violin_1) and whose values are boxes "
        "[x_min, y_min, x_max, y_max] of four numbers.\nText: `MODEL_MSG`\nJSON:"
    ),
    "PROMPT_MIC": (
        "Rewrite the text below as a JSON object mapping each object named in it (one word) to "
        'how many there are, e.g. {"dog": "1", "man": "2"}.\nText: MODEL_MSG\nJSON:'
    ),
    "PROMPT_QA": (
        "Another model answered a question. Find its final answer.\n"
        "Question: x_original_question\nIts response: x_original_responses\n"
        "Instructions: x_what_you_should_do\n"
        'If the response gives no answer, reply "i dont know". Reply with the final answer '
        "only, wrapped in ** **."
    ),
}

_HINT_NUMBER = 'If the question asks for a quantity, give a number (digits, e.g. "four" -> **4**). '
_HINT_OPTION = "Otherwise give only the chosen option, without explanation (e.g. **right**)."


def qa_hint(task: str, subtask: str | None) -> str:
    if task == "ASQA":
        if subtask == "beats_counting":
            return "The answer is a number; write it in digits (e.g. **4**)."
        return "Keep only the chosen answer or option (e.g. **second**)."
    return _HINT_NUMBER + _HINT_OPTION


@dataclass(frozen=True)
class RefinePrompts:
    templates: dict[str, str] = field(default_factory=lambda: dict(OWN_PROMPTS))
    source: str = "omnieval"

    @property
    def version(self) -> str:
        """The judge prompt version: bumps with the templates (so new prompts ask again)."""
        digest = hashlib.sha256(
            "\n".join(self.templates[k] for k in FAMILIES).encode()
        ).hexdigest()[:12]
        return f"{PROMPT_VERSION}:{digest}"


def load_prompts(path: str | Path | None) -> RefinePrompts:
    """Our templates, or upstream's `PROMPT_*` read (not executed) from its refine script."""
    if path is None:
        return RefinePrompts()
    found = read_module_strings(path, "PROMPT_")
    missing = [k for k in FAMILIES if k not in found]
    if missing:
        raise DefinitionsError(f"{path}: no string constant(s) {', '.join(missing)} found")
    return RefinePrompts(templates={k: found[k] for k in FAMILIES}, source=str(path))


def family(task: str, shape: Shape) -> str:
    if shape == "indices":
        return "PROMPT_RETRIEVAL"
    if shape == "frames":
        return "PROMPT_AVLG"
    if shape == "boxes":
        return "PROMPT_AVL"
    if shape == "counts":
        return "PROMPT_MIC"
    return "PROMPT_QA"


def refine_request(
    prompts: RefinePrompts,
    task: str,
    shape: Shape,
    answer: str,
    question: str,
    subtask: str | None,
) -> Request:
    """The judge request for one answer: a single user message, deterministic settings."""
    name = family(task, shape)
    template = prompts.templates[name]
    if name == "PROMPT_QA":
        text = (
            template.replace("x_original_question", question)
            .replace("x_what_you_should_do", qa_hint(task, subtask))
            .replace("x_original_responses", answer)
        )
    else:
        text = template.replace("MODEL_MSG", answer)
    return Request(
        parts=(TextPart(text=text),),
        generation=GenerationParams(temperature=0.0, seed=0, max_tokens=512),
        metadata={"refine_family": name},
    )


def default_cleanup(text: str) -> str:
    """The corrected post-processing: code fences and an `answer=` prefix removed (a `null`
    stays "no object")."""
    out = text.replace("```json", "").replace("```", "").strip()
    if out.lower().startswith("answer="):
        out = out.split("=", 1)[1].strip()
    return out
