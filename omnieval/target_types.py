"""What a sample expects: its target (a choice, text, a number, boxes, masks, an ordering, a
video). Re-exported by `omnieval.types`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from omnieval.frozen import Frozen


class ChoiceTarget(Frozen):
    """A multiple-choice answer: `answer` is the correct letter, `options` the option texts."""

    kind: Literal["choice"] = "choice"
    answer: str
    options: tuple[str, ...]
    letters: tuple[str, ...] = ()

    def option_letters(self) -> tuple[str, ...]:
        return self.letters or tuple(chr(ord("A") + i) for i in range(len(self.options)))

    def lettered_options(self) -> list[str]:
        """The options as `X. text` lines, in order."""
        return [
            f"{letter}. {text}"
            for letter, text in zip(self.option_letters(), self.options, strict=True)
        ]


class TextTarget(Frozen):
    kind: Literal["text"] = "text"
    references: tuple[str, ...]


class NumberTarget(Frozen):
    kind: Literal["number"] = "number"
    value: float
    tolerance: float = 0.0


class DictTarget(Frozen):
    kind: Literal["dict"] = "dict"
    value: dict[str, Any]


class Box(Frozen):
    """An axis-aligned box in pixels (or seconds, for a temporal span with y0 = y1 = 0)."""

    x0: float
    y0: float
    x1: float
    y1: float
    label: str | None = None


class BoxesTarget(Frozen):
    kind: Literal["boxes"] = "boxes"
    boxes: tuple[Box, ...]


class MasksTarget(Frozen):
    """Per-frame segmentation masks, stored as files (PNG) or run-length strings."""

    kind: Literal["masks"] = "masks"
    paths: tuple[Path, ...] = ()
    rle: tuple[str, ...] = ()


class OrderingTarget(Frozen):
    kind: Literal["ordering"] = "ordering"
    order: tuple[str, ...]


class VideoTarget(Frozen):
    kind: Literal["video"] = "video"
    final_frame: Path | None = None
    reference_video: Path | None = None


Target = Annotated[
    ChoiceTarget
    | TextTarget
    | NumberTarget
    | DictTarget
    | BoxesTarget
    | MasksTarget
    | OrderingTarget
    | VideoTarget,
    Field(discriminator="kind"),
]
