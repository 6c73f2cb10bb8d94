"""Mask artifacts as mask models hand them back (the contract of docs/spatial.md):
one greyscale PNG per object and frame, named `masks/<object>/<frame:05d>.png`, 0 = background,
255 = object, the size of the frame; `meta` says the object, the frame and the size.

Frames are numbered 0.. in the order the request sent them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omnieval.media.encode import encode_png
from omnieval.types import Artifact

PNG_MIME = "image/png"


def mask_name(obj: str, frame: int) -> str:
    return f"masks/{obj}/{frame:05d}.png"


def png_mask(obj: str, frame: int, mask: np.ndarray) -> Artifact:
    """One mask artifact (in flight: its PNG bytes)."""
    array = np.asarray(mask)
    if array.ndim != 2:
        raise ValueError(f"a mask must be 2-D, got shape {array.shape}")
    height, width = array.shape
    return Artifact(
        name=mask_name(obj, frame),
        kind="mask",
        mime=PNG_MIME,
        data=encode_png((array != 0).astype(np.uint8) * 255),
        meta={"object": obj, "frame": frame, "size": [int(height), int(width)]},
    )


def png_masks(obj: str, masks: Sequence[np.ndarray]) -> tuple[Artifact, ...]:
    """One artifact per frame, frame i being `masks[i]`."""
    return tuple(png_mask(obj, i, mask) for i, mask in enumerate(masks))
