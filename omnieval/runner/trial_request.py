"""The request of one trial: the task's request under its condition and replicate, with the run's
generation settings, the answer space of a choice task, and its compact journaled form."""

from __future__ import annotations

from typing import Any

from omnieval.benchmarks.base import Task
from omnieval.runner.transforms import apply_ablations, apply_replicate, split_condition
from omnieval.types import (
    AnswerSpace,
    AudioPart,
    ChoiceTarget,
    GenerationParams,
    ImagePart,
    Replicate,
    Request,
    Sample,
    TextPart,
    TrialContext,
    VideoPart,
)


def trial_sample(task: Task, sample: Sample, replicate: Replicate) -> Sample:
    """The sample as the trial sees it (rotated options, permuted clips)."""
    return apply_replicate(task, sample, replicate)


def build_trial_request(
    task: Task,
    view: Sample,
    condition: str,
    replicate: Replicate,
    generation: GenerationParams,
) -> Request:
    """The request sent for one trial.

    The run's `generation:` settings override the task's defaults field by field (only the
    fields the run sets); a `repeat` replicate k with a seed gets seed + k.
    """
    base, ablations = split_condition(task, condition)
    request = apply_ablations(task.build_request(view, base), ablations)
    update: dict[str, Any] = {}
    chosen = {name: getattr(generation, name) for name in generation.model_fields_set}
    if "extra" in chosen:
        chosen["extra"] = {**request.generation.extra, **generation.extra}
    params = request.generation.model_copy(update=chosen) if chosen else request.generation
    if replicate.scheme == "repeat" and params.seed is not None:
        params = params.model_copy(update={"seed": params.seed + replicate.index})
    if params != request.generation:
        update["generation"] = params
    target = view.target
    if request.answer_space is None and isinstance(target, ChoiceTarget):
        update["answer_space"] = AnswerSpace(labels=target.option_letters(), options=target.options)
    return request.model_copy(update=update) if update else request


def with_target(request: Request, ctx: TrialContext, task: Task) -> Request:
    """The request for a model that reads the per-trial target (the `oracle`)."""
    return request.model_copy(
        update={"target": ctx.target, "reference_answer": task.reference_answer(ctx)}
    )


def compact_request(request: Request) -> dict[str, Any]:
    """What the model saw, small enough to journal per trial: prompt text, system prompt,
    media names with windows, generation settings and any transport notes."""
    parts: list[dict[str, Any]] = []
    for part in request.parts:
        if isinstance(part, TextPart):
            parts.append({"text": part.text})
            continue
        entry: dict[str, Any] = {"kind": part.kind}
        path = getattr(part, "path", None)
        entry["name"] = path.name if path is not None else "inline"
        window = getattr(part, "window", None)
        if window is not None:
            entry["window"] = [window.start, window.end]
        if isinstance(part, VideoPart):
            entry["with_audio"] = part.with_audio
        if isinstance(part, AudioPart) and getattr(part, "layout", None) is not None:
            entry["layout"] = str(part.layout.value if part.layout else None)
        if isinstance(part, ImagePart) and part.data is not None:
            entry["bytes"] = len(part.data)
        parts.append(entry)
    compact: dict[str, Any] = {"parts": parts}
    if request.system:
        compact["system"] = request.system
    compact["generation"] = request.generation.key_dump()
    notes = {k: v for k, v in request.metadata.items() if k in ("dropped", "ablations")}
    if notes:
        compact.update(notes)
    return compact
