"""The bad-input catalogue: loader x case -> expected outcome, as data.

Each loader's dataset layout is a `LoaderAdapter` (tests/bad_input_loaders.py). Each `Case`
damages that dataset in one way. `tests/test_bad_inputs.py` runs every (loader, case) pair
through `api.evaluate` and checks the outcome in `EXPECTED`; `docs/reliability.md` holds the
table `render_table()` prints (the test checks the page matches; regenerate it with
`python -m tests.bad_input_cases > /tmp/table.md` and paste between the markers).

A new loader joins by adding a `LoaderAdapter` to `LOADERS` and its row to `EXPECTED`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tests.bad_input_loaders import BAD, LOADERS, Draft, LoaderAdapter, items_text

__all__ = ["BAD", "CASES", "EXPECTED", "LOADERS", "Case", "Media", "render_table", "write_dataset"]

Outcome = Literal["refused", "failed", "skipped", "ok", "n/a"]
OUTCOME_TEXT: dict[Outcome, str] = {
    "refused": "refused at load: one error lists every bad item (file, item, what to fix)",
    "failed": "that sample's trial is journaled failed naming the file; the other samples run",
    "skipped": "left out at load, as upstream's discovery does, with a warning naming the "
    "directory and the missing file; the other samples run",
    "ok": "runs normally",
    "n/a": "the layout cannot express the case (ids or media paths come from file names)",
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
    text = items_text(draft, adapter)
    key = f'"{adapter.required_field}"'
    assert key in text, key
    draft.meta_text = text.replace(key, key.strip('"'), 1)  # an unquoted key


def _truncated_json(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    text = items_text(draft, adapter)
    draft.meta_text = text[: len(text) - 25]


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


def _copy_outside(draft: Draft, adapter: LoaderAdapter, prefix: str) -> Path:
    """A copy of the damaged sample's media file next to the dataset root (outside it)."""
    outside = draft.root.parent / f"{prefix}-{draft.root.name}{adapter.suffix}"
    shutil.copyfile(_bad_file(draft, adapter), outside)
    return outside


def _leaves_root(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    outside = _copy_outside(draft, adapter, "secret")
    depth = len(draft.media_dir.relative_to(draft.root.parent).parts)
    adapter.set_media(draft.items[BAD], "/".join([".."] * depth + [outside.name]))


def _absolute_path(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    outside = _copy_outside(draft, adapter, "abs")
    adapter.set_media(draft.items[BAD], str(outside))


def _symlink_out(draft: Draft, adapter: LoaderAdapter, media: Media) -> None:
    outside = _copy_outside(draft, adapter, "linked")
    target = _bad_file(draft, adapter)
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
