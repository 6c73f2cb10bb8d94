"""The generated edition's definitions table: the prompts and option lists its `data.json` refers
to by pseudo-key, written as `definitions.py` in upstream's format (plain literal dicts, no code).
"""

from __future__ import annotations

import pprint
from pathlib import Path
from typing import Any

from omnieval.benchmarks.avibench.synth_signals import CODE_TEXT, PALETTE, SHAPES, SOLIDS, SOUNDS

STAGE_OF = {
    "ASQA": "sensation",
    "VSQA_I": "sensation",
    "VSQA_V": "sensation",
    "AVSQA": "sensation",
    "AMIC": "perception",
    "VMIC": "perception",
    "AVL": "perception",
    "AVM": "perception",
    "VAR": "understand",
    "AVR": "understand",
    "AVC": "understand",
    "AVH": "reasoning",
    "VAH": "reasoning",
    "AVQA": "reasoning",
    "AVLG": "reasoning",
}
TASKS = tuple(STAGE_OF)

YES_NO = ["yes", "no", "not sure"]
NOT_SURE = "not sure"
POSITIONS = ["the left one", "the middle one", "the right one", "the top one", "the bottom one"]
PLACES = [
    "center",
    "top left",
    "top center",
    "top right",
    "bottom left",
    "bottom center",
    "bottom right",
    "no available option",
    NOT_SURE,
]
MOVES_2D = ["horizontal", "vertical", "inclined", "no movement", NOT_SURE]
MOVES_3D = ["shrinking", "enlarging", "translation", NOT_SURE]
SURFACES = ["rough", "moderate", "smooth", NOT_SURE]
DIAGONALS = [
    "bottom-left to top-right",
    "bottom-right to top-left",
    "top-left to bottom-right",
    "top-right to bottom-left",
    "no movement",
    NOT_SURE,
]
SHAPE_OPTIONS = [*SHAPES, "no available option", NOT_SURE]
COLOUR_OPTIONS = [*PALETTE, "no available option", NOT_SURE]

_AV = "Please answer the question based on the given audio and video. " + CODE_TEXT
_BOX = "[x_min, y_min, x_max, y_max]"

CONSTANTS: dict[str, dict[str, Any]] = {
    "ASQA": {
        "prompt_asqa": "Please answer the question based on the given audio",
        "options_sound_clarity": ["first", "last", "same", NOT_SURE],
        "options_sound_order": ["sound", "noise", NOT_SURE],
        "options_sound_volume": ["first", "last", "same", NOT_SURE],
        "options_yes_no": YES_NO,
    },
    "VSQA_I": {
        "prompt_vsqa_i": "Please answer the question based on the given image",
        "get_from_color": COLOUR_OPTIONS,
        "get_from_shape": SHAPE_OPTIONS,
        "get_from_3d": [*SOLIDS, "no available option", NOT_SURE],
        "get_from_space_hard": PLACES,
        "get_lines_direction": ["horizontal", "vertical", "inclined", NOT_SURE],
        "get_from_space_easy_area": [*POSITIONS, NOT_SURE],
        "get_from_space_easy_bbrightness": [*POSITIONS, NOT_SURE],
        "options_yes_no": YES_NO,
    },
    "VSQA_V": {
        "prompt_vsqa_v": "Please answer the question based on the given video",
        "which_object": SHAPE_OPTIONS,
        "what_movement_2d": MOVES_2D,
        "what_movement_3d": MOVES_3D,
        "what_surface": SURFACES,
        "spacial_change": DIAGONALS,
        "options_yes_no": YES_NO,
    },
    "AVSQA": {
        "avsqa_options_list_object": SHAPE_OPTIONS,
        "avsqa_options_list_color": COLOUR_OPTIONS,
        "avsqa_options_yes_no": YES_NO,
        "prompt_avsqa": (
            "Objects that make a sound grow for a moment as they sound. You may choose multiple "
            "options; separated by semicolons. Your answer should be enclosed within ##, for "
            "example: #your_ans#."
        ),
    },
    "AMIC": {
        "amic_cls_list": [*SOUNDS, NOT_SURE, "no available option"],
        "prompt_amic": (
            "There may be one or more sound events in the provided audio. Sound classes: beep (a "
            "pure mid tone), buzz (a low, harsh tone), whistle (a pure high tone), hiss (noise). "
            "\nPlease strictly output the answer in the format answer={'cls_1': count_1, "
            "'cls_2': count_2}, \nfor example, answer={'beep': 2, 'hiss': 1}. \n"
        ),
    },
    "VMIC": {
        "vmic_cls_list": [*SHAPES, NOT_SURE, "no available option"],
        "prompt_vmic": (
            "There may be one or more visible objects in the provided image. \nPlease strictly "
            "output the answer in the format answer={'cls_1': count_1, 'cls_2': count_2}, \nfor "
            "example, answer={'circle': 2, 'square': 1}. \n"
        ),
    },
    "AVL": {
        "avl_cls_list": [*SHAPES, NOT_SURE, "no available option"],
        "prompt_avl": (
            CODE_TEXT + " (1) There may be multiple sounding instances; choose their categories "
            "from the categories list. (2) Name instances category_id, ids from 1, e.g. circle_1. "
            f"(3) The bbox format is {_BOX}, normalised into the range of 0 and 1. Do not explain, "
            "strictly follow the format: answer={'category1_id1': " + f"'{_BOX}'" + "}"
        ),
    },
    "AVM": {"prompt_avm": _AV, "avm_options_list": YES_NO},
    "VAR": {
        "prompt_var": (
            CODE_TEXT + " Please output the indices of the wavs list, starting from 0. For "
            "example: [], or [0, 3], or [1, 4, 9]."
        )
    },
    "AVR": {
        "prompt_avr": (
            CODE_TEXT + " Please output the indices of the images list, starting from 0. For "
            "example: [], or [0, 3], or [1, 4, 9]."
        )
    },
    "AVC": {
        "prompt_avc": (
            "Describe the video and its sound in one sentence: the object's colour and shape, "
            "how it moves, which sound plays and how many times. " + CODE_TEXT
        )
    },
    "AVH": {"prompt_avh": _AV, "avh_options_list": YES_NO},
    "VAH": {"prompt_vah": _AV, "vah_options_list": YES_NO},
    "AVQA": {
        "prompt_avqa": _AV + " Objects that make a sound grow for a moment as they sound.",
        "avqa_cls_list": SHAPE_OPTIONS,
        "avqa_options_list_is": YES_NO,
    },
    "AVLG": {
        "prompt_avlg": (
            CODE_TEXT + " Give the box of the sounding object in each frame, or None where no "
            "object sounds. Please output the answer in a format that strictly matches the "
            "following example, do not explain: answer={'frame_0': [x0_min, y0_min, x0_max, "
            "y0_max], 'frame_1': None, ..., 'frame_9': [x9_min, y9_min, x9_max, y9_max]}. The bbox "
            "values should be normalized into the range of 0 and 1; frames range from frame_0 to "
            "frame_9."
        )
    },
}


def write_definitions(path: Path) -> None:
    """`definitions.py` in upstream's format: `TASK_TO_CATEGORY` and `havib_constants`, both
    plain literals (a reader that parses literals never has to run anything)."""
    text = (
        "# Definitions of the generated AVI-Bench edition (omnieval generate avibench).\n"
        "# Plain literals only, in the format of upstream's definitions.py.\n\n"
        f"TASK_TO_CATEGORY = {pprint.pformat(STAGE_OF, width=100, sort_dicts=False)}\n\n"
        f"havib_constants = {pprint.pformat(CONSTANTS, width=100, sort_dicts=False)}\n"
    )
    path.write_text(text, encoding="utf-8")
