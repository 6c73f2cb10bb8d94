"""The dataset layouts of the bad-input catalogue (tests/bad_input_cases.py): one `LoaderAdapter`
per loader writes a small valid dataset in its benchmark's own layout (three samples, each with
one real media file) and knows where its item fields and media paths live.

A new loader joins by adding a `LoaderAdapter` to `LOADERS` (and its row to the catalogue's
`EXPECTED`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

BAD = 1  # the index of the sample each case damages


@dataclass
class Draft:
    """A dataset being written: native items, where the meta file and media live."""

    root: Path
    meta: Path
    media_dir: Path
    items: list[dict[str, Any]]
    meta_text: str | None = None  # when set, written instead of the items (broken JSON cases)


def _write_json_list(draft: Draft) -> None:
    text = draft.meta_text if draft.meta_text is not None else json.dumps(draft.items)
    draft.meta.parent.mkdir(parents=True, exist_ok=True)
    draft.meta.write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class LoaderAdapter:
    """How one loader's dataset is laid out (see the module doc)."""

    name: str
    build: Callable[[Path, list[str]], Draft]  # root, media names -> draft
    get_media: Callable[[dict[str, Any]], str]
    set_media: Callable[[dict[str, Any], str], None]
    spec: Callable[[Draft], dict[str, Any]]
    media_kind: Literal["video", "audio", "image"] = "video"
    suffix: str = ".mp4"
    write: Callable[[Draft], None] = _write_json_list  # the meta file from the draft
    required_field: str = "question"
    list_field: str = "options"
    #: for a layout that nests its fields: remove the question / set the option list
    drop_required: Callable[[dict[str, Any]], None] | None = None
    set_list: Callable[[dict[str, Any], Any], None] | None = None
    id_field: str = "id"
    #: the sample id the loader gives an item (default: the item's id field)
    sample_id: Callable[[dict[str, Any], int], str] | None = None
    #: case -> texts its error must contain, where this layout names things differently
    mentions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    model: str = "random"


def _jsonl(draft: Draft) -> str:
    return "".join(json.dumps(i) + "\n" for i in draft.items)


def _write_jsonl(draft: Draft) -> None:
    text = draft.meta_text if draft.meta_text is not None else _jsonl(draft)
    draft.meta.write_text(text, encoding="utf-8")


def items_text(draft: Draft, adapter: LoaderAdapter) -> str:
    """The draft's items as one meta file's text: JSON lines or a JSON list, as `adapter` writes
    its meta file (the layouts with a file per item: their JSON list)."""
    return _jsonl(draft) if adapter.write is _write_jsonl else json.dumps(draft.items)


def _vsync_build(root: Path, media: list[str]) -> Draft:
    level = root / "data" / "level_1"
    items = [
        {
            "id": f"v{i}",
            "video_path": name,
            "question": f"Who speaks in clip {i}?",
            "options": ["A. left", "B. right"],
            "correct_answer": "A",
            "asr_content": "",
        }
        for i, name in enumerate(media)
    ]
    return Draft(root, level / "dataset.json", level / "videos", items)


def _mcq_build(root: Path, media: list[str]) -> Draft:
    items = [
        {
            "id": f"m{i}",
            "question": f"What is in clip {i}?",
            "options": ["a tone", "silence"],
            "answer": "A",
            "media": [{"kind": "video", "path": name}],
        }
        for i, name in enumerate(media)
    ]
    return Draft(root, root / "questions.jsonl", root, items)


def _star_build(root: Path, media: list[str]) -> Draft:
    items = [
        {
            "id": f"P{i}",
            "task": "foundation_perception",
            "category": "non-spatial",
            "sub-category": "pitch",
            "question": f"Which pitch in clip {i}?",
            "options": ["low", "high"],
            "answer": "low",
            "audio_paths": [name],
        }
        for i, name in enumerate(media)
    ]
    return Draft(root, root / "meta_info" / "foundation_perception.json", root, items)


def _avi_build(root: Path, media: list[str]) -> Draft:
    folder = root / "levels" / "perception" / "AVM"  # media under the task folder's input/
    items = [
        {
            "id": f"a{i}",
            "task": "AVM",
            "subtask": None,
            "input": {
                "question": {
                    "prompt": None,
                    "text": f"Do clip {i} match?",
                    "options": ["yes", "no"],
                },
                "video": f"./input/{name}",
                "audio_list": None,
                "image_list": None,
            },
            "output": {"question_answer": "yes"},
        }
        for i, name in enumerate(media)
    ]
    return Draft(root, folder / "data.json", folder / "input", items)


def _avi_drop_question(item: dict[str, Any]) -> None:
    del item["input"]["question"]


def _avi_set_options(item: dict[str, Any], value: Any) -> None:
    item["input"]["question"]["options"] = value


def _avi_set_media(item: dict[str, Any], name: str) -> None:
    item["input"]["video"] = name if name.startswith("/") else f"./input/{name}"


def _avi_get_media(item: dict[str, Any]) -> str:
    return str(item["input"]["video"])


def _level2_build(root: Path, media: list[str]) -> Draft:
    level = root / "data" / "level_2"
    items = [
        {
            "video_id": f"w{i}",
            "video_file": name,
            "question_1": {
                "question": f"Should the listener speak now in clip {i}?",
                "timestamp": "00:01:00",
                "option_A": "Yes",
                "option_B": "No",
                "correct_answer": "B",
            },
            "question_2": {"question": "", "answer": ""},
            "metadata": {"num_people": 2},
        }
        for i, name in enumerate(media)
    ]
    return Draft(root, level / "annotations.json", level / "videos", items)


def _level2_drop_question(item: dict[str, Any]) -> None:
    del item["question_1"]


def _level2_set_answer(item: dict[str, Any], value: Any) -> None:
    item["question_1"] = value


def _spatial_build(root: Path, media: list[str]) -> Draft:
    # one scene per sample (scene<i>: one frame, a QA file with one question); the damaged
    # sample's QA file is the draft's meta file
    items = [
        {
            "question": f"Is the cup left of the chair in scene {i}?",
            "options": ["yes", "no"],
            "answer": "A",
            "_frame": f"scene{i}/{name}",
        }
        for i, name in enumerate(media)
    ]
    return Draft(
        root, root / "multi_json" / "ds" / f"scene{BAD}_qa.json", root / "frames" / "ds", items
    )


def _write_per_item(draft: Draft, path_of: Callable[[int], Path], wrap: bool = False) -> None:
    """Layouts with a meta file per item: item i's fields but the private `_...` ones go to
    `path_of(i)` (as a one-item list if `wrap`); the damaged item's file gets `meta_text` if
    set. An item that is not an object is written as it is."""
    for index, item in enumerate(draft.items):
        path = path_of(index)
        if index == BAD and draft.meta_text is not None:
            path.write_text(draft.meta_text, encoding="utf-8")
            continue
        shown = (
            {k: v for k, v in item.items() if not k.startswith("_")}
            if isinstance(item, dict)
            else item
        )
        path.write_text(json.dumps([shown] if wrap else shown), encoding="utf-8")


def _write_spatial(draft: Draft) -> None:
    base = draft.root / "multi_json" / "ds"
    base.mkdir(parents=True, exist_ok=True)
    _write_per_item(draft, lambda index: base / f"scene{index}_qa.json", wrap=True)


def _vmeval_build(root: Path, media: list[str]) -> Draft:
    # a generated edition (its verifier scores without a judge); the damaged question's
    # question_metadata.json is the draft's meta file, first_frame.png its media
    from omnieval.benchmarks.vmeval.synth import write_task

    questions = root / "questions"
    items: list[dict[str, Any]] = []
    for index in range(len(media)):
        folder = write_task(questions, "maze", index, 0)
        item = json.loads((folder / "question_metadata.json").read_text(encoding="utf-8"))
        items.append({**item, "_frame": f"{folder.name}/first_frame.png"})
    meta = questions / "maze_task" / f"maze_{BAD:04d}" / "question_metadata.json"
    return Draft(root, meta, questions / "maze_task", items)


def _write_vmeval(draft: Draft) -> None:
    folders = draft.root / "questions" / "maze_task"
    for index, item in enumerate(draft.items):
        if isinstance(item, dict) and item.get("_drop_prompt"):
            (folders / f"maze_{index:04d}" / "prompt.txt").unlink()
    _write_per_item(draft, lambda index: folders / f"maze_{index:04d}" / "question_metadata.json")


def _media_at(key: str) -> dict[str, Any]:
    """`get_media` and `set_media` for a layout naming its media file in the item field `key`."""

    def get_media(item: dict[str, Any]) -> str:
        return str(item[key])

    def set_media(item: dict[str, Any], name: str) -> None:
        item[key] = name

    return {"get_media": get_media, "set_media": set_media}


def _mcq_set(item: dict[str, Any], name: str) -> None:
    item["media"][0]["path"] = name


def _star_set(item: dict[str, Any], name: str) -> None:
    item["audio_paths"] = [name]


LOADERS: dict[str, LoaderAdapter] = {
    a.name: a
    for a in (
        LoaderAdapter(
            name="vsync",
            build=_vsync_build,
            **_media_at("video_path"),
            spec=lambda d: {"name": "vsync", "args": {"data_dir": str(d.root)}},
        ),
        LoaderAdapter(
            name="mcq",
            build=_mcq_build,
            get_media=lambda item: str(item["media"][0]["path"]),
            set_media=_mcq_set,
            write=_write_jsonl,
            spec=lambda d: {"name": "mcq", "args": {"path": str(d.meta)}},
        ),
        LoaderAdapter(
            name="starbench",
            media_kind="audio",
            suffix=".wav",
            build=_star_build,
            get_media=lambda item: str(item["audio_paths"][0]),
            set_media=_star_set,
            spec=lambda d: {"name": "starbench", "args": {"data_dir": str(d.root), "data": "pc"}},
        ),
        LoaderAdapter(
            name="avibench",
            build=_avi_build,
            get_media=lambda item: _avi_get_media(item).removeprefix("./input/"),
            set_media=_avi_set_media,
            spec=lambda d: {"name": "avibench", "args": {"data_dir": str(d.root), "tasks": "AVM"}},
            drop_required=_avi_drop_question,
            set_list=_avi_set_options,
            sample_id=lambda item, index: f"{index:05d}",
        ),
        LoaderAdapter(
            name="vsync-level2",
            build=_level2_build,
            **_media_at("video_file"),
            spec=lambda d: {
                "name": "vsync-level2",
                "args": {"data_dir": str(d.root), "levels": ["when"]},
            },
            list_field="question_1",
            drop_required=_level2_drop_question,
            set_list=_level2_set_answer,
            id_field="video_id",
        ),
        LoaderAdapter(
            name="spatial",
            media_kind="image",
            suffix=".jpg",
            build=_spatial_build,
            **_media_at("_frame"),
            write=_write_spatial,
            spec=lambda d: {"name": "spatial", "args": {"data_dir": str(d.root)}},
            sample_id=lambda item, index: f"ds/scene{index}/0",
            mentions={
                "missing media": ("{meta}", "no frames"),
                "symlink loop": ("{meta}", "no frames"),
                "symlink out of the root": ("{meta}", "outside the dataset root"),
            },
        ),
        LoaderAdapter(
            name="vmeval",
            media_kind="image",
            suffix=".png",
            build=_vmeval_build,
            **_media_at("_frame"),
            write=_write_vmeval,
            spec=lambda d: {
                "name": "vmeval",
                "args": {"data_dir": str(d.root / "questions"), "duration": 1.0, "fps": 4},
            },
            required_field="prompt",
            list_field="grid",
            drop_required=lambda item: item.__setitem__("_drop_prompt", True),
            model="still",
            mentions={
                "missing media": ("{id}", "missing first_frame.png", "rerun"),
                "missing field": ("{id}", "missing prompt.txt", "rerun"),
                "symlink loop": ("{id}", "missing first_frame.png", "rerun"),
                "symlink out of the root": ("{id}", "outside the dataset root"),
                # the verifier's board reader names the puzzle, not the field
                "wrong type": ("{meta}", "{id}", "does not describe a maze puzzle"),
            },
        ),
    )
}
