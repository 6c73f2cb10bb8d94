"""Loader for V-SYNC's official Level-1 format.

`data/level_1/dataset.json` is a JSON list of `{id, video_path, question, options, correct_answer,
asr_content}`; `video_path` is relative to the video directory (`data/level_1/videos/`). Options
are already lettered ("A. ..."). Our generated edition adds the optional keys `category` and
`synth`, which the upstream code ignores.

A `video_path` must stay inside the video directory (no `..` out of it, no absolute path, no
symlink resolving elsewhere) unless the benchmark says `allow_outside_paths: true`: such a file's
bytes would otherwise be read and, with a native transport, sent to a remote API.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.loading import parse_items, read_json_list
from omnieval.media.paths import OutsideRootError, dataset_media_path
from omnieval.types import ChoiceTarget, Sample, VideoPart

TASK_NAME = "vsync/level1"
_LABEL = re.compile(r"^\s*\(?([A-Z])\s*[.):]\s*(.*)$", re.S)


def find_layout(data_dir: Path) -> tuple[Path, Path]:
    """(dataset.json, video dir) under a V-SYNC root, a `data/` dir or the level dir itself."""
    for level_dir in (data_dir / "data" / "level_1", data_dir / "level_1", data_dir):
        if (level_dir / "dataset.json").is_file():
            return level_dir / "dataset.json", level_dir / "videos"
    raise DatasetError(
        f"no V-SYNC dataset under {data_dir}: expected data/level_1/dataset.json "
        f"(generate one with `omnieval generate vsync --out {data_dir}`)"
    )


def split_option(option: str, index: int) -> tuple[str, str]:
    """("B", "text") from "B. text"; unlettered options get the letter of their position."""
    match = _LABEL.match(option)
    if match:
        return match.group(1), match.group(2).strip()
    return chr(ord("A") + index), option.strip()


def load_vsync(
    dataset_path: Path, video_dir: Path, allow_outside_paths: bool = False
) -> list[Sample]:
    """Every sample of a V-SYNC Level-1 dataset; all malformed items are reported at once
    (a `video_path` outside `video_dir` is one, unless `allow_outside_paths`)."""
    items = read_json_list(dataset_path)
    return parse_items(
        dataset_path,
        items,
        lambda item, index: _parse_item(item, index, video_dir, allow_outside_paths),
    )


def _parse_item(item: Any, index: int, video_dir: Path, allow_outside: bool = False) -> Sample:
    if not isinstance(item, dict):
        raise DatasetError(f"item {index}: expected an object, got {type(item).__name__}")
    where = f"item {index} (id {item.get('id', '?')!r})"
    missing = [k for k in ("id", "video_path", "question", "options") if not item.get(k)]
    if missing:
        raise DatasetError(f"{where}: missing {', '.join(missing)}")
    options = item["options"]
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise DatasetError(f"{where}: 'options' must be a list of strings")
    letters, texts = zip(*(split_option(o, i) for i, o in enumerate(options)), strict=True)
    if len(set(letters)) != len(letters):
        raise DatasetError(f"{where}: option letters repeat: {list(letters)}")
    answer = str(item.get("correct_answer") or "").strip().upper()
    if answer not in letters:
        raise DatasetError(
            f"{where}: correct_answer {item.get('correct_answer')!r} is not one of {list(letters)}"
        )
    synth = item.get("synth") if isinstance(item.get("synth"), dict) else {}
    try:
        video = dataset_media_path(video_dir, str(item["video_path"]), allow_outside)
    except OutsideRootError as err:
        raise DatasetError(f"{where}: {err}") from None
    return Sample(
        id=str(item["id"]),
        task=TASK_NAME,
        parts=(VideoPart(path=video, with_audio=True),),
        target=ChoiceTarget(answer=answer, options=tuple(texts), letters=tuple(letters)),
        category=str(item["category"]) if item.get("category") else None,
        metadata={
            "question": str(item["question"]),
            "options": list(options),
            "asr_content": str(item.get("asr_content") or ""),
            "video_path": str(item["video_path"]),
            "synth": synth,
        },
    )
