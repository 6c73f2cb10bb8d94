"""`make_plan` builds its trials without pydantic validation (omnieval/runner/plan.py
`planned_trial` sets a `Trial`'s state directly): the trials, and above all their keys, must be
exactly those a validated `Trial(...)` gives, for every model, condition and replicate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from omnieval import api
from omnieval.runner import plan as plan_module
from omnieval.runner.plan import make_plan
from omnieval.types import Trial


def _config(root: Path) -> dict[str, object]:
    path = root / "questions.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(12):
            item = {
                "id": f"q{i:03d}",
                "question": f"Question {i}?",
                "options": [f"option {j} of {i}" for j in range(3 + i % 2)],
                "answer": "ABC"[i % 3],
            }
            out.write(json.dumps(item) + "\n")
    return {
        "name": "plan-trials",
        "output": str(root / "runs"),
        "benchmarks": [
            {
                "name": "mcq",
                "args": {"path": str(path)},
                "replicates": {"scheme": "rotation", "k": "all"},
            }
        ],
        "models": [{"use": "constant"}, "random"],
        "progress": False,
    }


def _validated(
    key: str, model: str, task: str, sample_id: str, condition: str, replicate: str
) -> Trial:
    return Trial(
        key=key,
        model=model,
        task=task,
        sample_id=sample_id,
        condition=condition,
        replicate=replicate,
    )


def test_constructed_trials_equal_validated_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = api.load_config(_config(tmp_path))
    fast = [p.trial for p in make_plan(config).trials]
    monkeypatch.setattr(plan_module, "planned_trial", _validated)
    slow = [p.trial for p in make_plan(config).trials]

    assert len(fast) == len(slow) == 12 * 2 * 3.5  # items x models x mean rotations (3 or 4)
    assert [t.key for t in fast] == [t.key for t in slow]
    assert len({t.key for t in fast}) == len(fast)
    assert {t.model for t in fast} == {"constant", "random"}
    assert len({t.replicate for t in fast}) == 4
    for built, checked in zip(fast, slow, strict=True):
        assert built == checked
        assert built.model_dump() == checked.model_dump()
        assert built.model_fields_set == checked.model_fields_set
        assert repr(built) == repr(checked)
        assert built.model_dump_json() == checked.model_dump_json()
        assert built.model_copy(update={"replicate": "x"}).replicate == "x"
        with pytest.raises(ValidationError):  # still frozen
            built.key = "other"  # type: ignore[misc]
        assert all(type(v) is str for v in built.model_dump().values()), built
        assert Trial.model_validate(built.model_dump()) == built
        assert hash(built.key) == hash(checked.key)
