"""The exact verifier of the generated tasks: read the last frames of a video and check the state.

The last `FRAMES` frames are decoded and combined by a per-pixel median (a generator's flicker
or a single glitched frame does not change the reading); the median frame is read back by
template matching on the task's own board (omnieval.benchmarks.vmeval.board) and the state is
checked by the domain's exact rule. The verdict says solved / not solved with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from omnieval.benchmarks.vmeval.board import UNREADABLE_RMS
from omnieval.benchmarks.vmeval.domains import DOMAINS, Verdict
from omnieval.benchmarks.vmeval.video import last_frames

FRAMES = 3
VERIFIER_VERSION = "1"


def final_image(frames: list[np.ndarray]) -> np.ndarray:
    if len(frames) == 1:
        return frames[0]
    sizes = {f.shape for f in frames}
    if len(sizes) > 1:
        return frames[-1]
    return np.median(np.stack(frames), axis=0).astype(np.uint8)


def verify_frame(domain: str, meta: dict[str, Any], frame: np.ndarray) -> Verdict:
    task = DOMAINS[domain]
    reading = task.board(meta).read(frame)
    unreadable = reading.unreadable
    if unreadable:
        worst = max(unreadable, key=lambda n: reading.distance[n])
        return Verdict(
            False,
            f"the final frame does not show the puzzle: {len(unreadable)} region(s) match no "
            f"known drawing (worst {worst}: distance {reading.distance[worst]:.0f} > "
            f"{UNREADABLE_RMS:.0f})",
        )
    return task.check(meta, reading.state)


class MetadataError(ValueError):
    """A generated question's metadata does not describe its domain's puzzle."""


def verify_video(domain: str, meta: dict[str, Any], video: Path) -> Verdict:
    frame = final_image(last_frames(video, FRAMES))  # VideoReadError names the file
    try:
        return verify_frame(domain, meta, frame)
    except (KeyError, TypeError, IndexError, ValueError) as err:
        raise MetadataError(
            f"{domain} question {meta.get('id', '?')}: its question_metadata.json does not "
            f"describe a {domain} puzzle ({type(err).__name__}: {err})"
        ) from err


def metadata_problem(domain: str, meta: dict[str, Any]) -> str | None:
    """Why a generated question's metadata cannot be verified (its board cannot be built from
    it), or None: checked at load so a broken file refuses the dataset instead of failing the
    scoring of its trials one by one."""
    try:
        DOMAINS[domain].board(meta)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as err:
        return f"it does not describe a {domain} puzzle ({type(err).__name__}: {err})"
    return None


def load_metadata(question_dir: Path) -> dict[str, Any]:
    path = question_dir / "question_metadata.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def verifiable(meta: dict[str, Any] | None) -> bool:
    """Whether a question's metadata is one of ours (generated, with an exact verifier)."""
    if not meta:
        return False
    return meta.get("generator") == "omnieval" and meta.get("domain") in DOMAINS
