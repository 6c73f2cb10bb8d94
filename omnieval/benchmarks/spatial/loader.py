"""Loader for the release layout of the spatial QA + mask benchmark (`LilyYang0504/BenchDatasets`).

```
<root>/frames/<dataset>/<scene>/frame_*.jpg|png     the scene's frames (all of them per item)
<root>/masks/<dataset>/<scene>/frame_{i:04d}_obj{n}.png|jpg   ground-truth masks
<root>/multi_json/<dataset>/<scene>_<suffix>.json   the items of one task of one scene
```

QA files are a list of `{question, options, answer}`; mask files a dict
`{obj_id: {question, crop_caption, crop_category}}` whose `obj_id` ends with `_<n>` (the mask
files' `obj<n>`). Files whose name contains `frame_sampling` are skipped, as upstream does.

Frames are sorted by the numbers in their names (`frame_10` after `frame_9`) and sent as an
image sequence: one `ImagePart` per frame, in order. `max_frames` subsamples uniformly
(`linspace`, as upstream); each item records the source index of every frame shown
(`metadata["frames"]`), and mask items point at the ground truth of exactly those frames
(`alignment="aligned"`). `alignment="upstream"` reproduces dyn-bench's bug (ground-truth frames
0..N-1 whatever was shown), for parity only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.loading import read_json
from omnieval.benchmarks.spatial.layout import (
    CATEGORY_OF,
    SUFFIXES,
    Alignment,
    TaskType,
    is_mask,
    task_name,
)
from omnieval.media.paths import OutsideRootError, dataset_media_path
from omnieval.types import ChoiceTarget, ImagePart, MasksTarget, Sample

_NUMBER = re.compile(r"(\d+)")
_LETTERED = re.compile(r"^\s*\(?([A-Z])[.):]\s*(.*)$", re.S)
_OBJECT_NUMBER = re.compile(r"_(\d+)$")


@dataclass(frozen=True)
class SceneFile:
    """One `multi_json/<dataset>/<scene>_<suffix>.json` file."""

    dataset: str
    scene: str
    suffix: str
    path: Path


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders the numbers inside a name by value (`frame_9` < `frame_10`)."""
    return tuple(int(p) if p.isdigit() else p for p in _NUMBER.split(name))


def scene_frames(frames_dir: Path) -> list[Path]:
    """The scene's frames, numerically sorted: `frame_*.jpg`, else `frame_*.png`, else `*.jpg`,
    else `*.png` (upstream's order of preference)."""
    for pattern in ("frame_*.jpg", "frame_*.png", "*.jpg", "*.png"):
        found = [p for p in frames_dir.glob(pattern) if p.is_file()]
        if found:
            return sorted(found, key=lambda p: natural_key(p.name))
    return []


def subsample(count: int, max_frames: int | None) -> list[int]:
    """Indices of the frames shown: all of them, or `max_frames` spread uniformly (upstream's
    `np.linspace(0, count - 1, max_frames, dtype=int)`)."""
    if not max_frames or count <= max_frames:
        return list(range(count))
    return [int(i) for i in np.linspace(0, count - 1, max_frames, dtype=int)]


def scene_files(root: Path) -> list[SceneFile]:
    """Every task file under `multi_json/`, sorted by dataset and name."""
    base = root / "multi_json"
    if not base.is_dir():
        raise DatasetError(
            f"{base} does not exist: a spatial data directory holds frames/, masks/ and "
            "multi_json/ (omnieval fetch spatial --out DIR, or omnieval generate spatial)"
        )
    found: list[SceneFile] = []
    for dataset_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        for path in sorted(dataset_dir.glob("*.json")):
            if "frame_sampling" in path.name:
                continue
            scene, _, suffix = path.stem.rpartition("_")
            if not scene or suffix not in SUFFIXES:
                raise DatasetError(
                    f"{path}: the name must be <scene>_<suffix>.json with a suffix in "
                    f"{list(SUFFIXES)}"
                )
            found.append(SceneFile(dataset_dir.name, scene, suffix, path))
    return found


def mask_path(mask_dir: Path, frame: int, obj_number: str) -> Path | None:
    for ext in ("png", "jpg"):
        path = mask_dir / f"frame_{frame:04d}_obj{obj_number}.{ext}"
        if path.is_file():
            return path
    return None


def load_samples(
    root: Path,
    task_type: TaskType = "all",
    max_frames: int | None = None,
    alignment: Alignment = "aligned",
    limit: int | None = None,
    allow_outside_paths: bool = False,
) -> list[Sample]:
    """Every item of the release under `root`, as samples (task `spatial/<suffix>`). A frame
    that resolves outside `root` (a symlink out) is refused unless `allow_outside_paths`."""
    root = Path(root)
    samples: list[Sample] = []
    for scene_file in scene_files(root):
        mask = is_mask(scene_file.suffix)
        if (task_type == "qa" and mask) or (task_type == "mask" and not mask):
            continue
        frames_dir = root / "frames" / scene_file.dataset / scene_file.scene
        frames = scene_frames(frames_dir)
        if not frames:
            raise DatasetError(
                f"{scene_file.path}: no frames in {frames_dir} (frame_*.jpg or frame_*.png, "
                "readable files); put the scene's frames there or fetch the data again"
            )
        shown = subsample(len(frames), max_frames)
        _check_inside(root, scene_file, [frames[i] for i in shown], allow_outside_paths)
        parts = tuple(ImagePart(path=frames[i], mime=_mime(frames[i])) for i in shown)
        data = read_json(scene_file.path)
        if mask:
            samples += _mask_samples(root, scene_file, data, parts, shown, alignment)
        else:
            samples += _qa_samples(scene_file, data, parts, shown)
    if limit:
        kept: dict[str, int] = {}
        limited = []
        for sample in samples:
            kept[sample.task] = kept.get(sample.task, 0) + 1
            if kept[sample.task] <= limit:
                limited.append(sample)
        samples = limited
    return samples


def _check_inside(root: Path, scene_file: SceneFile, frames: list[Path], allow: bool) -> None:
    for frame in frames:
        try:
            dataset_media_path(root, frame.relative_to(root), allow)
        except OutsideRootError as err:
            raise DatasetError(
                f"{scene_file.path} (samples {scene_file.dataset}/{scene_file.scene}/*): {err}"
            ) from None


def _mime(path: Path) -> str:
    return "image/png" if path.suffix.lower() == ".png" else "image/jpeg"


def _base_metadata(scene_file: SceneFile, shown: list[int]) -> dict[str, Any]:
    return {
        "dataset": scene_file.dataset,
        "scene": scene_file.scene,
        "suffix": scene_file.suffix,
        "frames": shown,
    }


def split_options(raw: list[Any], where: str) -> tuple[tuple[str, ...], bool]:
    """Option texts without their letters, and whether the file lettered them ("A. ...")."""
    texts = [str(o) for o in raw]
    matches = [_LETTERED.match(t) for t in texts]
    expected = [chr(ord("A") + i) for i in range(len(texts))]
    lettered = all(
        m is not None and m.group(1) == e for m, e in zip(matches, expected, strict=True)
    )
    if texts and lettered:
        return tuple(m.group(2).strip() for m in matches if m is not None), True
    if not texts:
        raise DatasetError(f"{where}: no options")
    return tuple(texts), False


def _qa_samples(
    scene_file: SceneFile, data: Any, parts: tuple[ImagePart, ...], shown: list[int]
) -> list[Sample]:
    if not isinstance(data, list):
        raise DatasetError(f"{scene_file.path}: a QA file holds a JSON list of questions")
    samples = []
    for index, item in enumerate(data):
        sample_id = f"{scene_file.dataset}/{scene_file.scene}/{index}"
        where = f"{scene_file.path} item {index} (id {sample_id})"
        if not isinstance(item, dict) or not {"question", "options", "answer"} <= item.keys():
            raise DatasetError(f"{where}: needs question, options and answer")
        if not isinstance(item["options"], list):
            raise DatasetError(
                f"{where}: 'options' must be a list of texts, not {type(item['options']).__name__}"
            )
        options, lettered = split_options(list(item["options"]), where)
        answer = str(item["answer"]).strip().upper()
        letters = tuple(chr(ord("A") + i) for i in range(len(options)))
        if answer not in letters:
            raise DatasetError(f"{where}: answer {item['answer']!r} is not one of {letters}")
        samples.append(
            Sample(
                id=sample_id,
                task=task_name(scene_file.suffix),
                parts=parts,
                target=ChoiceTarget(answer=answer, options=options),
                category=CATEGORY_OF[scene_file.suffix],
                metadata={
                    **_base_metadata(scene_file, shown),
                    "question": str(item["question"]),
                    "lettered": lettered,
                },
            )
        )
    return samples


def _mask_samples(
    root: Path,
    scene_file: SceneFile,
    data: Any,
    parts: tuple[ImagePart, ...],
    shown: list[int],
    alignment: Alignment,
) -> list[Sample]:
    if not isinstance(data, dict):
        raise DatasetError(f"{scene_file.path}: a mask file holds a JSON object {{obj_id: ...}}")
    mask_dir = root / "masks" / scene_file.dataset / scene_file.scene
    gt_sources = shown if alignment == "aligned" else list(range(len(shown)))
    samples = []
    for obj_id, item in data.items():
        where = f"{scene_file.path} object {obj_id!r}"
        number = _OBJECT_NUMBER.search(str(obj_id))
        if number is None or not isinstance(item, dict) or "question" not in item:
            raise DatasetError(f"{where}: needs an id ending in _<n> and a question")
        paths: list[Path] = []
        gt_frames: list[int] = []
        for position, source in enumerate(gt_sources):
            path = mask_path(mask_dir, source, number.group(1))
            if path is not None:
                paths.append(path)
                gt_frames.append(position)
        samples.append(
            Sample(
                id=f"{scene_file.dataset}/{scene_file.scene}/{obj_id}",
                task=task_name(scene_file.suffix),
                parts=parts,
                target=MasksTarget(paths=tuple(paths)),
                category=CATEGORY_OF[scene_file.suffix],
                metadata={
                    **_base_metadata(scene_file, shown),
                    "question": str(item["question"]),
                    "object_id": str(obj_id),
                    "object": f"obj{number.group(1)}",
                    "gt_frames": gt_frames,
                    "gt_sources": gt_sources,
                    "alignment": alignment,
                    "crop_caption": str(item.get("crop_caption", "")),
                    "crop_category": str(item.get("crop_category", "")),
                },
            )
        )
    return samples
