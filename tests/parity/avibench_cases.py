"""The inputs of the AVI-Bench parity fixture (tests/parity/avibench_upstream.py): data.json rows
and refined predictions per task, adversarial rows included, grouped into scenarios."""

from __future__ import annotations

import json
from typing import Any

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
