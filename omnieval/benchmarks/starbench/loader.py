"""Loader for STAR-Bench's release layout: `meta_info/*.json` + `starbench_audios/...`.

Each meta file is a JSON list of items `{id, task, category, sub-category, question, options,
answer, audio_paths, [global_caption], [uncut_audio_path]}`; `answer` is the text of the right
option and audio paths are relative to the data root. Datasets are named by upstream's aliases
(`pc`, `pc_sp`, `pc_nsp`, `tr`, `tr_cap`, `tr_uncut`, `sr`, `sr_ch`) and groups
(`starbench_default = pc + tr + sr` ...), joinable with `+`.

Upstream's `spatial_all` group names `sp` and `sp_ch`, which do not exist (its runner raises on
them); here it resolves to the spatial datasets it was meant to name, `sr` and `sr_ch`.

Every audio path must stay inside the data root (no `..` out of it, no absolute path, no
symlink resolving elsewhere) unless `allow_outside_paths` is set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.loading import parse_items, read_json_list
from omnieval.media.paths import OutsideRootError, dataset_media_path
from omnieval.types import AudioPart, ChannelLayout, ChoiceTarget, Sample

Family = Literal["perception", "temporal", "spatial"]
#: temporal sub-categories, in the order upstream's round-robin permutation uses them
TEMPORAL_SUBCATEGORIES = ("OSM", "ISSE", "TAO", "DSS", "ETC")
_TEMPORAL_ID = re.compile(r"_([A-Z]+)_(\d+)$")


@dataclass(frozen=True)
class Dataset:
    """One upstream dataset alias: its meta file, its family and its prompt variant."""

    alias: str
    meta: str
    family: Family
    variant: Literal["plain", "caption", "uncut", "channels"] = "plain"


DATASETS: dict[str, Dataset] = {
    d.alias: d
    for d in (
        Dataset("pc", "meta_info/foundation_perception.json", "perception"),
        Dataset("pc_sp", "meta_info/foundation_perception_spatial.json", "perception"),
        Dataset("pc_nsp", "meta_info/foundation_perception_nonspatial.json", "perception"),
        Dataset("tr", "meta_info/holistic_reasoning_temporal.json", "temporal"),
        Dataset("tr_cap", "meta_info/holistic_reasoning_temporal.json", "temporal", "caption"),
        Dataset("tr_uncut", "meta_info/holistic_reasoning_temporal.json", "temporal", "uncut"),
        Dataset("sr", "meta_info/holistic_reasoning_spatial.json", "spatial"),
        Dataset("sr_ch", "meta_info/holistic_reasoning_spatial.json", "spatial", "channels"),
    )
}

GROUPS: dict[str, tuple[str, ...]] = {
    "temporal_all": ("tr", "tr_cap", "tr_uncut"),
    # upstream lists "sp", "sp_ch" here: names no dataset has (see the module doc)
    "spatial_all": ("sr", "sr_ch"),
    "perception_all": ("pc_sp", "pc_nsp"),
    "starbench_all": ("tr", "tr_cap", "tr_uncut", "sr", "sr_ch", "pc_sp", "pc_nsp"),
    "starbench_default": ("pc", "tr", "sr"),
}


def resolve_datasets(names: str | Sequence[str]) -> list[Dataset]:
    """Aliases and groups (a list, or `+`-joined; any case) -> datasets, first seen first."""
    given = [names] if isinstance(names, str) else list(names)
    resolved: list[str] = []
    for name in given:
        for part in str(name).split("+"):
            key = part.strip().lower()
            if key in GROUPS:
                members: tuple[str, ...] = GROUPS[key]
            elif key in DATASETS:
                members = (key,)
            else:
                raise ValueError(
                    f"unknown STAR-Bench dataset or group {part.strip()!r}; datasets: "
                    f"{', '.join(DATASETS)}; groups: {', '.join(GROUPS)}"
                )
            resolved += [m for m in members if m not in resolved]
    if not resolved:
        raise ValueError("no STAR-Bench dataset named")
    return [DATASETS[a] for a in resolved]


def load_items(
    root: Path, dataset: Dataset, task_name: str, allow_outside_paths: bool = False
) -> list[Sample]:
    """Every item of `dataset` under `root` as a canonical sample; all malformed items are
    reported at once, naming the file and each item."""
    path = root / dataset.meta
    hint = (
        f" (STAR-Bench dataset {dataset.alias!r}; generate an edition with "
        f"`omnieval generate starbench --out {root}`)"
    )
    return parse_items(
        path,
        read_json_list(path, hint),
        lambda item, index: parse_item(item, index, root, dataset, task_name, allow_outside_paths),
    )


def temporal_key(item_id: str) -> tuple[str, int]:
    """(sub-category, number) from a temporal id ending in `_<SUBCAT>_<n>`."""
    match = _TEMPORAL_ID.search(item_id)
    if not match or match.group(1) not in TEMPORAL_SUBCATEGORIES:
        raise DatasetError(
            f"temporal id {item_id!r} does not end in _<SUBCAT>_<n> with SUBCAT one of "
            f"{', '.join(TEMPORAL_SUBCATEGORIES)}"
        )
    return match.group(1), int(match.group(2))


def parse_item(
    item: Any,
    index: int,
    root: Path,
    dataset: Dataset,
    task_name: str,
    allow_outside: bool = False,
) -> Sample:
    if not isinstance(item, dict):
        raise DatasetError(f"item {index}: expected an object, got {type(item).__name__}")
    where = f"item {index} (id {item.get('id', '?')!r})"
    missing = [k for k in ("id", "question", "options", "audio_paths") if not item.get(k)]
    if dataset.family != "temporal" and not item.get("answer"):
        missing.append("answer")
    if dataset.variant == "caption" and not item.get("global_caption"):
        missing.append("global_caption")
    if dataset.variant == "uncut" and not item.get("uncut_audio_path"):
        missing.append("uncut_audio_path")
    if missing:
        raise DatasetError(f"{where}: missing {', '.join(missing)}")
    options = item["options"]
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise DatasetError(f"{where}: 'options' must be a list of strings")
    if len(options) > 26 or len(set(options)) != len(options):
        raise DatasetError(f"{where}: options must be distinct (at most 26): {options}")
    paths = item["audio_paths"]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise DatasetError(f"{where}: 'audio_paths' must be a list of strings")
    item_id = str(item["id"])
    metadata: dict[str, Any] = {
        "question": str(item["question"]),
        "dataset": dataset.alias,
        "sub_category": str(item.get("sub-category") or ""),
        "audio_paths": list(paths),
    }
    # the spatial reasoning audio is binaural by the release's description: say so, so that the
    # media layer keeps (and checks) both ears
    layout = ChannelLayout.BINAURAL if dataset.family == "spatial" else None
    parts = [AudioPart(path=_media(root, p, where, allow_outside), layout=layout) for p in paths]
    if dataset.family == "temporal":
        if len(paths) != 3:
            raise DatasetError(f"{where}: temporal items have 3 clips, not {len(paths)}")
        try:
            subcategory, number = temporal_key(item_id)
        except DatasetError as err:
            raise DatasetError(f"{where}: {err}") from None
        metadata.update(
            subcat_code=subcategory, subid=number, clip_paths=[str(p.path) for p in parts]
        )
        if dataset.variant == "caption":
            metadata["global_caption"] = str(item["global_caption"])
        if dataset.variant == "uncut":
            parts.append(
                AudioPart(path=_media(root, str(item["uncut_audio_path"]), where, allow_outside))
            )
        target = ChoiceTarget(answer="A", options=tuple(options))
    else:
        answer = str(item["answer"])
        if answer not in options:
            raise DatasetError(f"{where}: answer {answer!r} is not one of the options {options}")
        if dataset.variant == "channels" and len(paths) != 1:
            raise DatasetError(f"{where}: sr_ch needs one binaural file per item")
        letters = tuple(chr(ord("A") + i) for i in range(len(options)))
        target = ChoiceTarget(answer=letters[options.index(answer)], options=tuple(options))
    sample = Sample(
        id=item_id,
        task=task_name,
        parts=tuple(parts),
        target=target,
        category=str(item["category"]) if item.get("category") else None,
        metadata=metadata,
    )
    if dataset.family == "temporal":
        from omnieval.benchmarks.starbench.circular import present_clips, upstream_clip_order

        try:
            sample = present_clips(sample, upstream_clip_order(sample, 0))
        except ValueError as err:
            raise DatasetError(f"{where}: {err}") from None
    return sample


def _media(root: Path, name: str, where: str, allow_outside: bool) -> Path:
    try:
        return dataset_media_path(root, name, allow_outside)
    except OutsideRootError as err:
        raise DatasetError(f"{where}: {err}") from None
