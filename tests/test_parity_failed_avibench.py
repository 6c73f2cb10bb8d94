"""AVI-Bench parity for a refine call that fails: upstream's refine loop (`auto_format/run.py`,
`_parallel_refine`) catches the error and leaves the raw answer, which its `eval.py` then scores;
in `mode: parity` omnieval scores the raw answer too, while the default mode keeps the failed
refine as a scoring error (never a guess).

A real run through `api.evaluate`: a small AVQA edition, `constant` (always the first option,
"yes") and a refine judge (`test-broken`) that refuses the prompts of some questions and answers
"A" (no option) to the others, with `refine: always`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnieval import api
from omnieval.types import Outcome, TrialRecord

N = 6
FAILING = ("Is sound 1 loud?", "Is sound 3 loud?")  # labels "yes" and "no"; refused
DEFINITIONS = "havib_constants = {'AVQA': {'yes_no': ['yes', 'no', 'not sure']}}\n"


def _label(k: int) -> str:
    return "yes" if k % 3 else "no"


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("avi") / "edition"
    folder = root / "levels/reasoning/AVQA"
    folder.mkdir(parents=True)
    (root / "definitions.py").write_text(DEFINITIONS, encoding="utf-8")
    items = [
        {
            "id": f"{k:05d}",
            "task": "AVQA",
            "subtask": None,
            "input": {
                "question": {"prompt": None, "text": f"Is sound {k} loud?", "options": "yes_no"},
                "video": None,
                "audio_list": None,
                "image_list": None,
            },
            "output": {"question_answer": _label(k)},
        }
        for k in range(N)
    ]
    (folder / "data.json").write_text(json.dumps(items), encoding="utf-8")
    return root


def _run(tmp: Path, edition: Path, mode: str, refuse: str) -> list[TrialRecord]:
    args = {"data_dir": str(edition), "refine": "always", "mode": mode}
    outcome = api.evaluate(
        {
            "name": f"refine-{mode}",
            "output": str(tmp / "runs"),
            "progress": False,
            "plugins": ["omnieval_testmodels"],
            "benchmarks": [{"name": "avibench", "args": args}],
            "models": ["constant"],
            "judges": {"refine": {"provider": "test-broken", "init_args": {"refuse": refuse}}},
        }
    )
    records = [r for r in outcome.records if r.trial.model == "constant"]
    assert len(records) == N
    return sorted(records, key=lambda r: r.trial.sample_id)


def _question(record: TrialRecord) -> int:
    return int(record.trial.sample_id.rsplit("/", 1)[-1].lstrip("0") or 0)


@pytest.mark.parametrize("refused", FAILING)
def test_parity_scores_the_raw_answer_when_refine_fails(
    edition: Path, tmp_path: Path, refused: str
) -> None:
    records = _run(tmp_path, edition, "parity", refused)
    failed_k = int(refused.split()[2])
    for record in records:
        k = _question(record)
        assert record.outcome is Outcome.SCORED and record.score is not None
        assert record.extraction is not None
        if k == failed_k:
            # the raw answer "yes" scored against the label, as upstream's eval.py would
            assert "refine failed" in (record.extraction.detail or "")
            assert "raw answer" in (record.extraction.detail or "")
            assert record.score.values["accuracy"] == (1.0 if _label(k) == "yes" else 0.0)
        else:
            # the judge's reply "A" names no option: wrong
            assert record.extraction.rule.endswith(":refine:refine")
            assert record.score.values["accuracy"] == 0.0


def test_default_mode_keeps_a_failed_refine_as_a_scoring_error(
    edition: Path, tmp_path: Path
) -> None:
    records = _run(tmp_path, edition, "default", FAILING[0])
    by_k = {_question(r): r for r in records}
    assert by_k[1].outcome is Outcome.SCORING_ERROR
    assert by_k[1].score is not None and "refine judge failed" in (by_k[1].score.error or "")
    assert all(r.outcome is Outcome.SCORED for k, r in by_k.items() if k != 1)
