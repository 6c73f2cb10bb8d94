"""Upstream's single-frame judge (VMEvalKit `GPT4OEvaluator`) as an omnieval judge request.

The system prompt is upstream's 1-5 rubric followed by the task type's guidance line
(`TASK_GUIDANCE`, upstream's `TASK_PROMPTS`; an unknown task type gets an empty line), with
upstream's exact whitespace. The user turn is the text `Task: <task type>\nPrompt: <prompt>` and
three labelled images: the input first frame, the expected final frame and the frame under
judgement. Upstream's reading: the first `{...}` span (greedy) is parsed as JSON and its
`solution_correctness_score` is the score (0 when absent); success is a score of 4 or more.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnieval.types import GenerationParams, ImagePart, Request, TextPart

#: bumped whenever the prompt or the reading of the verdict changes (enters judge keys)
JUDGE_PROMPT_VERSION = "vmevalkit-ae2e8dc-1"
SUCCESS_THRESHOLD = 4

#: upstream's per-task-type guidance (vmevalkit/eval/eval_prompt.py at ae2e8dc), verbatim: it
#: is part of the protocol being reproduced
TASK_GUIDANCE: dict[str, str] = {
    "chess_task": "Check if the final board position matches the expected position after the correct move.",  # noqa: E501
    "maze_task": "Verify that the final frame shows a complete path from start to end that matches the expected solution.",  # noqa: E501
    "rotation_task": "Check if the final rotation angle and position match the expected result.",
    "raven_task": "Verify that the pattern completion in the final frame matches the expected pattern.",  # noqa: E501
    "sudoku_task": "Check if the numbers placed in the final frame match the expected solution.",
    "counting_objects_task": "Check if the count shown in the final frame matches the ground_truth_count. Award 1 point if counts match, 0 otherwise.",  # noqa: E501
    "letter_counting_task": "Check if the count shown in the final frame matches the ground_truth_count for the target letter. Award 1 point if counts match, 0 otherwise.",  # noqa: E501
    "subway_pathfinding_task": "Check if the agent icon in the final frame is at the correct destination_station. Award 1 point if destination matches, 0 otherwise.",  # noqa: E501
    "object_subtraction_task": "Verify that the specified object(s) have been correctly removed from the scene, while other objects remain unchanged and the scene remains complete.",  # noqa: E501
    "majority_color_task": "Verify that all objects in the final frame are recolored to match the most common color in the first frame, while positions and shapes remain unchanged.",  # noqa: E501
    "grid_shift_task": "Verify that all blocks are shifted 1-2 steps in the instructed direction, without changing their color or relative positions.",  # noqa: E501
    "object_permanence_task": "Verify that the object(s) remain unchanged in position, color, and shape, and the occluder is moved out of the frame.",  # noqa: E501
    "light_sequence_task": "Verify that the correct lights are on and all other lights are off in the final frame.",  # noqa: E501
    "tower_of_hanoi_task": "Check if exactly one disk moved between frames. Verify the move is legal (top disk moved to empty peg or larger disk). Compare final disk positions to expected.",  # noqa: E501
    "dice_2d_task": "Verify that the final frame shows the correct opposite face of the dice. On a standard dice, opposite faces sum to 7 (1↔6, 2↔5, 3↔4). Award 1 point if the shown face matches the expected opposite face, 0 otherwise.",  # noqa: E501
    "symmetry_completion_task": "Verify that the right half of the grid in the final frame is correctly mirrored from the left half, creating a symmetric pattern. Check that all missing cells have been filled correctly to complete the vertical symmetry.",  # noqa: E501
    "nonogram_task": "Verify that all cells in the final frame are correctly filled according to the row and column hints. Check that the filled cells match the expected pattern and that all hints are satisfied. Each row and column must have the correct sequence of filled blocks as indicated by the hints.",  # noqa: E501
}

_INDENT = " " * 16
_RUBRIC = (
    "You are evaluating video generation models.",
    "Compare the final frame of the generated video with the expected ground truth final frame.",
    "",
    "Rate solution correctness on a 1-5 scale:",
    "1: Completely wrong - no understanding of task",
    "2: Mostly incorrect - minimal progress toward solution",
    "3: Partially correct - about half the expected solution",
    "4: Mostly correct - close to expected result with minor errors",
    "5: Perfect - matches expected result",
    "",
)
_ANSWER = 'Respond in JSON: {"solution_correctness_score": <1-5>, "explanation": "<brief explanation>"}'  # noqa: E501
#: upstream's label of the judged image: single-frame and multi-frame differ
FINAL_LABEL = "\n3. Actual final frame from video:"
FRAME_LABEL = "\n3. Actual frame from video:"
_JSON_SPAN = re.compile(r"\{[\s\S]*\}")


def system_prompt(task_type: str) -> str:
    """Upstream's system prompt for a task type, byte for byte (its f-string's indentation)."""
    body = _RUBRIC[0] + "".join(f"\n{_INDENT}{line}" if line else "\n" for line in _RUBRIC[1:])
    guidance = TASK_GUIDANCE.get(task_type, "")  # indented even when empty, as upstream
    return f"{body}\n{_INDENT}{guidance}\n\n{_INDENT}{_ANSWER}\n{_INDENT}"


def judge_request(
    task_type: str,
    prompt: str,
    first_frame: Path,
    expected_final: Path,
    actual_png: bytes,
    label: str = FINAL_LABEL,
) -> Request:
    """The three-image request (temperature 0, max_tokens 1000, as upstream)."""
    return Request(
        system=system_prompt(task_type),
        parts=(
            TextPart(text=f"Task: {task_type}\nPrompt: {prompt}\n\n1. Input image:"),
            ImagePart(path=first_frame),
            TextPart(text="\n2. Expected final frame:"),
            ImagePart(path=expected_final),
            TextPart(text=label),
            ImagePart(data=actual_png),
            TextPart(text="\nProvide your evaluation."),
        ),
        generation=GenerationParams(temperature=0.0, max_tokens=1000, seed=0),
    )


@dataclass(frozen=True)
class JudgeVerdict:
    #: the judge's number as upstream keeps it (4, or 4.5 from a judge off the rubric)
    score: float
    #: the `explanation` value as the judge wrote it (upstream keeps any JSON value)
    explanation: Any

    @property
    def success(self) -> bool:
        return self.score >= SUCCESS_THRESHOLD


class VerdictParseError(ValueError):
    """The judge's reply holds no JSON object or no usable score (upstream raises for the first;
    it carries a string, null, list or NaN score along until its summary fails on it)."""


def parse_verdict(text: str | None) -> JudgeVerdict:
    """Upstream's reading: greedy `{...}`, `json.loads`, `solution_correctness_score` or 0.

    The score is kept as the number the judge wrote (`true` reads 1, as Python's statistics
    read it upstream); a score that is not a finite number is refused."""
    match = _JSON_SPAN.search(text or "")
    if not match:
        raise VerdictParseError(f"no JSON object in the judge's reply: {text!r:.200}")
    try:
        data = json.loads(match.group())
    except json.JSONDecodeError as err:
        raise VerdictParseError(f"the judge's JSON does not parse ({err}): {text!r:.200}") from err
    if not isinstance(data, dict):
        raise VerdictParseError(f"the judge's JSON is not an object: {text!r:.200}")
    raw = data.get("solution_correctness_score", 0)
    if isinstance(raw, bool):
        raw = int(raw)
    if not isinstance(raw, int | float) or not math.isfinite(raw):
        raise VerdictParseError(f"score {raw!r} is not a finite number")
    return JudgeVerdict(score=raw, explanation=data.get("explanation", ""))
