"""Segmentation masks as model output: per-frame, per-object binary masks carried as artifacts.

The contract a mask-producing model follows (docs/spatial.md, "Masks as model output"):

- it declares `ModelCapabilities(output="masks")` (`MASK_OUTPUT`);
- for frame `i` of the request's image sequence (0-based, in the order the frames were sent)
  and object `obj`, it returns one artifact named `masks/<obj>/<i:05d>.png` (`mask_name`):
  a greyscale PNG, nonzero = object, of the frame's size (`png_mask_artifact`), or
- one run-length artifact per object, `masks/<obj>.rle.json` (`rle_mask_artifact`):
  `{"size": [H, W], "frames": {"<i>": "<counts>"}}` where counts are the lengths of
  alternating runs over the row-major flattened mask, starting with a run of zeros;
- `obj` is the request's `metadata["spatial"]["object"]` (`"obj<n>"`); a model that returns a
  single object under another name is read as that object;
- a frame with no artifact is an empty prediction (the default scoring penalises it).

The runner stores the artifacts by reference (run-relative path, sha256, size); `read_masks`
turns stored or in-flight artifacts back into arrays.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from omnieval.types import Artifact

MASK_OUTPUT = "masks"
PNG_MIME = "image/png"
RLE_MIME = "application/vnd.omnieval.rle+json"
_PNG_NAME = re.compile(r"^masks/([^/]+)/(\d+)\.png$")
_RLE_NAME = re.compile(r"^masks/([^/]+)\.rle\.json$")

#: bytes of an artifact (stored file or in-flight data), given the artifact
ReadBytes = Callable[[Artifact], bytes]
#: object name -> frame index -> boolean mask
MaskSet = dict[str, dict[int, np.ndarray]]


class MaskFormatError(ValueError):
    """A mask artifact cannot be read (bad name, bad PNG, bad run-length data)."""


def mask_name(obj: str, frame: int) -> str:
    """The artifact name of object `obj`'s mask on frame `frame` (PNG form)."""
    return f"masks/{obj}/{frame:05d}.png"


def pil_image() -> Any:
    """`PIL.Image`, or an ImportError that names the extra to install."""
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError(
            "the spatial benchmark reads and writes images with Pillow: "
            "pip install 'omnieval[spatial]'"
        ) from err
    return Image


def encode_png(mask: np.ndarray) -> bytes:
    """A boolean (or 0/nonzero) 2-D mask as an 8-bit greyscale PNG (0 / 255)."""
    Image = pil_image()

    array = np.asarray(mask)
    if array.ndim != 2:
        raise MaskFormatError(f"a mask must be 2-D, got shape {array.shape}")
    buffer = io.BytesIO()
    Image.fromarray((array != 0).astype(np.uint8) * 255, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def decode_image_mask(data: bytes, where: str = "mask") -> np.ndarray:
    """A PNG or JPEG mask as a boolean array (nonzero after conversion to greyscale)."""
    Image = pil_image()
    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("L")) > 0
    except OSError as err:  # PIL's UnidentifiedImageError is an OSError
        raise MaskFormatError(f"{where}: not a readable image ({err})") from err


def read_mask_file(path: Path) -> np.ndarray:
    """A mask file on disk as a boolean array; the error names the file."""
    return decode_image_mask(path.read_bytes(), str(path))


def encode_rle(mask: np.ndarray) -> str:
    """Run lengths of the row-major flattened mask, alternating zeros/ones, zeros first."""
    flat = (np.asarray(mask) != 0).ravel().astype(np.int8)
    if flat.size == 0:
        return ""
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0] == 1:
        runs = [0, *runs]
    return " ".join(str(r) for r in runs)


def decode_rle(counts: str, size: Sequence[int], where: str = "rle") -> np.ndarray:
    height, width = int(size[0]), int(size[1])
    try:
        runs = [int(c) for c in counts.split()] if counts.strip() else []
    except ValueError as err:
        raise MaskFormatError(f"{where}: run lengths must be integers") from err
    if any(r < 0 for r in runs) or sum(runs) != height * width:
        raise MaskFormatError(
            f"{where}: run lengths sum to {sum(runs)}, the mask has {height * width} pixels"
        )
    values = np.zeros(len(runs), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    return flat.reshape(height, width)


def png_mask_artifact(obj: str, frame: int, mask: np.ndarray) -> Artifact:
    height, width = np.asarray(mask).shape[:2]
    return Artifact(
        name=mask_name(obj, frame),
        kind="mask",
        mime=PNG_MIME,
        data=encode_png(mask),
        meta={"object": obj, "frame": frame, "size": [int(height), int(width)]},
    )


def rle_mask_artifact(obj: str, frames: dict[int, np.ndarray]) -> Artifact:
    sizes = {tuple(np.asarray(m).shape) for m in frames.values()}
    if len(sizes) > 1:
        raise MaskFormatError(f"object {obj}: run-length frames must share one size, got {sizes}")
    size = list(sizes.pop()) if sizes else [0, 0]
    body = {
        "size": [int(s) for s in size],
        "frames": {str(i): encode_rle(m) for i, m in sorted(frames.items())},
    }
    return Artifact(
        name=f"masks/{obj}.rle.json",
        kind="mask",
        mime=RLE_MIME,
        data=json.dumps(body, separators=(",", ":")).encode(),
        meta={"object": obj, "frames": len(frames)},
    )


def mask_artifacts(masks: MaskSet, encoding: str = "png") -> tuple[Artifact, ...]:
    """Artifacts for a whole mask set: `png` (one file per frame and object) or `rle`."""
    if encoding not in ("png", "rle"):
        raise ValueError(f"mask encoding must be 'png' or 'rle', not {encoding!r}")
    out: list[Artifact] = []
    for obj, frames in masks.items():
        if encoding == "rle":
            out.append(rle_mask_artifact(obj, frames))
        else:
            out += [png_mask_artifact(obj, i, m) for i, m in sorted(frames.items())]
    return tuple(out)


def artifact_reader(run_dir: Path | None) -> ReadBytes:
    """Bytes of an artifact: in-flight data, its source file, or the stored file under
    `run_dir` (whose path must stay inside it)."""

    def read(artifact: Artifact) -> bytes:
        if artifact.data is not None:
            return artifact.data
        if artifact.source is not None:
            return Path(artifact.source).read_bytes()
        if artifact.path is None:
            raise MaskFormatError(f"artifact {artifact.name!r} has neither bytes nor a path")
        if run_dir is None:
            raise MaskFormatError(
                f"artifact {artifact.name!r} is stored ({artifact.path}) but no run directory "
                "was given to read it from"
            )
        relative = PurePosixPath(artifact.path)
        if relative.is_absolute() or ".." in relative.parts:
            raise MaskFormatError(f"artifact {artifact.name!r}: path {artifact.path!r} escapes")
        data = (Path(run_dir) / Path(*relative.parts)).read_bytes()
        if artifact.sha256 is not None and hashlib.sha256(data).hexdigest() != artifact.sha256:
            raise MaskFormatError(
                f"artifact {artifact.name!r}: {artifact.path} does not match its sha256"
            )
        return data

    return read


def read_masks(
    artifacts: Iterable[Artifact],
    read: ReadBytes,
    target_names: Sequence[str] = (),
    target_frames: Sequence[int] = (),
    target_object: str = "target",
) -> MaskSet:
    """The masks carried by `artifacts`, by object and frame.

    Besides the two documented forms, an artifact named exactly like the k-th ground-truth file
    (`target_names[k]`, e.g. what the `oracle` hands back) is frame `target_frames[k]` of
    `target_object`. Other artifacts (not masks) are ignored.
    """
    by_target = {name: k for k, name in enumerate(target_names)}
    masks: MaskSet = {}
    for artifact in artifacts:
        name = artifact.name
        png = _PNG_NAME.match(name)
        rle = _RLE_NAME.match(name)
        if png:
            obj, frame = png.group(1), int(png.group(2))
            masks.setdefault(obj, {})[frame] = decode_image_mask(read(artifact), name)
        elif rle:
            _read_rle(masks, rle.group(1), read(artifact), name)
        elif name in by_target and by_target[name] < len(target_frames):
            frame = target_frames[by_target[name]]
            masks.setdefault(target_object, {})[frame] = decode_image_mask(read(artifact), name)
    return masks


def _read_rle(masks: MaskSet, obj: str, data: bytes, name: str) -> None:
    try:
        body: Any = json.loads(data)
        size = body["size"]
        frames = body["frames"]
    except (ValueError, KeyError, TypeError) as err:
        raise MaskFormatError(f"{name}: not a run-length mask file ({err})") from err
    for key, counts in frames.items():
        masks.setdefault(obj, {})[int(key)] = decode_rle(str(counts), size, f"{name} frame {key}")


def object_masks(masks: MaskSet, obj: str) -> dict[int, np.ndarray]:
    """The frames of `obj`, or of the only object returned when it goes by another name."""
    if obj in masks:
        return masks[obj]
    if len(masks) == 1:
        return next(iter(masks.values()))
    return {}


def artifact_refs(artifacts: Iterable[Artifact]) -> list[dict[str, Any]]:
    """Small, journal-safe references to mask artifacts (name, stored path, sha256)."""
    return [
        {"name": a.name, "path": a.path, "sha256": a.sha256}
        for a in artifacts
        if a.kind == "mask" or a.name.startswith("masks/") or a.mime.startswith("image/")
    ]


def from_refs(refs: Iterable[dict[str, Any]]) -> list[Artifact]:
    return [
        Artifact(name=str(r["name"]), path=r.get("path"), sha256=r.get("sha256"), kind="mask")
        for r in refs
    ]
