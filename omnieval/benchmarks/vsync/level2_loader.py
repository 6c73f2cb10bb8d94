"""Loader for V-SYNC Levels 2 and 3 in SocialOmni's annotation format.

`data/level_2/annotations.json` is a JSON list (or `{"data": [...]}`) of items

    {"video_id", "video_file",
     "question_1": {"question", "timestamp", "option_A", "option_B", "correct_answer"},
     "question_2": {"question", "answer"},
     "metadata": {"num_people", "turn_taking", "lighting", "consistency", "camera_shot"},
     "full_asr"}

`video_file` is relative to `data/level_2/videos/`. `question_1` is the "when" question (A = yes,
B = no) asked at `timestamp`; `question_2` the "how" question, with the reference utterance as
`answer` (empty for NO items).

**Timestamps** follow SocialOmni's convention: `"HH:MM:SS"` with three fields is read as *the
middle field in seconds* (`"00:17:00"` is 17 s; the last field is ignored), as its pipeline does
on purpose; `"M:SS"` is minutes and seconds; a plain number is seconds.

**`full_asr`** is the transcript of the whole video, the reference continuation included. It is
never put into a sample: nothing a model receives can contain it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.loading import parse_items, read_json
from omnieval.media.paths import OutsideRootError, dataset_media_path
from omnieval.types import ChoiceTarget, Sample, TextTarget, VideoPart

WHEN_TASK = "vsync/when"
HOW_TASK = "vsync/how"
METADATA_KEYS = ("num_people", "turn_taking", "lighting", "consistency", "camera_shot")


def parse_timestamp(value: Any) -> float:
    """Seconds from a SocialOmni timestamp (see the module doc); ValueError when unreadable."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise ValueError("empty timestamp")
    fields = text.split(":")
    try:
        if len(fields) == 3:
            return float(fields[1])
        if len(fields) == 2:
            return int(fields[0]) * 60 + float(fields[1])
        if len(fields) == 1:
            return float(text)
    except ValueError:
        pass
    raise ValueError(f"unreadable timestamp {text!r} (expected HH:MM:SS, M:SS or seconds)")


def find_level2_layout(data_dir: Path) -> tuple[Path, Path]:
    """(annotations.json, video dir) under a root, a `data/` dir or the level dir itself."""
    for level_dir in (data_dir / "data" / "level_2", data_dir / "level_2", data_dir):
        if (level_dir / "annotations.json").is_file():
            return level_dir / "annotations.json", level_dir / "videos"
    raise DatasetError(
        f"no V-SYNC Level 2 data under {data_dir}: expected data/level_2/annotations.json "
        f"(generate one with `omnieval generate vsync-when --out {data_dir}`)"
    )


def read_annotations(path: Path) -> list[Any]:
    """The item list of an annotations file (a list, or a dict holding it under `data`)."""
    payload = read_json(path)
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        return list(payload["data"])
    if isinstance(payload, list):
        return payload
    raise DatasetError(f"{path}: expected a JSON list of items (or an object with `data`)")


def load_when(path: Path, video_dir: Path, allow_outside_paths: bool = False) -> list[Sample]:
    """Every "when" sample; all malformed items are reported at once, naming file and item."""
    items = read_annotations(path)
    return parse_items(path, items, lambda it, i: _when(it, i, video_dir, allow_outside_paths))


def how_from_when(samples: list[Sample]) -> list[Sample]:
    """The "how" samples: every YES item (its reference utterance is the target)."""
    found: list[Sample] = []
    for sample in samples:
        reference = sample.metadata["reference"]
        if sample.metadata["gold_yes"] and reference:
            found.append(
                sample.model_copy(
                    update={
                        "task": HOW_TASK,
                        "target": TextTarget(references=(reference,)),
                    }
                )
            )
    return found


def _when(item: Any, index: int, video_dir: Path, allow_outside: bool) -> Sample:
    if not isinstance(item, dict):
        raise DatasetError(f"item {index}: expected an object, got {type(item).__name__}")
    where = f"item {index} (video_id {item.get('video_id', '?')!r})"
    missing = [k for k in ("video_id", "video_file", "question_1") if not item.get(k)]
    if missing:
        raise DatasetError(f"{where}: missing {', '.join(missing)}")
    q1, q2 = item["question_1"], item.get("question_2") or {}
    if not isinstance(q1, dict) or not isinstance(q2, dict):
        raise DatasetError(f"{where}: question_1 and question_2 must be objects")
    if not str(q1.get("question") or "").strip():
        raise DatasetError(f"{where}: question_1 has no question")
    try:
        t = parse_timestamp(q1.get("timestamp"))
    except ValueError as err:
        raise DatasetError(f"{where}: question_1.timestamp: {err}") from None
    if t <= 0:
        raise DatasetError(f"{where}: question_1.timestamp {q1.get('timestamp')!r} is not after 0")
    answer = str(q1.get("correct_answer") or "").strip().upper()
    if answer not in ("A", "B"):
        raise DatasetError(
            f"{where}: question_1.correct_answer {q1.get('correct_answer')!r} is not A or B"
        )
    reference = str(q2.get("answer") or "").strip()
    if answer == "A" and not (reference and str(q2.get("question") or "").strip()):
        raise DatasetError(f"{where}: a YES item needs question_2.question and question_2.answer")
    try:
        video = dataset_media_path(video_dir, str(item["video_file"]), allow_outside)
    except OutsideRootError as err:
        raise DatasetError(f"{where}: {err}") from None
    raw_meta = item.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    # upstream's prompt falls back to YES / NO when an item has no option texts
    option_a = str(q1.get("option_A") or "YES").strip()
    option_b = str(q1.get("option_B") or "NO").strip()
    return Sample(
        id=str(item["video_id"]),
        task=WHEN_TASK,
        parts=(VideoPart(path=video, with_audio=True),),
        target=ChoiceTarget(answer=answer, options=(option_a, option_b), letters=("A", "B")),
        category=str(item["category"]) if item.get("category") else None,
        metadata={
            "question": str(q1["question"]).strip(),
            "t": t,
            "timestamp": str(q1.get("timestamp")),
            "gold_yes": answer == "A",
            "how_question": str(q2.get("question") or "").strip(),
            "reference": reference,
            "video_file": str(item["video_file"]),
            "annotation": {k: meta[k] for k in METADATA_KEYS if k in meta},
            "synth": item.get("synth") if isinstance(item.get("synth"), dict) else {},
        },
    )
