"""Shared steps of loaders that read a JSON list of items: every malformed item is reported in
one `DatasetError` that names the file and each item, and duplicate ids are refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omnieval.benchmarks.base import DatasetError
from omnieval.types import Sample

SHOWN_PROBLEMS = 20


def read_json_list(path: Path, missing_hint: str = "") -> list[Any]:
    """The JSON list in `path`, or a `DatasetError` naming the file (and `missing_hint`)."""
    items = read_json(path, missing_hint)
    if not isinstance(items, list):
        raise DatasetError(f"{path}: expected a JSON list of items")
    return items


def read_json(path: Path, missing_hint: str = "") -> Any:
    """The JSON value in `path`, or a `DatasetError` naming the file and saying what is wrong
    (missing, not JSON, not UTF-8, unreadable)."""
    text = read_dataset_text(path, missing_hint)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetError(
            f"{path} is not valid JSON: {err}; fix the file or fetch it again"
        ) from None


def read_dataset_text(path: Path, missing_hint: str = "") -> str:
    """The UTF-8 text of a dataset file, or a `DatasetError` naming the file and saying what is
    wrong (missing, not UTF-8, unreadable)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist{missing_hint}") from None
    except UnicodeDecodeError as err:
        raise DatasetError(
            f"{path} is not UTF-8 text ({err.reason} at byte {err.start}); is it the right file?"
        ) from None
    except OSError as err:
        raise DatasetError(f"{path} cannot be read: {err.strerror or err}") from None


def parse_items(path: Path, items: list[Any], parse: Callable[[Any, int], Sample]) -> list[Sample]:
    """`parse(item, index)` for every item; one error lists every bad item and duplicate id."""
    samples: list[Sample] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            sample = parse(item, index)
        except DatasetError as err:
            problems.append(str(err))
            continue
        if sample.id in seen:
            problems.append(f"item {index}: duplicate id {sample.id!r}")
            continue
        seen.add(sample.id)
        samples.append(sample)
    if problems:
        shown = "\n  ".join(problems[:SHOWN_PROBLEMS])
        extra = len(problems) - SHOWN_PROBLEMS
        more = f"\n  ... and {extra} more" if extra > 0 else ""
        raise DatasetError(f"{path}: {len(problems)} malformed item(s):\n  {shown}{more}")
    return samples
