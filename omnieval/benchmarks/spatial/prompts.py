"""Requests of the spatial tasks: the frames as an image sequence, then the text.

A QA request's text is upstream's: the question, the options one per line (`A. ...`), and
"Answer with the option's letter from the given choices directly.". A mask request's text is the
referring question itself. `request.metadata["spatial"]` says what a model is asked:
`{"kind": "qa" | "mask", "frames": N, "object": "obj<n>" (mask only)}`.
"""

from __future__ import annotations

from typing import Any

from omnieval.types import ChoiceTarget, ImagePart, Request, Sample, TextPart

QA_INSTRUCTION = "Answer with the option's letter from the given choices directly."


def qa_text(question: str, target: ChoiceTarget) -> str:
    return f"{question}\n" + "\n".join(target.lettered_options()) + f"\n{QA_INSTRUCTION}"


def frames_of(sample: Sample) -> tuple[ImagePart, ...]:
    return tuple(p for p in sample.parts if isinstance(p, ImagePart))


def spatial_metadata(sample: Sample, kind: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"kind": kind, "frames": len(frames_of(sample))}
    if kind == "mask":
        meta["object"] = sample.metadata["object"]
    return {"spatial": meta}


def qa_request(sample: Sample) -> Request:
    assert isinstance(sample.target, ChoiceTarget)
    text = qa_text(str(sample.metadata["question"]), sample.target)
    return Request(
        parts=(*frames_of(sample), TextPart(text=text)), metadata=spatial_metadata(sample, "qa")
    )


def mask_request(sample: Sample) -> Request:
    return Request(
        parts=(*frames_of(sample), TextPart(text=str(sample.metadata["question"]))),
        metadata=spatial_metadata(sample, "mask"),
    )
