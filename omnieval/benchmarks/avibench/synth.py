"""The generated AVI-Bench edition: all 14 tasks (15 folders: VSQA is VSQA_I + VSQA_V) from
primitive stimuli, in the release layout, deterministic by seed.

`generate_avibench(out, n, seed)` writes

    OUT/edition.json                          generator, version, n, seed, tasks
    OUT/definitions.py                        prompts and option lists (upstream's format)
    OUT/levels/<stage>/<TASK>/data.json       the release's entry list
    OUT/levels/<stage>/<TASK>/input/...       wavs/, images/, videos/

Each task gets `n` items; each sensation task gets `ceil(n / 4)` control items after them
(silent track or blank picture / clip). Item i is drawn from a generator seeded by (seed, task,
i) and control k from one seeded by (seed, task/control, k), so the same seed gives the same
bytes and an item's content does not depend on `n` (a control's id does: it follows the n
items). Regenerating into the same directory replaces each written task folder whole; a
directory whose `levels/` was not written by this generator is refused. The tasks are
described in `synth_sensation`, `synth_perception` and `synth_reasoning`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from omnieval.benchmarks.avibench import synth_perception as perception
from omnieval.benchmarks.avibench import synth_reasoning as reasoning
from omnieval.benchmarks.avibench import synth_sensation as sensation
from omnieval.benchmarks.avibench.synth_common import TaskFolder, item_rng
from omnieval.benchmarks.avibench.synth_definitions import TASKS, write_definitions

GENERATOR_VERSION = "1"

ItemWriter = Callable[[TaskFolder, int, np.random.Generator], None]
ControlledWriter = Callable[[TaskFolder, int, np.random.Generator, bool], None]

#: tasks whose items come with pre-questions and controls
SENSATION: dict[str, ControlledWriter] = {
    "ASQA": sensation.asqa_item,
    "VSQA_I": sensation.vsqa_image_item,
    "VSQA_V": sensation.vsqa_video_item,
    "AVSQA": sensation.avsqa_item,
}
OTHERS: dict[str, ItemWriter] = {
    "AMIC": perception.amic_item,
    "VMIC": perception.vmic_item,
    "AVL": perception.avl_item,
    "AVM": perception.avm_item,
    "VAR": perception.var_item,
    "AVR": perception.avr_item,
    "AVC": perception.avc_item,
    "AVH": reasoning.avh_item,
    "VAH": reasoning.vah_item,
    "AVQA": reasoning.avqa_item,
    "AVLG": reasoning.avlg_item,
}
assert set(SENSATION) | set(OTHERS) == set(TASKS)


def controls_for(n: int) -> int:
    return math.ceil(n / 4)


def generate_avibench(
    out: Path,
    n: int = 4,
    seed: int = 0,
    tasks: Iterable[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """Write the edition under `out` (see the module doc); returns `out`."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    chosen = list(tasks) if tasks is not None else list(TASKS)
    unknown = sorted(set(chosen) - set(TASKS))
    if unknown:
        known = ", ".join(TASKS)
        raise ValueError(f"unknown AVI-Bench task(s) {', '.join(unknown)}; known: {known}")
    _check_target(out)
    out.mkdir(parents=True, exist_ok=True)
    write_definitions(out / "definitions.py")
    levels = out / "levels"
    for done, task in enumerate(chosen, start=1):
        folder = TaskFolder(levels, task)
        if folder.root.exists():  # an earlier generated edition's folder: replace it whole
            shutil.rmtree(folder.root)
        if task in SENSATION:
            for index in range(n):
                SENSATION[task](folder, index, item_rng(seed, task, index), False)
            for k in range(controls_for(n)):
                rng = item_rng(seed, f"{task}/control", k)
                SENSATION[task](folder, n + k, rng, True)
        else:
            for index in range(n):
                OTHERS[task](folder, index, item_rng(seed, task, index))
        _write_json(folder.root / "data.json", folder.entries)
        if on_progress is not None:
            on_progress(done)
    facts = {
        "generator": "avibench",
        "version": GENERATOR_VERSION,
        "n": n,
        "seed": seed,
        "tasks": chosen,
    }
    _write_json(out / "edition.json", facts)
    return out


def _check_target(out: Path) -> None:
    """Refuse to write into a `levels/` tree this generator did not write (an official
    release, say): regenerating replaces task folders whole."""
    facts = edition_facts(out)
    if (out / "levels").exists() and (facts is None or facts.get("generator") != "avibench"):
        raise ValueError(
            f"{out} already holds a levels/ tree that is not a generated AVI-Bench edition "
            "(no edition.json from this generator); choose another --out"
        )


def edition_facts(out: Path) -> dict[str, Any] | None:
    """The edition.json of a generated edition, or None."""
    path = out / "edition.json"
    if not path.is_file():
        return None
    facts: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return facts


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
