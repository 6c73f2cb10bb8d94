"""A tiny hand-written AVI-Bench edition in the release layout, for the loader, task and run
tests: all 15 task folders, a definitions.py in upstream's format (our own wording), repeated
ids, pre-questions (one of them an empty slot), and small real media files."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .mediagen import write_test_video

DEFINITIONS = '''"""Test definitions in upstream's format: parsed by omnieval, never executed."""
YES_NO = ['yes', 'no', 'not sure']
box_format = "answer={'name_1': [x0, y0, x1, y1]}"
prompt_boxes = f"""Name each sounding object from {['dog', 'cat']} and give its box. {box_format}"""

havib_constants = {
    'ASQA': {'options_yes_no': YES_NO, 'options_order': ['first', 'last', 'same', 'not sure']},
    'VSQA_I': {'options_yes_no': YES_NO, 'get_from_color': ['blue', 'red', 'green', 'not sure']},
    'VSQA_V': {'options_yes_no': YES_NO, 'what_shape': ['Cube', 'Sphere', 'None', 'not sure']},
    'AVSQA': {'options_yes_no': YES_NO, 'colour_list': ['red', 'blue', 'green', 'not sure'],
              'prompt_avsqa': 'Choose every answer that applies, separated by ; inside #...#.'},
    'AMIC': {'prompt_amic': "Count the sounding objects: answer={'class': count}."},
    'VMIC': {'prompt_vmic': "Count the visible objects: answer={'class': count}."},
    'AVL': {'prompt_avl': prompt_boxes},
    'AVM': {'prompt_avm': 'Answer from the audio and the video.', 'avm_options': YES_NO},
    'VAR': {'prompt_var': 'List the indices of the matching audios, from 0.'},
    'AVR': {'prompt_avr': 'List the indices of the matching images, from 0.'},
    'AVC': {},
    'AVH': {'prompt_avh': 'Answer from the audio and the video.', 'avh_options': YES_NO},
    'VAH': {'prompt_vah': 'Answer from the audio and the video.', 'vah_options': YES_NO},
    'AVQA': {'avqa_options_is': YES_NO},
    'AVLG': {'prompt_avlg': "Give each frame's box as answer={'frame_0': [x0, y0, x1, y1]}."},
}
'''


def _entry(
    eid: str,
    task: str,
    answer: Any,
    text: str | None = "question?",
    prompt: str | None = None,
    options: Any = None,
    video: str | None = None,
    audios: list[str] | None = None,
    images: list[str] | None = None,
    subtask: str | None = None,
) -> dict[str, Any]:
    return {
        "id": eid,
        "task": task,
        "subtask": subtask,
        "input": {
            "pre_question": None,
            "question": {"prompt": prompt, "text": text, "options": options},
            "video": video,
            "audio_list": audios,
            "image_list": images,
        },
        "output": {"pre_answer": None, "question_answer": answer},
    }


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16000) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(tone.tobytes())


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((48, 64, 3), 128, dtype=np.uint8)).save(path)


def entries() -> dict[str, list[dict[str, Any]]]:
    """Task folder -> its data.json entries."""
    wav, png, mp4 = "./input/wavs/00000.wav", "./input/images/00000.png", "./input/videos/0.mp4"
    frames = [f"./input/images/f{k}.png" for k in range(10)]
    yn = "options_yes_no"
    return {
        "AMIC": [
            _entry("00000", "AMIC", {"dog": 2, "cat": 1}, prompt="prompt_amic", audios=[wav]),
            _entry("00001", "AMIC", {"bird": 3}, prompt="prompt_amic", audios=[wav]),
        ],
        "VMIC": [
            _entry("00000", "VMIC", {"car": 12, "tree": 1}, prompt="prompt_vmic", images=[png]),
            _entry("00001", "VMIC", {"apple": 4}, prompt="prompt_vmic", images=[png]),
        ],
        "AVL": [
            _entry(
                "00000",
                "AVL",
                {
                    "bbox": {"dog_1": [10, 10, 20, 20], "cat_1": [30, 5, 10, 10]},
                    "original_wh": [64, 48],
                },
                prompt="prompt_avl",
                audios=[wav],
                images=[png],
            ),
            _entry(
                "00001",
                "AVL",
                {"bbox": {"dog_1": [0, 0, 32, 24]}, "original_wh": [64, 48]},
                prompt="prompt_avl",
                audios=[wav],
                images=[png],
            ),
        ],
        "AVM": [
            _entry("00000", "AVM", "yes", "Do they match?", "prompt_avm", "avm_options", mp4),
            _entry("00001", "AVM", "no", "Do these match?", "prompt_avm", "avm_options", mp4),
        ],
        "VAR": [
            _entry("00000", "VAR", [1], prompt="prompt_var", audios=[wav] * 3, images=[png]),
            _entry("00001", "VAR", [0, 2], prompt="prompt_var", audios=[wav] * 3, images=[png]),
        ],
        "AVR": [
            _entry("00000", "AVR", [2], prompt="prompt_avr", audios=[wav], images=[png] * 3),
            _entry("00001", "AVR", [0], prompt="prompt_avr", audios=[wav], images=[png] * 3),
        ],
        "AVC": [
            _entry(
                "00000",
                "AVC",
                ["a dog barks twice", "a dog is barking"],
                "Describe.",
                video=mp4,
                audios=[wav],
            ),
            _entry(
                "00001",
                "AVC",
                ["a bell rings in a quiet room"],
                "Describe.",
                video=mp4,
                audios=[wav],
            ),
        ],
        "AVH": [
            _entry(
                "00000", "AVH", "yes", "Is there a dog?", "prompt_avh", "avh_options", mp4, [wav]
            ),
            _entry(
                "00001", "AVH", "no", "Is there a cat?", "prompt_avh", "avh_options", mp4, [wav]
            ),
        ],
        "VAH": [
            _entry(
                "00000", "VAH", "no", "Is a horn heard?", "prompt_vah", "vah_options", mp4, [wav]
            ),
            _entry(
                "00001", "VAH", "yes", "Is a bell heard?", "prompt_vah", "vah_options", mp4, [wav]
            ),
        ],
        "AVQA": [
            _entry(
                "00000", "AVQA", "yes", "Is there a voice?", None, "avqa_options_is", mp4, [wav]
            ),
            _entry("00001", "AVQA", "2", "How many drums sound?", None, None, mp4, [wav]),
            _entry(
                "00001",
                "AVQA",
                "no",
                "Is the drum on the left?",
                None,
                "avqa_options_is",
                mp4,
                [wav],
            ),
        ],
        "AVLG": [
            _entry(
                "00000",
                "AVLG",
                {
                    "bbox": {
                        f"frame_{k}": (None if k in (3, 4) else [8 + k, 8, 16, 16])
                        for k in range(10)
                    },
                    "original_wh": [64, 48],
                },
                prompt="prompt_avlg",
                audios=[wav],
                images=frames,
            )
        ],
        "ASQA": [
            _entry(
                "00000",
                "ASQA",
                "first",
                "Which tone is louder?",
                None,
                "options_order",
                audios=[wav],
                subtask="volume",
            ),
            _entry(
                "pre_00000",
                "ASQA",
                "yes",
                "Can you hear anything?",
                None,
                yn,
                audios=[wav],
                subtask="volume",
            ),
            _entry(
                "00001",
                "ASQA",
                "yes",
                "Is there a noise?",
                None,
                yn,
                audios=[wav],
                subtask="yes_no",
            ),
            _entry(
                "pre_00001",
                "ASQA",
                "yes",
                "Can you hear a sound?",
                None,
                yn,
                audios=[wav],
                subtask="yes_no",
            ),
        ],
        "VSQA_I": [
            _entry(
                "00000",
                "VSQA_I",
                "red",
                "Which colour is the square?",
                None,
                "get_from_color",
                images=[png],
                subtask="colour",
            ),
            _entry(
                "pre_00000",
                "VSQA_I",
                "yes",
                "Can you see a shape?",
                None,
                yn,
                images=[png],
                subtask="colour",
            ),
            _entry(
                "00001",
                "VSQA_I",
                "blue",
                "Which colour is the circle?",
                None,
                "get_from_color",
                images=[png],
                subtask="colour",
            ),
            _entry("pre_00001", "VSQA_I", None, None, None, yn, images=[png], subtask="colour"),
        ],
        "VSQA_V": [
            _entry(
                "00000",
                "VSQA_V",
                "Cube",
                "Which shape moves?",
                None,
                "what_shape",
                mp4,
                subtask="shape",
            ),
            _entry(
                "pre_00000",
                "VSQA_V",
                "yes",
                "Can you see anything?",
                None,
                yn,
                mp4,
                subtask="shape",
            ),
        ],
        "AVSQA": [
            _entry(
                "00000",
                "AVSQA",
                "red;blue",
                "Which colours sound?",
                "prompt_avsqa",
                "colour_list",
                mp4,
                [wav],
                subtask="colour",
            ),
            _entry(
                "pre_00000",
                "AVSQA",
                "yes",
                "Can you hear anything?",
                None,
                yn,
                mp4,
                [wav],
                subtask="colour",
            ),
            _entry(
                "00001",
                "AVSQA",
                "green",
                "Which colour sounds now?",
                "prompt_avsqa",
                "colour_list",
                mp4,
                [wav],
                subtask="colour",
            ),
            _entry(
                "pre_00001",
                "AVSQA",
                "yes",
                "Can you see anything?",
                None,
                yn,
                mp4,
                [wav],
                subtask="colour",
            ),
        ],
    }


STAGE = {
    "AMIC": "perception", "VMIC": "perception", "AVL": "perception", "AVM": "perception",
    "VAR": "understand", "AVR": "understand", "AVC": "understand",
    "AVH": "reasoning", "VAH": "reasoning", "AVQA": "reasoning", "AVLG": "reasoning",
    "ASQA": "sensation", "VSQA_I": "sensation", "VSQA_V": "sensation", "AVSQA": "sensation",
}  # fmt: skip


def write_edition(root: Path, media: bool = True, tasks: list[str] | None = None) -> Path:
    """The edition under `root` (levels/ + definitions.py); returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "definitions.py").write_text(DEFINITIONS, encoding="utf-8")
    video_source: Path | None = None
    for task, items in entries().items():
        if tasks is not None and task not in tasks:
            continue
        folder = root / "levels" / STAGE[task] / task
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "data.json").write_text(json.dumps(items, indent=1), encoding="utf-8")
        if not media:
            continue
        _wav(folder / "input/wavs/00000.wav")
        _png(folder / "input/images/00000.png")
        for k in range(10):
            _png(folder / f"input/images/f{k}.png")
        target = folder / "input/videos/0.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        if video_source is None:
            video_source = write_test_video(target, seconds=0.5, fps=4, size=(64, 48))
        else:
            target.write_bytes(video_source.read_bytes())
    return root
