"""Rule extraction for every AVI-Bench answer shape (the corrected default's reading).

The extraction's value is a dict: `text` (the prediction string the metrics read: the raw
answer, or the refine model's reply when refine was used), `answer` (the structured answer the
rules found, None when they found none) and `source` (`rules` or `refine`). Parity scoring
re-reads `text` with upstream's own parsers (`metrics_parity`); the default scoring uses
`answer`.

Rules per shape:
- choice: the option mentioned earliest (whole words, after lower-casing and dropping
  punctuation); a digit label reads the first integer (or a number word up to twenty);
- multi (AVSQA): the `#...#` span if any, split on `;`, each part lower-cased and stripped;
- counts: the first `{...}` object (after an `answer=` prefix), as JSON or Python literal;
  counts may be digit strings;
- boxes (AVL): the same object, each value a 4-number box (a list or its string form);
- frames (AVLG): the same object; `None`, `null`, `[]` or "none" mean "no object";
- indices (VAR/AVR): the first `[...]` list, else every integer, **in the model's order**
  (duplicates dropped, first kept);
- caption: the stripped text.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from omnieval.benchmarks.avibench.layout import Shape
from omnieval.types import Extraction

RULES_VERSION = "1"
_EOT = "<|endoftext|>"
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        (
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
            "seventeen", "eighteen", "nineteen", "twenty",
        )
    )
}  # fmt: skip
_INT = re.compile(r"-?\d+")
_HASHED = re.compile(r"#([^#]+)#")


def clean_symbols(text: str) -> str:
    """Upstream's `clean_symbol`: lower-case and drop every non-word, non-space character."""
    return re.sub(r"[^\w\s]", "", text.replace(_EOT, "").lower())


def earliest_options(options: Any, text: str) -> list[str]:
    """Upstream's `find_ordered_matches`: the options found as whole words in the cleaned text,
    ordered by where they first occur (ties by option text). A string `options` is iterated
    character by character, as upstream does."""
    cleaned = clean_symbols(text)
    found: list[tuple[int, str]] = []
    for word in options:
        word = str(word)
        pattern = re.compile(r"\b" + re.escape(clean_symbols(word)) + r"\b")
        match = pattern.search(cleaned)
        if match:
            found.append((match.start(), word))
    found.sort()
    return [word for _, word in found]


def first_integer(text: str) -> int | None:
    """The first integer in `text`, or the first number word (`four`) if there is none."""
    match = _INT.search(text)
    if match:
        return int(match.group(0))
    for token in re.findall(r"[a-z]+", text.lower()):
        if token in _NUMBER_WORDS:
            return _NUMBER_WORDS[token]
    return None


def find_object(text: str) -> Any:
    """The first `{...}` object in `text` (an `answer=` prefix and code fences are ignored),
    read as JSON or as a Python literal (`None`, single quotes); None if there is none."""
    body = text.replace("```json", "").replace("```", "")
    start = body.find("{")
    while start != -1:
        depth = 0
        for end in range(start, len(body)):
            char = body[end]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    parsed = _literal(body[start : end + 1])
                    if isinstance(parsed, dict):
                        return parsed
                    break
        start = body.find("{", start + 1)
    return None


def _literal(chunk: str) -> Any:
    try:
        return json.loads(chunk)
    except ValueError:
        pass
    python = re.sub(r"\bnull\b", "None", re.sub(r"\btrue\b", "True", chunk))
    python = re.sub(r"\bfalse\b", "False", python)
    try:
        return ast.literal_eval(python)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def as_box(value: Any) -> list[float] | None:
    """Four numbers from a list or its string form (`"[0.1, 0.2, 0.3, 0.4]"`), else None."""
    if isinstance(value, str):
        value = _literal(value.strip())
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        return None


def _is_no_object(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, list | tuple) and len(value) == 0:
        return True
    return isinstance(value, str) and value.strip().lower() in ("none", "null", "", "[]")


def read_answer(shape: Shape, text: str, options: Any, label: str | None) -> Any:
    """The structured answer the rules find in `text` for `shape`, or None."""
    text = text.replace(_EOT, "")
    if shape == "choice":
        if label is not None and label.strip().isdigit():
            number = first_integer(text)
            return None if number is None else str(number)
        if options:
            words = earliest_options(options if not isinstance(options, str) else [options], text)
            return words[0] if words else None
        stripped = clean_symbols(text).strip()
        return stripped or None
    if shape == "multi":
        hashed = _HASHED.search(text)
        body = hashed.group(1) if hashed else text
        parts = [p.replace("*", "").strip().lower() for p in body.split(";")]
        chosen = sorted(dict.fromkeys(p for p in parts if p))
        return chosen or None
    if shape == "caption":
        return text.strip()
    if shape == "indices":
        return read_indices(text)
    found = find_object(text)
    if found is None:
        return None
    if shape == "counts":
        counts: dict[str, int] = {}
        for key, value in found.items():
            try:
                counts[str(key).strip().lower()] = int(float(str(value).strip()))
            except ValueError:
                continue
        return counts
    if shape == "boxes":
        boxes = {str(k): box for k, v in found.items() if (box := as_box(v)) is not None}
        return boxes
    frames: dict[str, list[float] | None] = {}
    for key, value in found.items():
        name = str(key).strip().lower()
        if _is_no_object(value):
            frames[name] = None
        elif (box := as_box(value)) is not None:
            frames[name] = box
    return frames


def read_indices(text: str) -> list[int] | None:
    """Indices in the model's order: the first `[...]` list, else every integer; None when the
    text holds neither a list nor a number."""
    bracket = re.search(r"\[([^\[\]]*)\]", text)
    body = bracket.group(1) if bracket else text
    numbers = [int(n) for n in re.findall(r"\d+", body)]
    if not numbers and not bracket:
        return None
    return list(dict.fromkeys(numbers))


def extract(
    shape: Shape, text: str | None, options: Any, label: str | None, source: str = "rules"
) -> Extraction:
    """The extraction of one answer text (`source`: `rules`, or `refine:<role>`)."""
    raw = text or ""
    answer = read_answer(shape, raw, options, label)
    ok = answer is not None and not (shape == "caption" and answer == "")
    if shape in ("counts", "boxes", "frames") and answer == {}:
        ok = False
    rule = f"avibench:{shape}" if source == "rules" else f"avibench:{shape}:{source}"
    detail = None if ok else f"no {shape} answer found in {raw[:80]!r}"
    return Extraction(
        value={"text": raw, "answer": answer, "source": source},
        rule=rule,
        ok=ok,
        detail=detail,
    )
