"""AVI-Bench's definitions table, read from an upstream-format `definitions.py` without running it.

Upstream keeps prompts and option lists in a Python module (`havib_constants[task][key]`), and
`data.json` names them by pseudo-key (`"prompt": "prompt_avl"`, `"options": "options_yes_no"`).
Importing a file a user downloaded would execute it, so this module *parses* it instead: the
file's top-level statements may only bind names to literal values. Accepted expressions:
strings, numbers, booleans, None, lists, tuples, dicts and sets of accepted expressions, names
bound earlier in the file, f-strings whose fields are such expressions (formatted with `str`,
as Python would), and `+` between strings or lists. Anything else (a call, an import, an
attribute, a subscript, a comprehension, a lambda) is refused with its line number, before any
value is used.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLE = "havib_constants"
CATEGORIES = "TASK_TO_CATEGORY"


class DefinitionsError(ValueError):
    """The definitions file is not a plain table of literals, or a key is missing."""


@dataclass(frozen=True)
class Definitions:
    """The pseudo-key table per task (`havib_constants`) and where it came from."""

    constants: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "no definitions file (give `definitions:` or put definitions.py in data_dir)"
    task_to_category: dict[str, str] = field(default_factory=dict)

    def lookup(self, task: str, key: str) -> Any:
        """The value of `key` for `task`; a `DefinitionsError` names both when absent."""
        table = self.constants.get(task, {})
        if key not in table:
            known = ", ".join(sorted(table)) or "none"
            raise DefinitionsError(
                f"definitions key {key!r} is missing for task {task} in {self.source} "
                f"(keys for {task}: {known})"
            )
        return table[key]

    def has(self, task: str, key: str) -> bool:
        return key in self.constants.get(task, {})


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.names: dict[str, Any] = {}

    def fail(self, node: ast.AST, what: str) -> DefinitionsError:
        line = getattr(node, "lineno", "?")
        return DefinitionsError(
            f"{self.path}:{line}: {what} is not allowed in a definitions file (only literal "
            "values, names bound earlier, f-strings of them and + are read; the file is never "
            "executed)"
        )

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return  # a docstring or a bare literal
        if isinstance(node, ast.Assign):
            value = self.value(node.value)
            for target in node.targets:
                if not isinstance(target, ast.Name):
                    raise self.fail(target, "an assignment to anything but a plain name")
                self.names[target.id] = value
            return
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.value is not None:
                self.names[node.target.id] = self.value(node.value)
            return
        raise self.fail(node, f"a {type(node).__name__} statement")

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.List):
            return [self.value(e) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self.value(e) for e in node.elts)
        if isinstance(node, ast.Set):
            return {self.value(e) for e in node.elts}
        if isinstance(node, ast.Dict):
            out: dict[Any, Any] = {}
            for key, val in zip(node.keys, node.values, strict=True):
                if key is None:
                    raise self.fail(node, "a ** expansion")
                out[self.value(key)] = self.value(val)
            return out
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise DefinitionsError(
                    f"{self.path}:{node.lineno}: name {node.id!r} is used before it is bound"
                )
            return self.names[node.id]
        if isinstance(node, ast.JoinedStr):
            pieces: list[str] = []
            for piece in node.values:
                if isinstance(piece, ast.Constant):
                    pieces.append(str(piece.value))
                elif isinstance(piece, ast.FormattedValue):
                    if piece.format_spec is not None:
                        raise self.fail(piece, "a format spec in an f-string field")
                    inner = self.value(piece.value)
                    pieces.append(repr(inner) if piece.conversion == ord("r") else str(inner))
                else:
                    raise self.fail(piece, "this f-string part")
            return "".join(pieces)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(node.left), self.value(node.right)
            if type(left) is not type(right) or not isinstance(left, str | list | tuple):
                raise self.fail(node, "+ between values other than two strings or two lists")
            return left + right
        raise self.fail(node, f"a {type(node).__name__} expression")


def parse_definitions(text: str, source: str = "<definitions>") -> Definitions:
    """The table in `text` (upstream's `definitions.py` format), parsed without executing it."""
    try:
        tree = ast.parse(text, filename=source)
    except SyntaxError as err:
        raise DefinitionsError(f"{source}: not valid Python syntax: {err}") from None
    reader = _Reader(source)
    for node in tree.body:
        reader.statement(node)
    table = reader.names.get(TABLE)
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in table.items()
    ):
        raise DefinitionsError(
            f"{source}: no `{TABLE} = {{task: {{key: value}}}}` table found at the top level"
        )
    categories = reader.names.get(CATEGORIES)
    mapping = (
        {str(k): str(v) for k, v in categories.items()} if isinstance(categories, dict) else {}
    )
    return Definitions(constants=table, source=source, task_to_category=mapping)


def read_definitions(path: str | Path) -> Definitions:
    """The table in the file at `path` (never imported or executed)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionsError(f"definitions file {file} does not exist") from None
    return parse_definitions(text, str(file))


def read_module_strings(path: str | Path, prefix: str) -> dict[str, str]:
    """Top-level `NAME = "literal string"` bindings whose name starts with `prefix`, from any
    Python file (e.g. upstream's refine script), parsed and never executed; other statements
    are skipped, never evaluated."""
    file = Path(path)
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except (OSError, SyntaxError) as err:
        raise DefinitionsError(f"cannot read {file}: {err}") from None
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Constant):
            continue
        if not isinstance(node.value.value, str):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id.startswith(prefix):
                found[target.id] = node.value.value
    return found
