"""The text AVI-Bench sends: pseudo-keys resolved against the definitions table, then upstream's
`"{prompt}. {options}. {question}"` with the option list in Python's list notation.

Upstream quirks kept (the prompt is part of the trial key, and parity needs the same text):
the options label reads "semantic categories" only when the literal text `cls` is an element of
(or, for a literal string, inside) the resolved value, which in practice never happens, so it
always says "options"; a prompt that mentions a key by name (VMIC's `vmic_cls_list`) is sent
as written, unsubstituted. A missing `options` value (None) gives an empty options segment.
"""

from __future__ import annotations

import re
from typing import Any

from omnieval.benchmarks.avibench.definitions import Definitions

SYSTEM = "You are a helpful assistant."
#: a value that reads like a table key (no spaces, word characters, `-` or `.`) must be one
_KEY_LIKE = re.compile(r"^[A-Za-z][\w.\-]*_[\w.\-]*$")


class PseudoKeyError(ValueError):
    """A prompt or options value reads like a definitions key but the table lacks it."""


def resolve(task: str, value: Any, definitions: Definitions) -> Any:
    """A prompt/options value: the table's entry for a key, else the literal value itself.

    A string that looks like a key (`options_yes_no`, `prompt_avl`) and is not in the table is
    an error naming the key, never silently sent as text."""
    if isinstance(value, str):
        if definitions.has(task, value):
            return definitions.constants[task][value]
        if _KEY_LIKE.match(value):
            definitions.lookup(task, value)  # raises, naming the key and the file
    return value


def options_segment(options: Any) -> str:
    """`Available options are: [...]` as upstream renders it ('' when there are none)."""
    if options is None:
        return ""
    label = "semantic categories" if _contains_cls(options) else "options"
    return f"Available {label} are: {options}"


def _contains_cls(options: Any) -> bool:
    try:
        return "cls" in options
    except TypeError:
        return False


def question_text(prompt: Any, options: Any, question: Any) -> str:
    """Upstream's text: `f"{prompt}. {options}. {question}"` (a None prompt is '')."""
    shown_prompt = "" if prompt is None else prompt
    return f"{shown_prompt}. {options_segment(options)}. {question}"


def option_words(options: Any) -> tuple[str, ...]:
    """The distinct option texts of a resolved options value, in order (for the answer space)."""
    if options is None:
        return ()
    items = [options] if isinstance(options, str) else list(options)
    return tuple(dict.fromkeys(str(o) for o in items))
