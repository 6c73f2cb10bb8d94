"""Generic transforms usable on any task without editing it.

Conditions (reported columns) -- a task's own conditions, plus modality ablations applied to the
request the task built, composable with `+` (`avt+no-images`):

- `no-audio`: audio parts dropped, videos sent without their soundtrack;
- `no-frames`: video frames dropped (a video's soundtrack stays, as an audio part);
- `no-images`: image parts dropped;
- `text-only`: every media part dropped.

The dropped parts are recorded in `request.metadata["dropped"]`.

Replicates (pooled into one item score):

- `rotation`: circular option rotation of a choice target (all rotations, or the first k);
- `permutation`: clip-order permutations, round robin (permutation k shifts the clips by k);
- `repeat`: k identical copies (with `generation.seed` + k when a seed is set).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from omnieval.benchmarks.base import Task
from omnieval.config import ReplicateSpec
from omnieval.types import (
    NO_REPLICATE,
    AudioPart,
    ChoiceTarget,
    ImagePart,
    Part,
    Replicate,
    Request,
    Sample,
    TextPart,
    VideoPart,
)

ABLATIONS = ("no-audio", "no-frames", "no-images", "text-only")


class TransformError(ValueError):
    """A condition or replicate scheme cannot be applied to a task or sample."""


# --------------------------------------------------------------------------- conditions


def split_condition(task: Task, condition: str) -> tuple[str, tuple[str, ...]]:
    """(the task's own condition, the generic ablations on top of it)."""
    tokens = [t.strip() for t in condition.split("+") if t.strip()]
    if not tokens:
        raise TransformError(f"task {task.name}: empty condition")
    if tokens[0] in ABLATIONS:
        base, ablations = task.default_conditions[0], tokens
    else:
        base, ablations = tokens[0], tokens[1:]
    if base not in task.conditions:
        raise TransformError(
            f"task {task.name} has no condition {base!r}; it offers {list(task.conditions)} "
            f"and the generic ablations {list(ABLATIONS)} (combine with '+', e.g. "
            f"{task.conditions[0]}+no-audio)"
        )
    unknown = [a for a in ablations if a not in ABLATIONS]
    if unknown:
        raise TransformError(
            f"unknown ablation(s) {unknown} in condition {condition!r}; known: {list(ABLATIONS)}"
        )
    return base, tuple(ablations)


def _drop(part: Part, ablation: str) -> tuple[Part | None, str | None]:
    """The part after one ablation (None if dropped) and a note of what was dropped."""
    if ablation == "text-only":
        return (part, None) if isinstance(part, TextPart) else (None, _describe(part))
    if ablation == "no-images" and isinstance(part, ImagePart):
        return None, _describe(part)
    if ablation == "no-audio":
        if isinstance(part, AudioPart):
            return None, _describe(part)
        if isinstance(part, VideoPart) and part.with_audio:
            return part.model_copy(update={"with_audio": False}), f"soundtrack of {_name(part)}"
    if ablation == "no-frames" and isinstance(part, VideoPart):
        if part.with_audio:
            return AudioPart(path=part.path, window=part.window), f"frames of {_name(part)}"
        return None, _describe(part)
    return part, None


def _name(part: Part) -> str:
    path = getattr(part, "path", None)
    return path.name if path is not None else "inline data"


def _describe(part: Part) -> str:
    return f"{part.kind} {_name(part)}"


def apply_ablations(request: Request, ablations: Sequence[str]) -> Request:
    if not ablations:
        return request
    parts: list[Part] = []
    dropped: list[str] = list(request.metadata.get("dropped", []))
    for part in request.parts:
        current: Part | None = part
        for ablation in ablations:
            if current is None:
                break
            current, note = _drop(current, ablation)
            if note:
                dropped.append(note)
        if current is not None:
            parts.append(current)
    metadata = {**request.metadata, "dropped": dropped, "ablations": list(ablations)}
    return request.model_copy(update={"parts": tuple(parts), "metadata": metadata})


# --------------------------------------------------------------------------- replicates


@lru_cache(maxsize=64)
def _rotations(count: int) -> tuple[Replicate, ...]:
    """The `count` rotation replicates, built once and shared (they are frozen): a million-trial
    plan would otherwise validate one per trial."""
    return tuple(Replicate(scheme="rotation", index=i, params={"shift": i}) for i in range(count))


def replicates_for(spec: ReplicateSpec | None, task: Task, sample: Sample) -> list[Replicate]:
    """The replicate set of one item (it may differ per sample: 3 options give 3 rotations)."""
    if spec is None or spec.scheme == "none":
        return [NO_REPLICATE]
    own = task.replicate_set(spec.scheme, spec.k, sample)
    if own is not None:
        return own
    if spec.scheme == "rotation":
        target = sample.target
        if not isinstance(target, ChoiceTarget):
            raise TransformError(
                f"rotation needs a choice target; sample {sample.id} of task {task.name} has a "
                f"{target.kind} target"
            )
        count = _count(spec.k, len(target.options))
        return list(_rotations(count))
    if spec.scheme == "permutation":
        clips = sum(1 for p in sample.parts if isinstance(p, AudioPart))
        if clips < 2:
            raise TransformError(
                f"permutation needs at least two clips (audio parts); sample {sample.id} of "
                f"task {task.name} has {clips}"
            )
        count = _count(spec.k, clips)
        return [
            Replicate(
                scheme="permutation",
                index=i,
                params={"order": [(j + i) % clips for j in range(clips)]},
            )
            for i in range(count)
        ]
    count = _count(spec.k, None)
    return [Replicate(scheme="repeat", index=i, params={"repeat": i}) for i in range(count)]


def _count(k: int | str, natural: int | None) -> int:
    if k == "all":
        if natural is None:
            raise TransformError("repeat needs a number k, not 'all'")
        return natural
    assert isinstance(k, int)
    return k if natural is None else min(k, natural)


def rotate_choice(target: ChoiceTarget, shift: int) -> ChoiceTarget:
    """Options moved up by `shift` places (option i shows what was option i + shift)."""
    n = len(target.options)
    letters = target.option_letters()
    answer_index = letters.index(target.answer)
    options = tuple(target.options[(i + shift) % n] for i in range(n))
    return target.model_copy(
        update={"options": options, "answer": letters[(answer_index - shift) % n]}
    )


def apply_replicate(task: Task, sample: Sample, replicate: Replicate) -> Sample:
    """The sample as this replicate's trial sees it (its per-trial target included)."""
    if replicate.scheme == "rotation":
        shift = int(replicate.params["shift"])
        if shift == 0:
            return sample
        assert isinstance(sample.target, ChoiceTarget)
        return sample.model_copy(update={"target": rotate_choice(sample.target, shift)})
    if replicate.scheme == "permutation":
        return task.permute(sample, [int(i) for i in replicate.params["order"]])
    return sample


def replicate_from_journal(label: str, params: dict[str, Any]) -> Replicate:
    """Rebuild a journaled trial's replicate from its label and parameters."""
    if not label:
        return NO_REPLICATE
    for scheme in ("rotation", "permutation", "repeat"):
        if label.startswith(scheme) and label[len(scheme) :].isdigit():
            return Replicate(scheme=scheme, index=int(label[len(scheme) :]), params=params)
    raise TransformError(f"journaled replicate {label!r} is not one this omnieval knows")
