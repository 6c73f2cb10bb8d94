"""The bad-input catalogue: loader x case -> expected outcome, as data.

Each `LoaderAdapter` writes a small valid dataset in its benchmark's own layout (three samples,
each with one real media file) and knows where its item fields and media paths live. Each `Case`
damages that dataset in one way. `tests/test_bad_inputs.py` runs every (loader, case) pair
through `api.evaluate` and checks the outcome in `EXPECTED`; `docs/reliability.md` holds the
table `render_table()` prints (the test checks the page matches; regenerate it with
`python -m tests.bad_input_cases > /tmp/table.md` and paste between the markers).

A new loader joins by adding a `LoaderAdapter` to `LOADERS` and its row to `EXPECTED`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["refused", "failed", "skipped", "ok", "n/a"]
OUTCOME_TEXT: dict[Outcome, str] = {
    "refused": "refused at load: one error lists every bad item (file, item, what to fix)",
    "failed": "that sample's trial is journaled failed naming the file; the other samples run",
    "skipped": "left out at load, as upstream's discovery does, with a warning naming the "
    "directory and the missing file; the other samples run",
    "ok": "runs normally",
    "n/a": "the layout cannot express the case (ids or media paths come from file names)",
}
BAD = 1  # the index of the sample each case damages


@dataclass
class Draft:
    """A dataset being written: native items, where the meta file and media live."""

    root: Path
    meta: Path
    media_dir: Path
    items: list[dict[str, Any]]
    meta_text: str | None = None  # when set, written instead of the items (broken JSON cases)


@dataclass(frozen=True)
class LoaderAdapter:
    """How one loader's dataset is laid out (see the module doc)."""

    name: str
    media_kind: Literal["video", "audio", "image"]
    suffix: str
    build: Callable[[Path, list[str]], Draft]  # root, media names -> draft
    get_media: Callable[[dict[str, Any]], str]
    set_media: Callable[[dict[str, Any], str], None]
    write: Callable[[Draft], None]
    spec: Callable[[Draft], dict[str, Any]]
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


# --------------------------------------------------------------------------- loaders


def _write_json_list(draft: Draft) -> None:
    text = draft.meta_text if draft.meta_text is not None else json.dumps(draft.items)
    draft.meta.parent.mkdir(parents=True, exist_ok=True)
    draft.meta.write_text(text, encoding="utf-8")


def _write_jsonl(draft: Draft) -> None:
    if draft.meta_text is not None:
        draft.meta.write_text(draft.meta_text, encoding="utf-8")
        return
    draft.meta.write_text("".join(json.dumps(i) + "\n" for i in draft.items), encoding="utf-8")


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


def _write_spatial(draft: Draft) -> None:
    base = draft.root / "multi_json" / "ds"
    base.mkdir(parents=True, exist_ok=True)
    for index, item in enumerate(draft.items):
        path = base / f"scene{index}_qa.json"
        if index == BAD and draft.meta_text is not None:
            path.write_text(draft.meta_text, encoding="utf-8")
            continue
        shown = {k: v for k, v in item.items() if k != "_frame"} if isinstance(item, dict) else item
        path.write_text(json.dumps([shown]), encoding="utf-8")


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
    for index, item in enumerate(draft.items):
        folder = draft.root / "questions" / "maze_task" / f"maze_{index:04d}"
        path = folder / "question_metadata.json"
        if index == BAD and draft.meta_text is not None:
            path.write_text(draft.meta_text, encoding="utf-8")
            continue
        if isinstance(item, dict) and item.get("_drop_prompt"):
            (folder / "prompt.txt").unlink()
        shown = (
            {k: v for k, v in item.items() if not k.startswith("_")}
            if isinstance(item, dict)
            else item
        )
        path.write_text(json.dumps(shown), encoding="utf-8")


def _mcq_set(item: dict[str, Any], name: str) -> None:
    item["media"][0]["path"] = name


def _star_set(item: dict[str, Any], name: str) -> None:
    item["audio_paths"] = [name]


LOADERS: dict[str, LoaderAdapter] = {
    a.name: a
    for a in (
        LoaderAdapter(
            name="vsync",
            media_kind="video",
            suffix=".mp4",
            build=_vsync_build,
            get_media=lambda item: str(item["video_path"]),
            set_media=lambda item, name: item.__setitem__("video_path", name),
            write=_write_json_list,
            spec=lambda d: {"name": "vsync", "args": {"data_dir": str(d.root)}},
        ),
        LoaderAdapter(
            name="mcq",
            media_kind="video",
            suffix=".mp4",
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
            write=_write_json_list,
            spec=lambda d: {"name": "starbench", "args": {"data_dir": str(d.root), "data": "pc"}},
        ),
        LoaderAdapter(
            name="avibench",
            media_kind="video",
            suffix=".mp4",
            build=_avi_build,
            get_media=lambda item: _avi_get_media(item).removeprefix("./input/"),
            set_media=_avi_set_media,
            write=_write_json_list,
            spec=lambda d: {"name": "avibench", "args": {"data_dir": str(d.root), "tasks": "AVM"}},
            drop_required=_avi_drop_question,
            set_list=_avi_set_options,
            sample_id=lambda item, index: f"{index:05d}",
        ),
        LoaderAdapter(
            name="vsync-level2",
            media_kind="video",
            suffix=".mp4",
            build=_level2_build,
            get_media=lambda item: str(item["video_file"]),
            set_media=lambda item, name: item.__setitem__("video_file", name),
            write=_write_json_list,
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
            get_media=lambda item: str(item["_frame"]),
            set_media=lambda item, name: item.__setitem__("_frame", name),
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
            get_media=lambda item: str(item["_frame"]),
            set_media=lambda item, name: item.__setitem__("_frame", name),
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


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Media:
    """Valid media files made once per session: `video` (with audio), `audio` (no video),
    `silent_video` (no audio track), `image` (a JPEG frame)."""

    video: Path
    audio: Path
    silent_video: Path
    image: Path


@dataclass(frozen=True)
class Case:
    """One way to damage a dataset. `damage(draft, adapter, media)` edits the draft (and files)
    before it is written; `mention` are texts the error must contain (`{id}` is the damaged
    sample's id, `{file}` the damaged media file's name, `{meta}` the meta file's name)."""

    name: str
    description: str
    damage: Callable[[Draft, LoaderAdapter, Media], None]
    mention: tuple[str, ...] = field(default_factory=tuple)


def _bad_file(draft: Draft, adapter: LoaderAdapter) -> Path:
    return draft.media_dir / adapter.get_media(draft.items[BAD])


def _zero_length(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    _bad_file(draft, adapter).write_bytes(b"")


def _corrupt(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    target = _bad_file(draft, adapter)
    size = target.stat().st_size
    target.write_bytes(bytes((i * 131 + 7) % 256 for i in range(size)))


def _truncated(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    target = _bad_file(draft, adapter)
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 3])


def _wrong_streams(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    # a video slot gets an audio-only file; an audio slot a video without an audio track
    source = media.silent_video if adapter.media_kind == "audio" else media.audio
    shutil.copyfile(source, _bad_file(draft, adapter))


def _missing_media(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    _bad_file(draft, adapter).unlink()


def _malformed_json(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    text = _jsonl(draft) if adapter.write is _write_jsonl else json.dumps(draft.items)
    key = f'"{adapter.required_field}"'
    assert key in text, key
    draft.meta_text = text.replace(key, key.strip('"'), 1)  # an unquoted key


def _truncated_json(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    text = _jsonl(draft) if adapter.write is _write_jsonl else json.dumps(draft.items)
    draft.meta_text = text[: len(text) - 25]


def _jsonl(draft: Draft) -> str:
    return "".join(json.dumps(i) + "\n" for i in draft.items)


def _not_utf8(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    draft.meta_text = "\udcff"  # written with errors="surrogateescape" below: a lone 0xFF byte


def _missing_field(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    if adapter.drop_required is not None:
        adapter.drop_required(draft.items[BAD])
    else:
        del draft.items[BAD][adapter.required_field]


def _wrong_type(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    if adapter.set_list is not None:
        adapter.set_list(draft.items[BAD], 42)
    else:
        draft.items[BAD][adapter.list_field] = 42


def _not_an_object(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    draft.items[BAD] = ["not", "an", "object"]  # type: ignore[call-overload]


def _duplicate_id(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    draft.items[BAD][adapter.id_field] = draft.items[0][adapter.id_field]


def _unicode_spaces(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    old = _bad_file(draft, adapter)
    name = f"dir with space/çlïp ünï 音 {BAD}{adapter.suffix}"
    new = draft.media_dir / name
    new.parent.mkdir(parents=True, exist_ok=True)
    old.rename(new)
    adapter.set_media(draft.items[BAD], name)


def _leaves_root(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    outside = draft.root.parent / f"secret-{draft.root.name}{adapter.suffix}"
    shutil.copyfile(_bad_file(draft, adapter), outside)
    depth = len(draft.media_dir.relative_to(draft.root.parent).parts)
    adapter.set_media(draft.items[BAD], "/".join([".."] * depth + [outside.name]))


def _absolute_path(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    outside = draft.root.parent / f"abs-{draft.root.name}{adapter.suffix}"
    shutil.copyfile(_bad_file(draft, adapter), outside)
    adapter.set_media(draft.items[BAD], str(outside))


def _symlink_out(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    outside = draft.root.parent / f"linked-{draft.root.name}{adapter.suffix}"
    target = _bad_file(draft, adapter)
    shutil.copyfile(target, outside)
    target.unlink()
    os.symlink(outside, target)


def _symlink_loop(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    target = _bad_file(draft, adapter)
    target.unlink()
    partner = target.with_name("partner" + adapter.suffix)
    os.symlink(partner.name, target)
    os.symlink(target.name, partner)


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case("zero-length media", "the media file has 0 bytes", _zero_length, ("{file}", "empty")),
        Case("corrupt media", "the media file is noise", _corrupt, ("{file}", "undecodable")),
        Case(
            "truncated media",
            "the first third of the media file (an interrupted download)",
            _truncated,
            ("{file}",),
        ),
        Case(
            "wrong streams / codec",
            "an audio-only file where a video is expected; a video without audio where audio is",
            _wrong_streams,
            ("{file}",),
        ),
        Case("missing media", "the media file does not exist", _missing_media, ("{file}",)),
        Case("malformed JSON", "an unquoted key", _malformed_json, ("{meta}", "JSON")),
        Case("truncated JSON", "the meta file cut short", _truncated_json, ("{meta}",)),
        Case("not UTF-8", "the meta file is binary", _not_utf8, ("{meta}", "UTF-8")),
        Case(
            "missing field",
            "an item without its question (`question`; avibench `input.question`, vsync-level2 "
            "`question_1`, vmeval `prompt.txt`)",
            _missing_field,
            ("{meta}", "{id}"),
        ),
        Case(
            "wrong type",
            "`options` is a number (vsync-level2: `question_1`; vmeval: the puzzle's `grid`)",
            _wrong_type,
            ("{meta}", "{id}", "{list}"),
        ),
        Case("item not an object", "an item is a JSON list", _not_an_object, ("{meta}",)),
        Case("duplicate id", "two items share an id", _duplicate_id, ("{meta}", "duplicate")),
        Case(
            "unicode and spaces in path",
            "the media lives under `dir with space/çlïp ünï 音 1.ext`",
            _unicode_spaces,
        ),
        Case(
            "path leaves the root",
            "`../../secret.ext`",
            _leaves_root,
            ("{meta}", "{id}", "outside the dataset root", "allow_outside_paths"),
        ),
        Case(
            "absolute path",
            "`/elsewhere/abs.ext`",
            _absolute_path,
            ("{meta}", "{id}", "outside the dataset root"),
        ),
        Case(
            "symlink out of the root",
            "the media file is a symlink to a file outside the root",
            _symlink_out,
            ("{meta}", "{id}", "outside the dataset root"),
        ),
        Case(
            "symlink loop",
            "the media file is a symlink to a symlink to it",
            _symlink_loop,
            ("{file}",),
        ),
    )
}

_MEDIA_FAILS: dict[str, Outcome] = {
    "zero-length media": "failed",
    "corrupt media": "failed",
    "truncated media": "failed",
    "wrong streams / codec": "failed",
    "missing media": "failed",
    "malformed JSON": "refused",
    "truncated JSON": "refused",
    "not UTF-8": "refused",
    "missing field": "refused",
    "wrong type": "refused",
    "item not an object": "refused",
    "duplicate id": "refused",
    "unicode and spaces in path": "ok",
    "path leaves the root": "refused",
    "absolute path": "refused",
    "symlink out of the root": "refused",
    "symlink loop": "failed",
}

#: loader -> case -> outcome. A loader whose behaviour differs overrides single cells.
EXPECTED: dict[str, dict[str, Outcome]] = {
    "vsync": dict(_MEDIA_FAILS),
    "mcq": dict(_MEDIA_FAILS),
    "starbench": dict(_MEDIA_FAILS),
    # upstream AVI-Bench ids repeat by design (several questions per clip): a sample's id is its
    # position, so a repeated upstream id is not an error
    "avibench": {**_MEDIA_FAILS, "duplicate id": "ok"},
    "vsync-level2": dict(_MEDIA_FAILS),
    # frames are found by name in the scene's directory: no media path or id in the JSON
    "spatial": {
        **_MEDIA_FAILS,
        "missing media": "refused",
        "duplicate id": "n/a",
        "unicode and spaces in path": "n/a",
        "path leaves the root": "n/a",
        "absolute path": "n/a",
        "symlink loop": "refused",
    },
    # question directories: fixed file names, the id is the directory's name
    "vmeval": {
        **_MEDIA_FAILS,
        "missing media": "skipped",
        "missing field": "skipped",
        "duplicate id": "n/a",
        "unicode and spaces in path": "n/a",
        "path leaves the root": "n/a",
        "absolute path": "n/a",
        "symlink loop": "skipped",
    },
}


def _media_source(adapter: LoaderAdapter, media: Media) -> Path:
    return {"video": media.video, "audio": media.audio, "image": media.image}[adapter.media_kind]


def write_dataset(
    root: Path, adapter: LoaderAdapter, media: Media, case: Case | None
) -> tuple[Draft, dict[str, str]]:
    """The damaged dataset under `root`; returns it and the `{id}`/`{file}`/`{meta}` values."""
    names = [f"clip{i}{adapter.suffix}" for i in range(3)]
    if adapter.media_kind == "image":
        names = [f"frame_0000{adapter.suffix}" for _ in range(3)]
    draft = adapter.build(root, names)
    source = _media_source(adapter, media)
    for item in draft.items:
        target = draft.media_dir / adapter.get_media(item)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    sample_id = adapter.sample_id or (lambda item, index: str(item[adapter.id_field]))
    values = {
        "id": str(draft.items[BAD].get(adapter.id_field, sample_id(draft.items[BAD], BAD))),
        "sample": sample_id(draft.items[BAD], BAD),
        "file": adapter.get_media(draft.items[BAD]),
        "meta": draft.meta.name,
        "list": adapter.list_field,
    }
    if case is not None:
        case.damage(draft, adapter, media)
    if draft.meta_text == "\udcff":
        draft.meta.parent.mkdir(parents=True, exist_ok=True)
        draft.meta.write_bytes(b"\xff\xfe\x00binary")
    else:
        adapter.write(draft)
    return draft, values


# --------------------------------------------------------------------------- serve


@dataclass(frozen=True)
class ServeCase:
    name: str
    description: str
    outcome: str


SERVE_CASES: tuple[ServeCase, ...] = (
    ServeCase(
        "2 GB upload, Content-Length declared",
        "a 2 GiB body announced in its header",
        "413 before a byte of the body is read",
    ),
    ServeCase(
        "2 GB upload, streamed (chunked)",
        "2 GiB sent lazily with no Content-Length",
        "413 once the limit is passed; the connection is closed",
    ),
    ServeCase(
        "2 GB multipart upload to /analyze",
        "a 2 GiB video field announced in its header",
        "413 before the body is read",
    ),
    ServeCase("malformed JSON body", "`{not json`", "400 saying what is wrong"),
    ServeCase("corrupt media part", "noise as a base64 video", "400 naming the part"),
    ServeCase("remote media URL", "`https://...` image", "400: not fetched"),
    ServeCase("file:// outside the allowlist", "`file:///etc/passwd`", "403"),
)


def render_table() -> str:
    """The markdown tables of docs/reliability.md."""
    loaders = list(EXPECTED)
    lines = [
        "| case | what is wrong | " + " | ".join(loaders) + " |",
        "|---|---|" + "---|" * len(loaders),
    ]
    for name, case in CASES.items():
        cells = " | ".join(EXPECTED[loader][name] for loader in loaders)
        lines.append(f"| {name} | {case.description} | {cells} |")
    lines += ["", "Outcomes:", ""]
    lines += [f"- `{key}`: {text}" for key, text in OUTCOME_TEXT.items()]
    lines += ["", "| `omnieval serve` case | what is sent | outcome |", "|---|---|---|"]
    lines += [f"| {c.name} | {c.description} | {c.outcome} |" for c in SERVE_CASES]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_table(), end="")
