"""Write the AVI-Bench scoring parity fixture by running upstream's own code.

This script is not a test and is not imported by the test suite. It imports AVI-Bench's
`eval/eval.py` and `eval/level_metrics/` from a checkout of the upstream repository (nothing
from it is copied here), writes the data.json and refined-prediction files of the tables below
in upstream's layout, runs upstream's `evaluate_model` on them (every task's scorer, and the
pooled VSQA), and writes the tables with what upstream returned to
`tests/parity/fixtures/avibench.json`. `tests/test_avibench_parity.py` then checks
`omnieval.benchmarks.avibench` in `mode: parity` against every task score.

Upstream's eval imports modules it does not use for these scorers and that cannot run offline:
`nltk` (downloads wordnet at import), `level_metrics/__init__.py` (imports
`agent_eval_formatting`, which raises without OpenAI keys), `test_cider`, `caption_scores` and
`pycocoevalcap`. The script puts stubs for them in `sys.modules` and registers `level_metrics` as
a bare package, so its `__init__` is not run. AVC (FENSE through aac-metrics and its models) is
not part of the fixture: upstream's `evaluate_model` reports it as an error and goes on.

Usage (upstream commit 2ba4eb0b30a3634dbf3e2b5553607119ebe5e023):

    G=$(path to a clone of https://github.com/FudanCVL/AVI-Bench)
    mkdir /tmp/avi-2ba4eb0b
    git --git-dir=$G archive 2ba4eb0b eval | tar -x -C /tmp/avi-2ba4eb0b
    python tests/parity/avibench_upstream.py --checkout /tmp/avi-2ba4eb0b

(needs numpy, scikit-learn and sympy, which upstream's scorers import).

How the committed fixture was made: the repository mirror available here holds only upstream's
later README-only commits (2ba4eb0b is not in it), so the files of 2ba4eb0b were read from a
code index of that exact commit. A first version used a scratch checkout with the scorer
functions only and a `definitions.py` cut down to the entries the tables use. It was then
regenerated from the complete files of 2ba4eb0b (`eval/eval.py`,
`eval/level_metrics/{utils,data_utils,score_bbox,level_score,definitions}.py` in full, FENSE
caption function and upstream's whole `havib_constants` included; their lengths match the
index's character counts, except for data_utils' never-run `__main__` example, which was
re-wrapped) with `python tests/parity/avibench_upstream.py --checkout /tmp/avi-2ba4eb0b`: the
output was byte-identical to the first version. Rerunning the command against a real
`git archive` of 2ba4eb0b must give the same file.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

COMMIT = "2ba4eb0b30a3634dbf3e2b5553607119ebe5e023"
OUT = Path(__file__).resolve().parent / "fixtures" / "avibench.json"
CATEGORY = {
    "ASQA": "sensation", "VSQA_I": "sensation", "VSQA_V": "sensation", "AVSQA": "sensation",
    "AMIC": "perception", "VMIC": "perception", "AVL": "perception", "AVM": "perception",
    "VAR": "understand", "AVR": "understand", "AVH": "reasoning", "VAH": "reasoning",
    "AVQA": "reasoning", "AVLG": "reasoning",
}  # fmt: skip


def entry(
    task: str, eid: str, answer: Any, options: Any = None, text: Any = "q?"
) -> dict[str, Any]:
    return {
        "id": eid,
        "task": task,
        "subtask": None,
        "input": {
            "question": {"prompt": None, "text": text, "options": options},
            "video": None,
            "audio_list": None,
            "image_list": None,
        },
        "output": {"question_answer": answer},
    }


def qa(task: str, options: str, rows: list[tuple[str, Any, str | None]]) -> list[Any]:
    """(id, answer, prediction) rows of a QA task sharing one options key."""
    return [(entry(task, eid, answer, options), pred) for eid, answer, pred in rows]


AVL_GT = {"bbox": {"dog_1": [10, 10, 20, 20], "cat_1": [30, 5, 10, 10]}, "original_wh": [64, 48]}
DOG = "[0.15625, 0.2083333, 0.46875, 0.625]"
FRAMES = {
    "bbox": {"frame_0": [0, 0, 32, 24], "frame_1": None, "frame_2": [16, 12, 32, 24]},
    "original_wh": [64, 48],
}

TABLES: dict[str, list[Any]] = {
    "ASQA": qa(
        "ASQA",
        "options_yes_no",
        [
            ("00000", "yes", "Yes, I hear it."),
            ("pre_00000", "yes", "yes"),
            ("00001", "no", "No."),
            ("pre_00001", "yes", "No, silence."),  # wrong pre: zeroes 00001
            ("00002", "yes", "Not sure, but yes"),  # earliest option: not sure
            ("pre_00002", "yes", None),  # no prediction: skipped
            ("00003", "no", "**no**"),
            ("pre_00003", "yes", "<|endoftext|>yes"),
        ],
    ),
    "VSQA_I": [
        *qa(
            "VSQA_I",
            "get_from_color",
            [
                ("00000", "red", "It is red."),
                ("pre_00000", "yes", "yes"),
                ("00001", "blue", "blue"),
                ("pre_00001", None, "no"),  # an empty pre slot: skipped, does not gate
                ("00002", "green", "greenish, maybe green"),
                ("pre_00002", "yes", "yes"),
            ],
        ),
        (entry("VSQA_I", "pre_00001", "yes", "options_yes_no", None), "no"),  # null text
    ],
    "VSQA_V": qa(
        "VSQA_V",
        "what_shape",
        [
            ("00000", "Cube", "a cube"),
            ("pre_00000", "yes", "yes"),
            ("00000", "Sphere", "the sphere"),  # a repeated id
            ("pre_00000", "yes", "no"),  # zeroes the first formal entry with the id
            ("00001", "Cone", "cone"),
        ],
    ),
    "AVSQA": qa(
        "AVSQA",
        "avsqa_options_list_color",
        [
            ("00000", "red;blue", "#blue;red#"),
            ("pre_00000", "yes", "**Yes**"),
            ("00001", "red", "#Red#"),
            ("pre_00001", "yes", "I cannot tell"),
            ("00002", "red;blue", "#red;red;blue#"),
            ("pre_00002", None, "yes"),  # empty pre slot: upstream's AVSQA compares with None
            ("00003", "green", "The answer is #green#"),
        ],
    ),
    "AMIC": [
        (entry("AMIC", "00000", {"dog": 2, "cat": 1}), "answer={'dog': 3}"),
        (entry("AMIC", "00001", {"bird": 3}), "{'bird': 3}"),
        (entry("AMIC", "00002", {"dog": 2, "cat": 1}), "two dogs"),
        (entry("AMIC", "00003", {"dog": 2, "cat": 1}), "{'dog': 'two', 'cat': 1}"),
        (entry("AMIC", "00004", {"man": 1}), "{'man': 1}" + " " * 300),
        (entry("AMIC", "00005", {"man": 1, "car": 40}), "{'man': 1, 'car': 90}"),
    ],
    "VMIC": [
        (entry("VMIC", "00000", {"car": 12, "tree": 1}), "{'car': 15, 'tree': 1, 'bus': 2}"),
        (entry("VMIC", "00001", {"apple": 4}), "{'apple': 2}"),
        (entry("VMIC", "00002", {"car": 12}), "nothing"),
    ],
    "AVL": [
        (entry("AVL", "00000", AVL_GT), f"{{'dog_1': {DOG}}}"),
        (entry("AVL", "00001", AVL_GT),
         "{'dog_1': [156, 208, 469, 625], 'cat_1': '[0.47, 0.1, 0.63, 0.31]'}"),
        (entry("AVL", "00002", AVL_GT), "a dog on the left"),
        (entry("AVL", "00003", AVL_GT),
         f"{{'dog_1': {DOG}, 'dog_2': {DOG}, 'Cat_1': [0, 0, 1, 1]}}"),
        (entry("AVL", "00004", AVL_GT), "{'dog_1': [10, 10, 30, 30]}"),
    ],
    "VAR": [
        (entry("VAR", "00000", [1]), "[1]"),
        (entry("VAR", "00001", [3]), "[3, 1]"),
        (entry("VAR", "00002", [3]), "indices 9 and 3"),
        (entry("VAR", "00003", [0, 2]), "[0, 1, 2, 3, 4, 5, 6]"),
        (entry("VAR", "00004", []), "[]"),
    ],
    "AVR": [(entry("AVR", f"{k:05d}", [k % 2]), "[0]") for k in range(6)],
    "AVM": qa("AVM", "avm_options_list", [("00000", "yes", "yes"), ("00001", "no", "Yes.")]),
    "AVH": qa(
        "AVH",
        "avh_options_list",
        [("00000", "yes", "yes"), ("00001", "no", "no"), ("00002", "no", "n/a")],
    ),
    "VAH": qa("VAH", "vah_options_list", [("00000", "no", "NO!"), ("00001", "yes", "not sure")]),
    "AVQA": [
        *qa(
            "AVQA",
            "avqa_options_list_is",
            [("00000", "yes", "yes"), ("00001", "no", "nope, no"), ("00001", "yes", "yes")],
        ),
        (entry("AVQA", "00002", "2"), "I count 2 drums"),
        (entry("AVQA", "00003", "2"), "two drums, maybe 3"),
    ],
    "AVLG": [
        (entry("AVLG", "00000", FRAMES),
         "{'frame_0': [0, 0, 0.5, 0.5], 'frame_1': None, 'frame_2': [0.25, 0.25, 0.75, 0.75]}"),
        (entry("AVLG", "00001", FRAMES), "answer={'frame_0': [0, 0, 0.5, 0.5], 'frame_1': None}"),
        (entry("AVLG", "00002", FRAMES),
         "{'frame_0': [0, 0, 0.5, 0.5], 'frame_1': [], 'frame_2': []}"),
        (entry("AVLG", "00003", FRAMES), "```json\n{'frame_0': [0, 0, 500, 500]}\n```"),
        (entry("AVLG", "00004", FRAMES), "no idea"),
    ],
}  # fmt: skip


def _stub(name: str, **attributes: Any) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


def run_upstream(checkout: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Upstream's `evaluate_model` on the tables, and the definitions entries they use."""
    eval_dir = checkout / "eval"
    _stub("nltk", download=lambda *a, **k: True)
    for name in ("pycocoevalcap", "pycocoevalcap.cider"):
        _stub(name)
    _stub("pycocoevalcap.cider.cider", Cider=object)
    package = types.ModuleType("level_metrics")
    package.__path__ = [str(eval_dir / "level_metrics")]
    sys.modules["level_metrics"] = package
    for name in ("test_cider", "caption_scores", "agent_eval_formatting"):
        _stub(f"level_metrics.{name}")
    level_score = importlib.import_module("level_metrics.level_score")
    package.level_score = level_score  # type: ignore[attr-defined]
    definitions = importlib.import_module("level_metrics.definitions").havib_constants
    with tempfile.TemporaryDirectory() as tmp:
        data_root, refined = Path(tmp) / "levels", Path(tmp) / "refined"
        for task, rows in TABLES.items():
            folder = data_root / CATEGORY[task] / task
            folder.mkdir(parents=True)
            (folder / "data.json").write_text(json.dumps([e for e, _ in rows]))
            preds = [
                None if p is None else {"task": task, "subtask": None, "id": e["id"], "predict": p}
                for e, p in rows
            ]
            target = refined / "model" / "tasks" / f"{task}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(preds))
        os.environ.update(
            REFINED_DIR=str(refined),
            DATA_ROOT=str(data_root),
            EVAL_OUTPUT_DIR=str(Path(tmp) / "out"),
        )
        sys.path.insert(0, str(eval_dir))
        upstream_eval = importlib.import_module("eval")
        scores = upstream_eval.evaluate_model("model")
    used: dict[str, dict[str, Any]] = {}
    for task, rows in TABLES.items():
        for e, _ in rows:
            key = e["input"]["question"]["options"]
            if isinstance(key, str):
                used.setdefault(task, {})[key] = definitions[task][key]
    return scores, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    scores, definitions = run_upstream(args.checkout)
    tables = {
        task: {"data": [e for e, _ in rows], "predictions": [p for _, p in rows]}
        for task, rows in TABLES.items()
    }
    fixture = {
        "upstream_url": "https://github.com/FudanCVL/AVI-Bench",
        "commit": COMMIT,
        "command": "python tests/parity/avibench_upstream.py --checkout <checkout of 2ba4eb0b>",
        "definitions": definitions,
        "tasks": tables,
        "upstream": scores,
    }
    args.out.write_text(json.dumps(fixture, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
