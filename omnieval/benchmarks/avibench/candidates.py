"""Candidate answers for AVI-Bench requests without an option list, in each task's answer format.

They fill a `structured` answer space, so the `random` and `constant` baselines can answer
counting, localisation, retrieval and caption tasks (and option-less counting questions): a
handful of plausible, content-blind answers, the first one being `constant`'s. They are not an
exhaustive answer space and give no chance level.
"""

from __future__ import annotations

from typing import Any

from omnieval.benchmarks.avibench.layout import Shape
from omnieval.types import AudioPart, ImagePart, Sample

#: list entries that are not classes ("not sure", "no available option" and misspellings)
_NOT_CLASSES = ("not sure", "no avail")
#: a centred box covering the middle quarter of the picture, normalised xyxy
CENTRED_BOX = [0.25, 0.25, 0.75, 0.75]
#: digit answers offered for option-less counting questions
DIGITS = ("0", "1", "2", "3")
CAPTIONS = (
    "An object makes a sound while something moves in the video.",
    "A sound is heard and a shape is seen.",
)
#: at most this many single-class box candidates
_BOX_CLASSES = 3


def class_names(options: Any) -> list[str]:
    """The class list of a counting or localisation entry, without the non-answers."""
    if not isinstance(options, list | tuple):
        return []
    names = [str(o) for o in options]
    return [n for n in dict.fromkeys(names) if not n.lower().startswith(_NOT_CLASSES)]


def structured_candidates(shape: Shape, task: str, sample: Sample) -> tuple[str, ...]:
    """A few answers in the format `shape` asks for, the first the `constant` baseline's."""
    options = sample.metadata.get("options")
    classes = class_names(options)
    if shape == "choice" and isinstance(options, str):  # options as literal text: its parts
        parts = [part.strip(" []'\"") for part in options.split(",")]
        return tuple(dict.fromkeys(part for part in parts if part)) or (options,)
    if shape == "choice":  # a question without an option list: a count
        return DIGITS
    if shape == "counts":
        zero = {name: 0 for name in classes}
        candidates = [repr(zero)]
        if classes:
            candidates += [repr({name: 1 for name in classes}), repr({classes[0]: 1})]
        return tuple(candidates)
    if shape == "boxes":
        names = classes[:_BOX_CLASSES] or ["object"]
        return tuple(repr({f"{name}_1": CENTRED_BOX}) for name in names)
    if shape == "frames":
        frames = sum(isinstance(p, ImagePart) for p in sample.parts) or 10
        keys = [f"frame_{i}" for i in range(frames)]
        return (repr(dict.fromkeys(keys)), repr({k: CENTRED_BOX for k in keys}))
    if shape == "indices":
        kind = AudioPart if task == "VAR" else ImagePart
        items = sum(isinstance(p, kind) for p in sample.parts)
        lists: list[list[int]] = [[0], [1], [0, 1], []]
        return tuple(repr(x) for x in lists if all(i < max(items, 1) for i in x))
    if shape == "caption":
        return CAPTIONS
    return ()
