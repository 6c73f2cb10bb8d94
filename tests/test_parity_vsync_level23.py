"""V-SYNC Levels 2/3 parity against SocialOmni's own outputs (fixtures written by its code).

`tests/parity/fixtures/socialomni_956463a.json` (Alexisxty/SocialOmni, read by `scoring:
socialomni`) and `socialomni_0fab46a.json` (MAC-AutoML/SocialOmni, `scoring:
socialomni-0fab46a`) were produced by `tests/parity/socialomni_upstream.py`, which ran
upstream's `Level2Pipeline` methods and a whole `Level2Pipeline.run` at the commit recorded in
each fixture. Nothing here re-derives the expected values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from omnieval.benchmarks.vsync.judge_rubric import judge_prompt, parse_verdict
from omnieval.benchmarks.vsync.level2_loader import HOW_TASK, WHEN_TASK, load_when, parse_timestamp
from omnieval.benchmarks.vsync.level2_parity import UNREADABLE_VERDICT, parity_when_0fab46a
from omnieval.benchmarks.vsync.level2_task import (
    JUDGE_GENERATION,
    UPSTREAM_ANSWER_FORMAT,
    Level2Prompt,
    WhenScoring,
    parity_when,
)
from omnieval.benchmarks.vsync.level23_report import TrialRow, summarize
from omnieval.types import ChoiceTarget, Extraction

FIXTURES = Path(__file__).parent / "parity" / "fixtures"
VERSIONS: dict[str, tuple[str, WhenScoring, Callable[[str | None], Extraction]]] = {
    "956463a": ("https://github.com/Alexisxty/SocialOmni", "socialomni", parity_when),
    "0fab46a": (
        "https://github.com/MAC-AutoML/SocialOmni",
        "socialomni-0fab46a",
        parity_when_0fab46a,
    ),
}
DATA: dict[str, dict[str, Any]] = {
    v: json.loads((FIXTURES / f"socialomni_{v}.json").read_text(encoding="utf-8")) for v in VERSIONS
}


def _rows(section: str) -> list[tuple[str, dict[str, Any]]]:
    return [(v, row) for v, data in DATA.items() for row in data[section]]


def _reading(value: str | None) -> str:
    """Our extraction as upstream writes its prediction ("" when nothing was read)."""
    return value or ""


def test_fixtures_come_from_the_pinned_upstream_commits() -> None:
    for version, (repo, _, _) in VERSIONS.items():
        data = DATA[version]
        assert data["upstream"] == repo and data["commit"].startswith(version)
        assert len(data["when"]) >= 90 and len(data["verdict"]) >= 30
    # the two versions really read some answers differently
    old = {json.dumps(r["text"]): r["prediction"] for r in DATA["956463a"]["when"]}
    assert any(old[json.dumps(r["text"])] != r["prediction"] for r in DATA["0fab46a"]["when"])


WHEN = _rows("when")


@pytest.mark.parametrize("case", WHEN, ids=[f"{v}:{json.dumps(r['text'])[:40]}" for v, r in WHEN])
def test_when_reading_matches_upstream(case: tuple[str, dict[str, Any]]) -> None:
    version, row = case
    result = VERSIONS[version][2](row["text"])
    assert _reading(result.value if result.ok else None) == row["prediction"]
    assert result.ok is bool(row["prediction"])
    if row["empty"]:
        assert not result.ok  # upstream: an error row, wrong


VERDICT = _rows("verdict")


@pytest.mark.parametrize(
    "case", VERDICT, ids=[f"{v}:{json.dumps(r['text'])[:30]}" for v, r in VERDICT]
)
def test_verdict_reading_matches_upstream(case: tuple[str, dict[str, Any]]) -> None:
    """Upstream reads a reply without a number as 0; here it is None (a scoring error, or 0 in
    the parity printout); every number reads the same."""
    _, row = case
    ours = parse_verdict(row["text"])
    assert (0 if ours is None else ours) == row["score"]


TIMESTAMP = _rows("timestamp")


@pytest.mark.parametrize(
    "case", TIMESTAMP, ids=[f"{v}:{json.dumps(r['value'])}" for v, r in TIMESTAMP]
)
def test_timestamps_match_upstream_or_are_refused(case: tuple[str, dict[str, Any]]) -> None:
    """A readable timestamp gives upstream's seconds. Where upstream falls back to 0 s or a
    negative time (an empty prefix), our loader refuses the item, naming it."""
    _, row = case
    try:
        ours: float | None = parse_timestamp(row["value"])
    except ValueError:
        ours = None
    if ours is None or ours <= 0:
        assert row["seconds"] <= 0
    else:
        assert ours == row["seconds"]


def _loaded(sample: dict[str, Any], tmp_path: Path) -> Any:
    (tmp_path / "videos").mkdir(exist_ok=True)
    (tmp_path / "videos" / sample["video_file"]).write_bytes(b"x")
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps([sample]), encoding="utf-8")
    return load_when(path, tmp_path / "videos")[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_prompts_match_upstream(version: str, tmp_path: Path) -> None:
    """`prompt: upstream` sends upstream's when text (and the how text) as its HTTP client
    joins them, also for an item without option texts (upstream's YES / NO)."""
    for case in DATA[version]["prompts"]:
        sample = _loaded(case["sample"], tmp_path)
        target = sample.target
        assert isinstance(target, ChoiceTarget)
        prompt = Level2Prompt(answer_format=UPSTREAM_ANSWER_FORMAT)
        assert prompt.when_text(sample.metadata["question"], target) == case["when_text"]
        assert prompt.how_text(sample.metadata["how_question"]) == case["how_text"]


@pytest.mark.parametrize("version", VERSIONS)
def test_judge_request_matches_upstream(version: str) -> None:
    request = DATA[version]["judge_request"]
    assert judge_prompt(request["reference"], request["candidate"]) == request["text"]
    assert request["parts"] == 1  # text only
    assert JUDGE_GENERATION.max_tokens == request["params"]["max_tokens"]


def _trial(
    item_id: str, task: str, scored: bool, values: dict[str, float], error: str | None = None
) -> TrialRow:
    return TrialRow("m", "avt", task, item_id, "", scored, values, scoring_error=error)


def _run_rows(version: str) -> list[TrialRow]:
    """The fixture's run as omnieval trials of one model and condition: when-trials read with
    the version's parity reader; a how-trial for every YES item, judged with our verdict
    reading (a judge failure or a reply without a number is a scoring error)."""
    run, read = DATA[version]["run"], VERSIONS[version][2]
    rows: list[TrialRow] = []
    for item in run["dataset"]:
        item_id, gold = item["video_id"], item["question_1"]["correct_answer"].strip().upper()
        answer = run["when_answers"][item_id]

        if answer == run["raise"]:
            rows.append(_trial(item_id, WHEN_TASK, False, {}))
        else:
            found = read(answer)
            value = found.value if found.ok else None
            pred = {"A": 1.0, "B": 0.0}.get(value or "", -1.0)
            rows.append(
                _trial(
                    item_id,
                    WHEN_TASK,
                    True,
                    {
                        "accuracy": float(value == gold),
                        "gold_yes": float(gold == "A"),
                        "pred_yes": pred,
                    },
                )
            )
        if gold != "A":
            continue
        utterance = run["how_answers"][item_id].strip()
        verdict = run["verdicts"][item_id]
        if not utterance:
            rows.append(_trial(item_id, HOW_TASK, True, {"quality": 0.0, "answered": 0.0}))
        elif verdict == run["judge_fail"]:
            rows.append(_trial(item_id, HOW_TASK, False, {}, "judge 'judge' failed: HTTP 500"))
        elif parse_verdict(verdict) is None:
            rows.append(
                _trial(
                    item_id, HOW_TASK, False, {}, f"judge 'judge' {UNREADABLE_VERDICT}: {verdict!r}"
                )
            )
        else:
            score = float(parse_verdict(verdict) or 0)
            rows.append(
                _trial(
                    item_id,
                    HOW_TASK,
                    True,
                    {"quality": score, "answered": 1.0, "judge_judge": score},
                )
            )
    return rows


@pytest.mark.parametrize("version", VERSIONS)
def test_whole_run_printout_matches_upstream(version: str) -> None:
    """Upstream's `Level2Pipeline.run` payload (q1 accuracy with how-failures counted wrong,
    failed and empty answers in the denominator; q2 mean over scores above 0) equals the parity
    printout of `summarize(..., positive_only=True)`, and its q2 mean equals `upstream_q2_avg`."""
    run = DATA[version]["run"]
    [row] = summarize(_run_rows(version), positive_only=True)
    upstream = row["upstream"]
    assert upstream["q1_total"] == run["q1_total"] == len(run["dataset"])
    assert upstream["q1_correct"] == run["q1_correct"]
    assert upstream["q1_accuracy"] == pytest.approx(run["q1_accuracy"], abs=1e-12)
    assert upstream["q2_count"] == run["q2_count"]
    assert upstream["q2_avg_score"] == pytest.approx(run["q2_avg_score"], abs=1e-12)
    assert row["how"]["upstream_q2_avg"] == pytest.approx(run["q2_avg_score"], abs=1e-12)
    # the when task's own accuracy differs: failed trials are left out, how-failures ignored
    assert row["when"]["accuracy"] * 100 != pytest.approx(run["q1_accuracy"])


@pytest.mark.parametrize("version", VERSIONS)
def test_benchmark_scoring_reads_as_its_upstream_version(version: str, tmp_path: Path) -> None:
    """`scoring: socialomni` / `socialomni-0fab46a` make the when task read answers as that
    upstream version (rows where the two versions disagree)."""
    from omnieval.benchmarks.vsync.level2_benchmark import VsyncLevel2Benchmark
    from omnieval.types import Response
    from tests.contexts import ctx_for

    _loaded(DATA[version]["prompts"][0]["sample"], tmp_path)
    scoring = VERSIONS[version][1]
    bench = VsyncLevel2Benchmark(
        annotations=tmp_path / "annotations.json", levels=["when"], scoring=scoring
    )
    [task] = bench.tasks()
    sample = task.samples()[0]
    other = "0fab46a" if version == "956463a" else "956463a"
    theirs = {json.dumps(r["text"]): r["prediction"] for r in DATA[other]["when"]}
    differing = [
        r for r in DATA[version]["when"] if theirs[json.dumps(r["text"])] != r["prediction"]
    ]
    assert differing
    for row in differing:
        found = task.extract(ctx_for(sample, "avt"), Response(text=row["text"]))
        assert _reading(found.value if found.ok else None) == row["prediction"]
    bad: Any = "socialomni-v9"
    with pytest.raises(ValueError, match="socialomni-0fab46a"):
        VsyncLevel2Benchmark(annotations=tmp_path / "annotations.json", scoring=bad)
