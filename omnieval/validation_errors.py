"""Pydantic validation errors as lines a person can act on (unknown keys with the closest known
key, wrong values with what was given)."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError


def describe_validation_error(err: ValidationError, schema: type[BaseModel], where: str) -> str:
    """Every problem of a failed validation as one line a person can act on: unknown keys with
    the closest known key (`unknown key `limt` in run.yaml (did you mean `limit`?)`), wrong
    values with what was given. No pydantic dump, no links."""
    lines = []
    for problem in err.errors(include_url=False):
        loc = tuple(problem["loc"])
        path = _dotted(loc)
        if problem["type"] == "extra_forbidden":
            known = _fields_at(schema, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            hint = (
                f" (did you mean `{close[0]}`?)" if close else f" (known keys: {', '.join(known)})"
            )
            lines.append(f"unknown key `{path}` in {where}{hint}")
        else:
            given = problem.get("input")
            shown = f" (got {given!r})" if not isinstance(given, dict | list) else ""
            lines.append(f"`{path or 'top level'}` in {where}: {problem['msg']}{shown}")
    return "\n".join(lines)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(schema: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the pydantic model found by following `loc` down from `schema`."""
    current: Any = schema
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part)) if _is_model(current) else None
        if field is None:
            return []
        current = _model_in(field.annotation)
    return sorted(current.model_fields) if _is_model(current) else []


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside `X`, `list[X]` or `X | None`, if any."""
    if _is_model(annotation):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
