"""The per-sample browser's data: one compact row per trial, prompts and media deduplicated.

Rows come from `samples.jsonl` (what the run exported); media paths come from the benchmark's
samples (their parts), referenced by a URL the caller chooses: a path relative to the report
(default), a data URL (`--embed-media`), or a server route (`omnieval rate`).
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from omnieval.types import Sample

RESPONSE_LIMIT = 2000
COLUMNS = (
    "key",
    "model",
    "task",
    "sample_id",
    "condition",
    "replicate",
    "outcome",
    "rule",
    "extraction",
    "ok",
    "scores",
    "response",
    "prompt",
    "media",
    "artifacts",
    "error",
    "answer",
    "expected",
)
#: file suffixes shown as expected media when a target names them (final frames, GT videos, masks)
MEDIA_SUFFIXES = {
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".webp": "image",
    ".mp4": "video", ".webm": "video", ".mov": "video", ".wav": "audio", ".mp3": "audio",
}  # fmt: skip
EXPECTED_LIMIT = 8
_SUFFIX_TUPLE = tuple(MEDIA_SUFFIXES)

#: path -> the URL the page uses for it
MediaUrl = Callable[[Path], str]


def relative_url(base: Path) -> MediaUrl:
    def url(path: Path) -> str:
        return Path(os.path.relpath(path, base)).as_posix()

    return url


def embedded_url(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    try:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return ""
    return f"data:{mime};base64,{data}"


def read_sample_rows(path: Path) -> Iterable[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def media_entries(sample: Sample | None, url: MediaUrl) -> list[dict[str, str]]:
    if sample is None:
        return []
    found = []
    for part in sample.parts:
        path = getattr(part, "path", None)
        if path is None:
            continue
        found.append({"kind": part.kind, "name": Path(path).name, "src": url(Path(path))})
    return found


def expected_media(target: Any, url: MediaUrl) -> list[dict[str, str]]:
    """Media files a target names (a final frame, a reference video, ground-truth masks), found
    among its string values, at most `EXPECTED_LIMIT`."""
    found: list[dict[str, str]] = []
    _find_media(target, "expected", url, found)
    return found


def _find_media(value: Any, key: str, url: MediaUrl, found: list[dict[str, str]]) -> None:
    """A module-level function, not a closure calling itself: such a closure is a reference
    cycle per call, left for the cyclic collector, which the final phase of a run pauses."""
    if len(found) >= EXPECTED_LIMIT:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _find_media(v, str(k), url, found)
    elif isinstance(value, list):
        for v in value:
            _find_media(v, key, url, found)
    elif (
        isinstance(value, str)
        and value.startswith("/")
        and value.lower().endswith(_SUFFIX_TUPLE)  # cheap tests first: most are option texts
    ):
        path = Path(value)
        if path.is_file():
            kind = MEDIA_SUFFIXES[path.suffix.lower()]
            found.append({"kind": kind, "name": f"{key}: {path.name}", "src": url(path)})


class BrowserIndex:
    """The prompts and media lists the browser's rows point into (each stored once).

    With `samples`, a sample's media entries are made when it first appears (the order URLs
    are asked for numbers a server's media routes); without, `media(samples)` makes them at
    the end, so a writer can stream the rows before it knows which samples it needs."""

    def __init__(
        self, url: MediaUrl, samples: Mapping[str, Mapping[str, Sample]] | None = None
    ) -> None:
        self.prompts: list[str] = []
        self._url = url
        self._samples = samples
        self._places: list[tuple[str, str]] = []
        self._media: list[list[dict[str, str]]] = []
        self._prompt_index: dict[str, int] = {}
        self._place_index: dict[tuple[str, str], int] = {}

    def prompt(self, text: str) -> int:
        if text not in self._prompt_index:
            self._prompt_index[text] = len(self.prompts)
            self.prompts.append(text)
        return self._prompt_index[text]

    def place(self, task: str, sample_id: str) -> int:
        """The index of the sample's media entries."""
        where = (task, sample_id)
        if where not in self._place_index:
            self._place_index[where] = len(self._places)
            self._places.append(where)
            if self._samples is not None:
                sample = self._samples.get(task, {}).get(sample_id)
                self._media.append(media_entries(sample, self._url))
        return self._place_index[where]

    def media(
        self, samples: Mapping[str, Mapping[str, Sample]] | None = None
    ) -> list[list[dict[str, str]]]:
        """Each sample's media entries, in `place` order (from `samples` if not made yet)."""
        if self._samples is not None:
            return self._media
        found = samples or {}
        return [media_entries(found.get(t, {}).get(i), self._url) for t, i in self._places]


def browser_rows(
    rows: Iterable[dict[str, Any]], run_dir: Path, url: MediaUrl, index: BrowserIndex
) -> Iterator[list[Any]]:
    """One compact row (`COLUMNS`) per samples.jsonl row, as it is read: a caller may write
    each out and drop it; prompts and media accumulate in `index`."""
    for row in rows:
        request = row.get("request") or {}
        text = "\n\n".join(p["text"] for p in request.get("parts", []) if "text" in p)
        prompt = index.prompt(text)
        media = index.place(row["task"], row["sample_id"])  # before the artifacts' URLs
        artifacts = [
            {
                "kind": a.get("kind", "file"),
                "name": a.get("name", ""),
                "src": url(run_dir / a["path"]) if a.get("path") else "",
            }
            for a in row.get("artifacts") or []
        ]
        target = row.get("target") or {}
        response = row.get("response") or ""
        yield [
            row["key"],
            row["model"],
            row["task"],
            row["sample_id"],
            row["condition"],
            row.get("replicate") or "",
            row["outcome"],
            row.get("extraction_rule") or "",
            row.get("extraction"),
            row.get("extraction_ok"),
            row.get("scores") or {},
            response[:RESPONSE_LIMIT] + ("…" if len(response) > RESPONSE_LIMIT else ""),
            prompt,
            media,
            artifacts,
            row.get("error") or row.get("scoring_error") or "",
            target.get("answer") if isinstance(target, dict) else None,
            expected_media(target, url),
        ]


def browser_data(
    rows: Iterable[dict[str, Any]],
    samples: Mapping[str, Mapping[str, Sample]],
    run_dir: Path,
    url: MediaUrl,
) -> dict[str, Any]:
    """{columns, rows, prompts, media} for the page's JavaScript (see the module docstring)."""
    index = BrowserIndex(url, samples)
    out_rows = list(browser_rows(rows, run_dir, url, index))
    return {
        "columns": list(COLUMNS),
        "rows": out_rows,
        "prompts": index.prompts,
        "media": index.media(),
    }
