"""V-SYNC parity mode against upstream's own outputs (fixture written by upstream's code).

`tests/parity/fixtures/vsync_answers.json` was produced by `tests/parity/vsync_upstream_answers.py`,
which ran V-SYNC's own clients and `_normalize_answer` (commit recorded in the fixture) on every
answer, along both of upstream's answer paths. Nothing here re-derives the expected values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnieval.scoring.extract.vsync import ANSWER_PATHS
from omnieval.scoring.extractors import extract_choice_vsync_parity

FIXTURE = Path(__file__).parent / "parity" / "fixtures" / "vsync_answers.json"
DATA: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
ROWS: list[dict[str, Any]] = DATA["rows"]
LETTERS = ("A", "B", "C", "D")


def test_fixture_comes_from_the_pinned_upstream_commit() -> None:
    assert DATA["upstream"] == "https://github.com/Alexisxty/V-SYNC"
    assert DATA["commit"].startswith("69dc3df")
    assert {row["answer_path"] for row in ROWS} == set(ANSWER_PATHS)
    # Every answer appears on both paths, and the two paths really differ somewhere.
    by_text: dict[Any, dict[str, str]] = {}
    for row in ROWS:
        by_text.setdefault(json.dumps(row["text"]), {})[row["answer_path"]] = row["prediction"]
    assert all(len(paths) == 2 for paths in by_text.values())
    assert any(paths["http"] != paths["direct"] for paths in by_text.values())


@pytest.mark.parametrize(
    "row", ROWS, ids=[f"{r['answer_path']}:{json.dumps(r['text'])[:40]}" for r in ROWS]
)
def test_parity_extractor_matches_upstream(row: dict[str, Any]) -> None:
    result = extract_choice_vsync_parity(row["text"], LETTERS, answer_path=row["answer_path"])
    upstream = row["prediction"]
    if upstream in LETTERS:
        assert (result.ok, result.value) == (True, upstream)
    else:
        # Upstream keeps the raw text (never equal to a letter, so always wrong); here that is a
        # failed extraction, which accuracy also scores 0.
        assert (result.ok, result.value, result.rule) == (False, None, "vsync:none")


def test_default_answer_path_is_http() -> None:
    http_rows = {json.dumps(r["text"]): r["prediction"] for r in ROWS if r["answer_path"] == "http"}
    for key, upstream in http_rows.items():
        result = extract_choice_vsync_parity(json.loads(key), LETTERS)
        assert result.value == (upstream if upstream in LETTERS else None)


def test_unknown_answer_path_is_refused() -> None:
    with pytest.raises(ValueError, match="answer_path"):
        extract_choice_vsync_parity("A", LETTERS, answer_path="grpc")  # type: ignore[arg-type]
