"""Loader for AVI-Bench's release layout: `levels/<stage>/<TASK>/data.json` + `input/`.

- Entries are aligned by array position (upstream ids repeat, e.g. several AVQA questions per
  clip), so a sample's id is its position, zero-padded (`"00042"`); the upstream id is kept in
  `metadata["upstream_id"]`.
- Media paths (`./input/...`) resolve inside the task folder and may not leave it (no `..`, no
  absolute path, no symlink out) unless `allow_outside_paths` is set.
- `prompt` and `options` values are pseudo-keys resolved against the definitions table
  (`definitions.py`, parsed, never executed); a key-like value the table lacks is an error.
- Double-confirm entries (`pre_<id>`, placed after their formal question) become samples of the
  task's `/pre` twin. Each is linked to the formal entry it gates as upstream's scorer does: the
  first formal entry before it with that id (`metadata["pre_ids"]` of the formal sample: a
  repeated id can give one formal entry several pre entries, and any wrong one zeroes it). Pre
  entries whose question text or answer is null (147 in the released VSQA_I) are skipped and
  counted (`SplitTask.skipped_pre`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnieval.benchmarks.avibench.definitions import Definitions, DefinitionsError
from omnieval.benchmarks.avibench.layout import DOUBLE_CONFIRM, STAGES, TASKS, Shape
from omnieval.benchmarks.avibench.prompts import (
    PseudoKeyError,
    option_words,
    question_text,
    resolve,
)
from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.loading import SHOWN_PROBLEMS, read_json_list
from omnieval.media.paths import OutsideRootError, dataset_media_path
from omnieval.types import (
    AudioPart,
    ChoiceTarget,
    DictTarget,
    ImagePart,
    Part,
    Sample,
    Target,
    TextTarget,
    VideoPart,
)

PRE = "pre_"


@dataclass
class SplitTask:
    """One task folder's entries: formal samples, pre-question samples, skipped pre slots."""

    task: str
    folder: Path
    formal: list[Sample] = field(default_factory=list)
    pre: list[Sample] = field(default_factory=list)
    #: positions of pre entries with a null question text or answer (skipped, counted)
    skipped_pre: list[int] = field(default_factory=list)


def task_folder(root: Path, task: str) -> Path:
    """`<root>/levels/<stage>/<TASK>` (or `<root>/<stage>/<TASK>` when root is `levels/`)."""
    stage = TASKS[task][0]
    for base in (root / "levels", root):
        candidate = base / stage / task
        if (candidate / "data.json").exists():
            return candidate
    return root / "levels" / stage / task


def load_task(
    root: Path,
    task: str,
    definitions: Definitions,
    sample_task: str,
    pre_task: str,
    allow_outside: bool = False,
    keep_invalid_pre: bool = False,
    skip_pre_by_id: bool = False,
) -> SplitTask:
    """Every entry of one task folder as samples; all malformed entries reported at once.

    `skip_pre_by_id` (parity): a null pre slot skips every pre entry sharing its id, as
    upstream's scorer keys the skip by id (a valid pre entry repeating that id is skipped too).
    """
    folder = task_folder(root, task)
    path = folder / "data.json"
    hint = f" (AVI-Bench task {task}; expected under {root}/levels/{TASKS[task][0]}/{task}/)"
    entries = read_json_list(path, hint)
    split = SplitTask(task=task, folder=folder)
    problems: list[str] = []
    formal_by_id: dict[str, list[int]] = {}
    by_position: dict[int, Sample] = {}
    invalid_ids = _invalid_pre_ids(entries) if skip_pre_by_id else set()
    for index, entry in enumerate(entries):
        try:
            upstream_id = _upstream_id(entry, index)
            is_pre = upstream_id.startswith(PRE) and task in DOUBLE_CONFIRM
            invalid = _invalid_pre(entry) or upstream_id in invalid_ids
            if is_pre and not keep_invalid_pre and invalid:
                split.skipped_pre.append(index)
                continue
            sample = parse_entry(
                entry,
                index,
                task,
                folder,
                definitions,
                pre_task if is_pre else sample_task,
                allow_outside,
                null_answer_ok=is_pre and keep_invalid_pre,
            )
        except (DatasetError, DefinitionsError, PseudoKeyError) as err:
            problems.append(str(err))
            continue
        if is_pre:
            formal_id = upstream_id[len(PRE) :]
            earlier = [p for p in formal_by_id.get(formal_id, []) if p < index]
            linked = earlier[0] if earlier else None
            metadata = {**sample.metadata, "formal_position": linked}
            split.pre.append(sample.model_copy(update={"metadata": metadata}))
            if linked is not None:  # several pre entries may gate one formal entry
                formal = by_position[linked]
                pre_ids = [*formal.metadata.get("pre_ids", []), sample.id]
                by_position[linked] = formal.model_copy(
                    update={"metadata": {**formal.metadata, "pre_ids": pre_ids}}
                )
        else:
            formal_by_id.setdefault(upstream_id, []).append(index)
            by_position[index] = sample
    if problems:
        shown = "\n  ".join(problems[:SHOWN_PROBLEMS])
        extra = len(problems) - SHOWN_PROBLEMS
        more = f"\n  ... and {extra} more" if extra > 0 else ""
        raise DatasetError(f"{path}: {len(problems)} malformed entr(y/ies):\n  {shown}{more}")
    split.formal = [by_position[p] for p in sorted(by_position)]
    return split


def _upstream_id(entry: Any, index: int) -> str:
    if not isinstance(entry, dict):
        raise DatasetError(f"entry {index}: expected an object, got {type(entry).__name__}")
    if "id" not in entry:
        raise DatasetError(f"entry {index}: no 'id'")
    return str(entry["id"])


def _invalid_pre_ids(entries: list[Any]) -> set[str]:
    """The ids of the null pre slots (question text or answer null)."""
    return {
        str(e["id"])
        for e in entries
        if isinstance(e, dict) and str(e.get("id", "")).startswith(PRE) and _invalid_pre(e)
    }


def _invalid_pre(entry: dict[str, Any]) -> bool:
    question = (entry.get("input") or {}).get("question") or {}
    answer = (entry.get("output") or {}).get("question_answer")
    return question.get("text") is None or answer is None


def parse_entry(
    entry: dict[str, Any],
    index: int,
    task: str,
    folder: Path,
    definitions: Definitions,
    sample_task: str,
    allow_outside: bool = False,
    null_answer_ok: bool = False,
) -> Sample:
    """One data.json entry as a sample (raises `DatasetError` naming the entry). With
    `null_answer_ok` (an empty pre slot kept for parity) a null answer reads as upstream's
    `f"{None}"`, the text "None"."""
    where = f"entry {index} (id {entry.get('id')!r})"
    inputs = entry.get("input")
    output = entry.get("output")
    if not isinstance(inputs, dict) or not isinstance(inputs.get("question"), dict):
        raise DatasetError(f"{where}: 'input.question' must be an object")
    if not isinstance(output, dict) or "question_answer" not in output:
        raise DatasetError(f"{where}: 'output.question_answer' is missing")
    question = inputs["question"]
    try:
        prompt = resolve(task, question.get("prompt"), definitions)
        options = resolve(task, question.get("options"), definitions)
    except DefinitionsError as err:
        raise DatasetError(f"{where}: {err}") from None
    if options is not None and not isinstance(options, str | list | tuple | dict):
        raise DatasetError(
            f"{where}: 'input.question.options' must be a list, a text or a definitions key, "
            f"not {type(options).__name__}; fix the entry"
        )
    answer = output["question_answer"]
    if answer is None:
        if not null_answer_ok:
            raise DatasetError(f"{where}: 'output.question_answer' is null")
        answer = "None"
    shape = TASKS[task][1]
    parts: list[Part] = []
    media: list[str] = []
    for name in _path_list(inputs.get("image_list"), where, "image_list"):
        parts.append(ImagePart(path=_media(folder, name, where, allow_outside), mime=_mime(name)))
        media.append(name)
    for name in _path_list(inputs.get("audio_list"), where, "audio_list"):
        parts.append(AudioPart(path=_media(folder, name, where, allow_outside)))
        media.append(name)
    video = inputs.get("video")
    if video is not None:
        if not isinstance(video, str):
            raise DatasetError(f"{where}: 'video' must be a path or null")
        parts.append(VideoPart(path=_media(folder, video, where, allow_outside)))
        media.append(video)
    text = question_text(prompt, options, question.get("text"))
    metadata: dict[str, Any] = {
        "upstream_id": str(entry["id"]),
        "position": index,
        "stage": STAGES[TASKS[task][0]],
        "subtask": entry.get("subtask"),
        "options": options,
        "question": question.get("text"),
        "text": text,
        "answer": answer,
        "media": media,
    }
    return Sample(
        id=f"{index:05d}",
        task=sample_task,
        parts=tuple(parts),
        target=_target(shape, answer, options, where),
        category=str(entry["subtask"]) if entry.get("subtask") else None,
        metadata=metadata,
    )


def _target(shape: Shape, answer: Any, options: Any, where: str) -> Target:
    if shape in ("choice", "multi"):
        if isinstance(answer, dict | list):
            raise DatasetError(f"{where}: a {shape} answer must be a string, not {answer!r}")
        label = str(answer)
        words = option_words(options) if not isinstance(options, str) else ()
        if shape == "choice" and label in words:
            return ChoiceTarget(answer=label, options=words, letters=words)
        return TextTarget(references=(label,))
    if shape == "caption":
        refs = answer if isinstance(answer, list) else [answer]
        return TextTarget(references=tuple(str(r) for r in refs if r))
    if shape == "indices":
        if not isinstance(answer, list) or not all(_is_int(a) for a in answer):
            raise DatasetError(f"{where}: a retrieval answer must be a list of indices")
        return DictTarget(value={"indices": [int(a) for a in answer]})
    if shape == "counts":
        if not isinstance(answer, dict):
            raise DatasetError(f"{where}: a counting answer must be an object {{class: count}}")
        try:
            counts = {str(k): int(v) for k, v in answer.items()}
        except (TypeError, ValueError):
            raise DatasetError(f"{where}: counts must be integers: {answer!r}") from None
        return DictTarget(value=counts)
    # boxes / frames
    if not isinstance(answer, dict) or not isinstance(answer.get("bbox"), dict):
        raise DatasetError(
            f"{where}: a box answer must be {{'bbox': {{...}}, 'original_wh': [W, H]}}"
        )
    size = answer.get("original_wh")
    if not isinstance(size, list | tuple) or len(size) != 2:
        raise DatasetError(f"{where}: 'original_wh' must be [W, H]")
    for key, box in answer["bbox"].items():
        if box is None and shape == "frames":
            continue
        if not isinstance(box, list | tuple) or len(box) != 4:
            raise DatasetError(f"{where}: box {key!r} must be [x, y, w, h], not {box!r}")
    return DictTarget(value={"bbox": dict(answer["bbox"]), "original_wh": list(size)})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _path_list(value: Any, where: str, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: '{name}' must be a list of paths or null")
    return list(value)


def _media(folder: Path, name: str, where: str, allow_outside: bool) -> Path:
    try:
        return dataset_media_path(folder, name, allow_outside)
    except OutsideRootError as err:
        raise DatasetError(f"{where}: {err}") from None


def _mime(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".jpg", ".jpeg")):
        return "image/jpeg"
    if lower.endswith(".webp"):
        return "image/webp"
    return "image/png"
