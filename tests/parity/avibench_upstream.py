"""Write the AVI-Bench scoring parity fixture by running upstream's own code.

This script is not a test and is not imported by the test suite. It imports AVI-Bench's
`eval/eval.py` and `eval/level_metrics/` from a checkout of the upstream repository (nothing
from it is copied here), writes the data.json and refined-prediction files of the tables below
in upstream's layout, runs upstream's `evaluate_model` on them (every task's scorer, and the
pooled VSQA) once per scenario (`scenarios()`: the mixed tables, all adversarial rows pooled per
task, repeated answers, then one scenario per row index with one table per task), and writes
the scenarios with what upstream returned for each to
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
output was byte-identical to the first version. The adversarial scenarios were added later and
the fixture regenerated with the same checkout and command (numpy 2.4.6, scikit-learn 1.9.1).
Rerunning the command against a real `git archive` of 2ba4eb0b must give the same file.
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


def _choice_rows(task: str, options: str | None, label: str, preds: list[str]) -> list[Any]:
    """One single-item table per prediction (each task score is then that item's score)."""
    return [[(entry(task, "00000", label, options), p)] for p in preds]


CHOICE_PREDS = [
    "",
    "   ",
    "YES",
    "Yes and no",
    "(A) yes",
    "**Answer:** no",
    "The answer is: not sure",
    "yes.",
    "I cannot determine.",
    "\u662f",
    "\uff39\uff45\uff53",
    "x" * 5000 + " no",
    "no\nyes",
    "<|endoftext|>",
    "y-e-s",
    "nope",
    "don't know",
    "No, it is not.",
    "Option B: no",
    "not sure yes",
    "notsure",
    "yes<|endoftext|>no",
    "\u00a0yes",
    "YES!!!",
    "Yes; no",
    "'no'",
    "B",
    "(no)",
    "N/A",
    "I'm sorry, I can't help with that.",
]
DIGIT_PREDS = [
    "two",
    "2.5",
    "-2",
    "02",
    "\u00b2",
    "\u0662",
    "I see 2",
    "2 or 3",
    "",
    "12",
    "None",
    "There are 2.",
    "2\u20443",
    "**2**",
    "twenty two 2",
]
SHAPE_PREDS = [
    "cube",
    "a CUBE.",
    "triangular pyramid",
    "pyramid",
    "None of these",
    "none",
    "sphere or cube",
    "",
    "Cube-shaped",
    "cubes",
    "It's a cube (not a sphere)",
    "not sure",
]
MULTI_PREDS = [
    "",
    "Red; Blue",
    "blue;red;",
    "red,blue",
    "**red**;**blue**",
    "#red#;#blue#",
    "red ; blue",
    "RED;BLUE<|endoftext|>",
    "red;blue;red",
    "The colors are red;blue",
    "red\nblue",
    "red",
    "#red;blue#",
    "  red;blue  ",
    "red;;blue",
]
MIC_PREDS = [
    "",
    "{}",
    '{"dog": 2, "cat": 1}',
    "{'Dog': 2, 'cat': 1}",
    "{'dog': 2.7, 'cat': 1}",
    "{'dog': '2', 'cat': '1'}",
    "{'dog': '2.0'}",
    "{'dog': null}",
    "{'dog': true, 'cat': 1}",
    '["dog", "cat"]',
    '"dog"',
    "5",
    "ANSWER= {'dog': 2}",
    "  answer={'dog':2,'cat':1}",
    '```json\n{"dog": 2}\n```',
    "{'dog': 2, 'cat': 1, 'bird': 4}",
    "{'dog': -3}",
    "{'dog': 100, 'cat': 100}",
    '{"dog": 2, "cat": 1}' + " " * 290,
    "{'it's': 1}",
    "I hear two dogs and a cat: {'dog': 2, 'cat': 1}",
    "{'dog': 2}<|endoftext|>",
    "{'\u72d7': 2}",
    "{'dog': 2,}",
    "{'dog': 1e1, 'cat': 1}",
    "{'dog': NaN}",
    "{'dog': Infinity}",
    "{'dog': 2, 'dog': 5}",
    "{'dog': [2], 'cat': 1}",
    "  {'dog': 2}",
]
VMIC_PREDS = [
    "{'car': 10, 'tree': 1}",
    "{'car': 9, 'tree': 1}",
    "{}",
    "not json",
    "{'Car': 12}",
    "{'car': 12, 'tree': 1, 'bus': 3}",
    "{'tree': 1}",
    "{'car': 40, 'tree': 40}",
    "",
    "{'car': '12', 'tree': 'one'}",
]
BOX = "[0.15625, 0.2083333, 0.46875, 0.625]"
AVL_PREDS = [
    "",
    "{}",
    f"{{'dog_1': {BOX}}}",
    f"{{'dog': {BOX}}}",
    f"{{'DOG_1': {BOX}}}",
    "{'dog_1': [156, 208, 469, 625]}",
    "{'dog_1': [10, 10, 30, 30]}",
    "{'dog_1': [1000, 1000, 2000, 2000]}",
    "{'dog_1': [0.1, 0.2, 0.3]}",
    "{'dog_1': '0.1, 0.2, 0.5, 0.6'}",
    "{'dog_1': 'abc'}",
    "{'dog_1': None}",
    "{'dog_1': [0.5, 0.6, 0.1, 0.2]}",
    "{'': [0, 0, 1, 1]}",
    "{'dog_1': [0, 0, 1, 1], 'dog_2': [0, 0, 1, 1]}",
    f"[{BOX}]",
    f"```json\n{{'dog_1': {BOX}}}\n```",
    f'{{"dog_1": {BOX}, "cat_1": null}}',
    f"{{'cat_1': [0.47, 0.1, 0.63, 0.31], 'dog_1': {BOX}}}",
    "{'dog_1': [True, 0, 1, 1]}",
    "{'dog_1': [-0.5, -0.5, 0.5, 0.5]}",
    "{'dog_1': [0, 0, 1.5, 1.5]}",
    "{'dog_1': [0, 0, 1.6, 1.6]}",
    "{'dog_1': [0, 0, 1001, 1001]}",
    "{'dog_1': [0, 0, 1002, 1002]}",
    f"{{'dog_1': {BOX}}}<|endoftext|>",
    f"  {{'dog_1': {BOX}}}",
    f"{{'dog_12': {BOX}}}",
    f"{{'dog_x': {BOX}}}",
    "{'dog_1': (0.1, 0.2, 0.5, 0.6)}",
]
INDEX_PREDS = [
    "",
    "[]",
    "[1]",
    "1",
    "[1, 1, 1]",
    "one",
    "[3, 1]",
    "Index 1.",
    "1,2",
    "1, 2",
    "1\n2",
    "1\t2",
    "[0, 1, 2, 3, 4, 5, 6]",
    "\u0661",
    "-1",
    "1.5",
    "[01]",
    "[2, 0]",
    "0 2 0 2",
    "The answer is [0, 2]",
    "**0**, **2**",
    "0<|endoftext|>2",
    "[0, 1, 2, 3, 4, 5]",
]
FRAME_PREDS = [
    "",
    "{}",
    "None",
    "{'frame_0': [0, 0, 0.5, 0.5], 'frame_1': None, 'frame_2': [0.25, 0.25, 0.75, 0.75]}",
    '{"frame_0": [0, 0, 0.5, 0.5], "frame_1": null}',
    "{'frame_0': '[0, 0, 0.5, 0.5]'}",
    "{'frame_0': [0, 0, 0.5]}",
    "{'frame_0': [0, 0, 0.5, 0.5, 9]}",
    "{'frame_1': []}",
    "{'Frame_0': [0, 0, 0.5, 0.5]}",
    "[[0, 0, 0.5, 0.5]]",
    "```json\n{'frame_0': [0, 0, 0.5, 0.5]}\n```",
    "```{'frame_0': [0, 0, 0.5, 0.5]}```",
    "answer={'frame_0': [0, 0, 0.5, 0.5]}",
    "{'frame_0': [0, 0, 500, 500]}",
    "{'frame_0': None, 'frame_1': None, 'frame_2': None}",
    "{'frame_0': [0.5, 0.5, 0, 0]}",
    "{'frame_0': (0, 0, 0.5, 0.5)}",
    "{'frame_0': [True, 0, 1, 1]}",
    "{'frame_0': 0, 'frame_1': 0}",
    "<|endoftext|>{'frame_1': None}",
    "  \n{'frame_1': None}\n ",
]
EMPTY_AVL = {"bbox": {}, "original_wh": [64, 48]}
PLAIN_AVL = {"bbox": {"person": [0, 0, 32, 24], "Dog_1": [10, 10, 20, 20]}, "original_wh": [64, 48]}


def _gate_rows(task: str, options: str, formal: str, pre: str) -> list[list[Any]]:
    """Double-confirm tables: a formal question and its pre-question in several layouts."""
    e = entry
    return [
        [(e(task, "00000", formal, options), formal), (e(task, "pre_00000", pre, options), "No")],
        [(e(task, "00000", formal, options), formal), (e(task, "pre_00000", pre, options), None)],
        [(e(task, "pre_00000", pre, options), "no"), (e(task, "00000", formal, options), formal)],
        [  # an invalid pre slot shares its id with a valid, wrong one: both are skipped
            (e(task, "00000", formal, options), formal),
            (e(task, "pre_00000", None, options), "no"),
            (e(task, "pre_00000", pre, options), "no"),
        ],
        [  # the invalid one comes second: the first is already skipped by id
            (e(task, "00000", formal, options), formal),
            (e(task, "pre_00000", pre, options), "no"),
            (e(task, "pre_00000", pre, options, None), "no"),
        ],
        [  # repeated formal id: the second pre zeroes the first formal again
            (e(task, "00000", formal, options), formal),
            (e(task, "00000", formal, options), formal),
            (e(task, "pre_00000", pre, options), "no"),
            (e(task, "pre_00000", pre, options), "no"),
        ],
        [(e(task, "00000", formal, options), formal), (e(task, "pre_00000", pre, options), "")],
        [(e(task, "00000", formal, options), "x"), (e(task, "pre_00000", pre, options), "no")],
        [(e(task, "00000", formal, options), formal), (e(task, "pre_00001", pre, options), "no")],
        [
            (e(task, "00000", formal, options), formal),
            (e(task, "pre_00000", pre, options), "Yes, I can."),
        ],
    ]


def _rows() -> dict[str, list[list[Any]]]:
    rows: dict[str, list[list[Any]]] = {
        "ASQA": _gate_rows("ASQA", "options_yes_no", "yes", "yes")
        + _choice_rows("ASQA", "options_yes_no", "no", CHOICE_PREDS),
        "VSQA_I": _gate_rows("VSQA_I", "get_from_color", "red", "yes")
        + _choice_rows(
            "VSQA_I", "get_from_color", "red", [p.replace("yes", "red") for p in CHOICE_PREDS]
        ),
        "VSQA_V": _gate_rows("VSQA_V", "what_shape", "Cube", "yes")
        + _choice_rows("VSQA_V", "what_shape", "Cube", SHAPE_PREDS),
        "AVSQA": _gate_rows("AVSQA", "avsqa_options_list_color", "red;blue", "yes")
        + _choice_rows("AVSQA", "avsqa_options_list_color", "red;blue", MULTI_PREDS),
        "AVM": _choice_rows("AVM", "avm_options_list", "yes", CHOICE_PREDS),
        "AVH": _choice_rows("AVH", "avh_options_list", "not sure", CHOICE_PREDS),
        "VAH": _choice_rows("VAH", "vah_options_list", "no", CHOICE_PREDS),
        "AVQA": [
            *_choice_rows("AVQA", None, "2", DIGIT_PREDS),
            [(entry("AVQA", "00000", 2), "2 drums")],
            [(entry("AVQA", "00000", "10"), "10 or 11")],
            [(entry("AVQA", "00000", "0"), "zero")],
            [(entry("AVQA", "00000", "Yes"), "Yes.")],
            [(entry("AVQA", "00000", "yes"), "Yes.")],
            [(entry("AVQA", "00000", "yes", "yes or no"), "n")],
            [(entry("AVQA", "00000", "2", "avqa_options_list_is"), "2, yes")],
        ],
        "AMIC": [[(entry("AMIC", "00000", {"dog": 2, "cat": 1}), p)] for p in MIC_PREDS]
        + [[(entry("AMIC", "00000", {"dog": "2"}), "{'dog': 2}")]],
        "VMIC": [[(entry("VMIC", "00000", {"car": 12, "tree": 1}), p)] for p in VMIC_PREDS],
        "AVL": [[(entry("AVL", "00000", AVL_GT), p)] for p in AVL_PREDS]
        + [
            [(entry("AVL", "00000", EMPTY_AVL), f"{{'dog_1': {BOX}}}")],
            [
                (
                    entry("AVL", "00000", PLAIN_AVL),
                    "{'PERSON': [0, 0, 0.5, 0.5], 'dog_3': [0.15625, 0.2083333, 0.46875, 0.625]}",
                )
            ],
        ],
        "VAR": [[(entry("VAR", "00000", [0, 2]), p)] for p in INDEX_PREDS]
        + [[(entry("VAR", "00000", []), "")], [(entry("VAR", "00000", [1]), "[1]")]],
        "AVR": [[(entry("AVR", "00000", [1]), p)] for p in INDEX_PREDS],
        "AVLG": [[(entry("AVLG", "00000", FRAMES), p)] for p in FRAME_PREDS]
        + [
            [(entry("AVLG", "00000", {"bbox": {"frame_0": None}, "original_wh": [64, 48]}), p)]
            for p in ("{}", "{'frame_0': []}", "{'frame_0': None}", "oops")
        ],
    }
    # the pooled VSQA needs both halves in every scenario
    n = max(len(rows["VSQA_I"]), len(rows["VSQA_V"]))
    for half in ("VSQA_I", "VSQA_V"):
        while len(rows[half]) < n:
            rows[half].append(
                [
                    (
                        entry(
                            half,
                            "00000",
                            "Cube" if half == "VSQA_V" else "red",
                            "what_shape" if half == "VSQA_V" else "get_from_color",
                        ),
                        "cube" if half == "VSQA_V" else "red",
                    )
                ]
            )
    return rows


def _renumbered(table: list[Any], k: int) -> list[Any]:
    """A row's entries with its ids moved to `k` (00000 -> 0000k, pre_00000 -> pre_0000k)."""
    out = []
    for e, p in table:
        e = json.loads(json.dumps(e))
        e["id"] = e["id"].replace("00000", f"{k:05d}").replace("00001", f"{k:05d}b")
        out.append((e, p))
    return out


def _pooled(rows: dict[str, list[list[Any]]]) -> dict[str, list[Any]]:
    """Every row of a task in one table (ids renumbered per row): whole-task aggregates with
    many items (numpy's pairwise sums, repeat penalties, gates among many entries)."""
    return {
        task: [item for k, table in enumerate(tables) for item in _renumbered(table, k)]
        for task, tables in rows.items()
    }


def scenarios() -> list[tuple[str, dict[str, list[Any]]]]:
    """The mixed tables, every row pooled per task, then scenario k = row k of every task."""
    found: list[tuple[str, dict[str, list[Any]]]] = [("mixed", TABLES)]
    rows = _rows()
    found.append(("pooled rows", _pooled(rows)))
    found.append(("repeated answers", {
        "AVR": [(entry("AVR", f"{k:05d}", [k % 3]), "[0]" if k < 9 else "[1, 2]")
                for k in range(10)],
        "VAR": [(entry("VAR", f"{k:05d}", [0, 1]), "0 1") for k in range(5)]
        + [(entry("VAR", "00005", [0, 1]), "1 0")],
        "AVL": [(entry("AVL", "00000", {"bbox": {"": [0, 0, 32, 24]}, "original_wh": [64, 48]}),
                 "{'': [0, 0, 0.5, 0.5]}")],
    }))  # fmt: skip
    for k in range(max(len(r) for r in rows.values())):
        found.append((f"row {k}", {task: r[k] for task, r in rows.items() if k < len(r)}))
    return found


def _stub(name: str, **attributes: Any) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


def _load_upstream(checkout: Path) -> tuple[Any, dict[str, Any]]:
    """Upstream's `eval` module (its unused offline-hostile imports stubbed) and definitions."""
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
    sys.path.insert(0, str(eval_dir))
    return importlib.import_module("eval"), definitions


def run_scenario(upstream_eval: Any, tables: dict[str, list[Any]]) -> dict[str, Any]:
    """Upstream's `evaluate_model` on one set of task tables (data.json + refined file each)."""
    with tempfile.TemporaryDirectory() as tmp:
        data_root, refined = Path(tmp) / "levels", Path(tmp) / "refined"
        for task, rows in tables.items():
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
        # eval.py reads these at import: set both the environment and its module globals
        settings = {
            "REFINED_DIR": str(refined),
            "DATA_ROOT": str(data_root),
            "EVAL_OUTPUT_DIR": str(Path(tmp) / "out"),
        }
        os.environ.update(settings)
        for name, value in settings.items():
            setattr(upstream_eval, name, value)
        scores: dict[str, Any] = upstream_eval.evaluate_model("model")
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    upstream_eval, havib = _load_upstream(args.checkout)
    used: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for name, tables in scenarios():
        for task, rows in tables.items():
            for e, _ in rows:
                key = e["input"]["question"]["options"]
                if isinstance(key, str) and key in havib[task]:
                    used.setdefault(task, {})[key] = havib[task][key]
        out.append(
            {
                "name": name,
                "tasks": {
                    task: {"data": [e for e, _ in rows], "predictions": [p for _, p in rows]}
                    for task, rows in tables.items()
                },
                "upstream": run_scenario(upstream_eval, tables),
            }
        )
    fixture = {
        "upstream_url": "https://github.com/FudanCVL/AVI-Bench",
        "commit": COMMIT,
        "command": "python tests/parity/avibench_upstream.py --checkout <checkout of 2ba4eb0b>",
        "definitions": used,
        "scenarios": out,
    }
    args.out.write_text(json.dumps(fixture, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(out)} scenarios to {args.out}")


if __name__ == "__main__":
    main()
