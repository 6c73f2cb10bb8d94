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

from omnieval.benchmarks.vsync.level1_parity import upstream_accuracy
from omnieval.benchmarks.vsync.loader import split_option
from omnieval.benchmarks.vsync.prompts import VsyncPrompt, build_prompt
from omnieval.scoring.extract.vsync import ANSWER_PATHS
from omnieval.scoring.extractors import extract_choice_vsync_parity
from omnieval.scoring.metrics import accuracy
from omnieval.types import ChoiceTarget

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
        # Upstream keeps the raw text (equal to no A-D key, so wrong on four-option items); here
        # that is a failed extraction, which accuracy also scores 0. (A raw "E" that can match a
        # five-option key is checked below.)
        assert (result.ok, result.value, result.rule) == (False, None, "vsync:none")


def test_default_answer_path_is_http() -> None:
    http_rows = {json.dumps(r["text"]): r["prediction"] for r in ROWS if r["answer_path"] == "http"}
    for key, upstream in http_rows.items():
        result = extract_choice_vsync_parity(json.loads(key), LETTERS)
        assert result.value == (upstream if upstream in LETTERS else None)


def test_unknown_answer_path_is_refused() -> None:
    with pytest.raises(ValueError, match="answer_path"):
        extract_choice_vsync_parity("A", LETTERS, answer_path="grpc")  # type: ignore[arg-type]


def _our_correct(text: str | None, path: str, correct: str | None) -> bool | None:
    """Our parity scoring of `text` against `correct`, as a task with the letters that answer
    needs (A-D, or A-E for a key beyond D); None when our loader refuses such a key."""
    key = (correct or "").strip().upper()
    if not key:
        return None  # our loader refuses an item without a correct answer (named error)
    letters = LETTERS if key in LETTERS else (*LETTERS, key)
    extraction = extract_choice_vsync_parity(text, letters, answer_path=path)  # type: ignore[arg-type]
    target = ChoiceTarget(
        answer=key, options=tuple(f"option {k}" for k in letters), letters=letters
    )
    return accuracy(extraction, target)["accuracy"] == 1.0


@pytest.mark.parametrize(
    "row", ROWS, ids=[f"{r['answer_path']}:{json.dumps(r['text'])[:40]}" for r in ROWS]
)
def test_parity_correctness_matches_upstream_for_every_key(row: dict[str, Any]) -> None:
    """Upstream's `_score(prediction, correct_answer)` for keys A-E, " b ", "e" (a raw answer
    "E" is right against E, "E." is not) equals ours; keyless items are refused by our loader."""
    assert len(row["is_correct"]) >= 7
    for correct, upstream in row["is_correct"]:
        ours = _our_correct(row["text"], row["answer_path"], correct)
        if ours is None:
            assert upstream is False  # upstream counts a keyless sample wrong
            continue
        assert ours is upstream, (correct, row["prediction"])


RUN: dict[str, Any] = DATA["run"]


def test_whole_run_accuracy_matches_upstream() -> None:
    """Upstream's `Level1Pipeline.run` payload over a small dataset: each row's correctness and
    its run accuracy (a failed call is wrong and in the denominator) are ours, through the
    parity extractor and `upstream_accuracy` (the joint metric of `scoring: vsync`)."""
    answers, failed = RUN["answers"], set(RUN["failed"])
    assert failed and RUN["total"] == len(RUN["dataset"]) >= 10
    per_item: list[float | None] = []
    for item, row in zip(RUN["dataset"], RUN["results"], strict=True):
        assert item["id"] == row["id"]
        if item["id"] in failed:
            per_item.append(None)  # a failed trial here
            assert row["is_correct"] is False
            continue
        letters = tuple(split_option(o, i)[0] for i, o in enumerate(item["options"]))
        extraction = extract_choice_vsync_parity(answers[item["id"]], letters, answer_path="http")
        target = ChoiceTarget(
            answer=item["correct_answer"].strip().upper(),
            options=tuple(split_option(o, i)[1] for i, o in enumerate(item["options"])),
            letters=letters,
        )
        value = accuracy(extraction, target)["accuracy"]
        assert (value == 1.0) is row["is_correct"], item["id"]
        per_item.append(value)
    assert upstream_accuracy(per_item) == pytest.approx(RUN["accuracy"], abs=1e-12)


def test_parity_run_reports_upstream_accuracy(vsync_who_edition: Path, tmp_path: Path) -> None:
    """A run with `scoring: vsync` has the joint node `upstream_accuracy` (percent; equal to the
    accuracy when no call failed); the default scoring declares no such metric."""
    from omnieval import api
    from omnieval.benchmarks.vsync.level1_parity import UPSTREAM_ACCURACY_NODE
    from omnieval.benchmarks.vsync.task import VsyncBenchmark

    args = {"data_dir": str(vsync_who_edition), "scoring": "vsync"}
    outcome = api.evaluate(
        {
            "name": "parity-vsync",
            "output": str(tmp_path / "runs"),
            "limit": 6,
            "benchmarks": [{"name": "vsync", "args": args, "conditions": ["avt"]}],
            "models": ["constant"],
            "progress": False,
            "doctor": False,
        }
    )
    plain = outcome.results.find("constant", "avt").metrics["accuracy"].value
    node = outcome.results.node("constant", "avt", UPSTREAM_ACCURACY_NODE)
    assert node.value is not None
    assert node.value.value == pytest.approx(100 * plain)
    assert node.value.n == 6
    assert VsyncBenchmark(data_dir=str(vsync_who_edition)).joint_metrics() == []
    # a rescore switches it with the scoring, without inference
    plain_run = api.rescore(outcome.run_dir, scoring="default")
    with pytest.raises(KeyError):
        plain_run.results.node("constant", "avt", UPSTREAM_ACCURACY_NODE)
    again = api.rescore(outcome.run_dir, scoring="vsync")
    assert again.results.node("constant", "avt", UPSTREAM_ACCURACY_NODE).value is not None


def test_upstream_accuracy_counts_failed_calls_wrong() -> None:
    assert upstream_accuracy([1.0, None, 0.0, 1.0]) == 50.0
    assert upstream_accuracy([]) == 0.0


PROMPTS: list[dict[str, Any]] = DATA["prompts"]


@pytest.mark.parametrize(
    "row", PROMPTS, ids=[f"{r['modality']}-{r['sample']['id']}" for r in PROMPTS]
)
def test_upstream_prompt_matches_upstream(row: dict[str, Any]) -> None:
    """`prompt: upstream` builds upstream's text (as its HTTP client sends it) for every
    modality, including an item with an empty transcript (no `[ASR]` block) and unlettered
    options."""
    sample = row["sample"]
    letters = tuple(split_option(o, i)[0] for i, o in enumerate(sample["options"]))
    asr = (sample.get("asr_content") or "") if row["modality"] in ("avt", "at") else None
    text = build_prompt(VsyncPrompt.upstream(), sample["question"], sample["options"], letters, asr)
    assert text == row["http_text"]
