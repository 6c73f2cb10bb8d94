"""STAR-Bench's circular ("robust") evaluation as Core v2 replicates.

Upstream runs each item several times under a `rotate_id` r:

- perception and spatial items: the options are rotated right by r (the last r options move to
  the front) and the answer letter follows the answer text. Perception runs r = 0 .. n-1 (one
  run per option), spatial reasoning r = 0, 1, 2 (three runs whatever the option count).
  A right rotation by r is this framework's rotation `shift` (n - r) mod n; for r > n upstream's
  slices leave the options as they are (`upstream_shift`).
- temporal items: the options stay fixed and the three clips are shown in another order: the
  permutation with index (subid + (r mod 6 + s) mod 6) mod 6 among the six orders of (1, 2, 3)
  in lexicographic order, where s is the index of the id's sub-category in
  (OSM, ISSE, TAO, DSS, ETC) and subid the id's trailing number. The right option is the
  presentation labels written in chronological order ("clip 2 -> clip 3 -> clip 1").

Even a single run (robust evaluation off, r = 0) shows the clips in the r = 0 order, so the
loader's canonical temporal sample is already presented that way; `present_clips` re-presents a
sample in any order of its chronological clips.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omnieval.types import AudioPart, ChoiceTarget, Part, Replicate, Sample

#: the six orders of (1, 2, 3), lexicographic, as upstream indexes them
PERMUTATIONS: tuple[tuple[int, ...], ...] = tuple(itertools.permutations((1, 2, 3)))
SUBCATEGORIES = ("OSM", "ISSE", "TAO", "DSS", "ETC")
#: upstream's run counts: perception one per option (None), reasoning three
RUNS = {"perception": None, "spatial": 3, "temporal": 3}


def upstream_permutation(subcategory: str, subid: int, rotate_id: int) -> tuple[int, ...]:
    """The 1-based chronological clip shown in each slot, as upstream computes it."""
    offset = (rotate_id % 6 + SUBCATEGORIES.index(subcategory)) % 6
    return PERMUTATIONS[(subid + offset) % 6]


def upstream_clip_order(sample: Sample, rotate_id: int) -> list[int]:
    """Slot i shows chronological clip `order[i]` (0-based) in upstream run `rotate_id`."""
    shown = upstream_permutation(
        str(sample.metadata["subcat_code"]), int(sample.metadata["subid"]), rotate_id
    )
    return [k - 1 for k in shown]


def ordering_answer(order: Sequence[int]) -> str:
    """The option text that is right when slot i shows chronological clip `order[i]`."""
    labels = [order.index(k) + 1 for k in range(len(order))]
    return " -> ".join(f"clip {label}" for label in labels)


def present_clips(sample: Sample, order: Sequence[int]) -> Sample:
    """`sample` with slot i showing chronological clip `order[i]` and the answer letter of the
    option that names that presentation; raises ValueError if no option does."""
    clips: list[str] = list(sample.metadata["clip_paths"])
    if sorted(order) != list(range(len(clips))):
        raise ValueError(f"{list(order)} is not an order of {len(clips)} clips")
    target = sample.target
    assert isinstance(target, ChoiceTarget)
    answer = ordering_answer(order)
    if answer not in target.options:
        raise ValueError(
            f"the clip order {[k + 1 for k in order]} needs the option {answer!r}, which is not "
            f"among {list(target.options)}"
        )
    letters = target.option_letters()
    parts: list[Part] = [AudioPart(path=Path(clips[k])) for k in order]
    parts += list(sample.parts[len(clips) :])  # the uncut audio of tr_uncut, if any
    metadata: dict[str, Any] = {**sample.metadata, "clip_order": [k + 1 for k in order]}
    return sample.model_copy(
        update={
            "parts": tuple(parts),
            "target": target.model_copy(update={"answer": letters[target.options.index(answer)]}),
            "metadata": metadata,
        }
    )


def upstream_shift(n_options: int, rotate_id: int) -> int:
    """Our rotation `shift` for upstream's run `rotate_id`: upstream shows
    `options[-r:] + options[:-r]`, a right rotation by r = our shift (n - r) mod n while r <= n.
    For r > n both slices clamp (the whole list, then nothing): no rotation at all. Upstream's
    own runner never gets there (r < n for perception, r < 3 for spatial), but an explicit
    `replicates: {k: ...}` larger than that does, and gets what upstream's function returns."""
    if rotate_id > n_options:
        return 0
    return (n_options - rotate_id) % n_options


def rotation_replicates(n_options: int, runs: int) -> list[Replicate]:
    """Upstream runs r = 0 .. runs-1 as rotations (`upstream_shift`)."""
    return [
        Replicate(
            scheme="rotation",
            index=r,
            params={"shift": upstream_shift(n_options, r), "rotate_id": r},
        )
        for r in range(runs)
    ]


def permutation_replicates(sample: Sample, runs: int) -> list[Replicate]:
    """Upstream runs r = 0 .. runs-1 as clip permutations of a temporal sample."""
    return [
        Replicate(
            scheme="permutation",
            index=r,
            params={"order": upstream_clip_order(sample, r), "rotate_id": r},
        )
        for r in range(runs)
    ]
