"""Input images as real PNGs, without touching the inputs.

Some published question sets hold SVG documents saved under a `.png` name. Upstream converts them
in place (CairoSVG), editing the dataset. Here the file is left alone: its PNG conversion is
written once into the media cache, keyed by the file's content digest, and that path is what
models and judges get.
"""

from __future__ import annotations

import os
from pathlib import Path

from omnieval.media.cache import default_cache_dir
from omnieval.media.digest import file_digest

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ImageInputError(ValueError):
    """An input image is neither a PNG/JPEG nor an SVG (names the file)."""


class NotAnImageError(ImageInputError):
    """The file starts like neither an image nor an SVG (empty, noise, another format)."""


def is_svg(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(1024)
    return not head.startswith(_PNG_MAGIC) and b"<svg" in head.lower()


def real_png(path: Path, cache_dir: Path | None = None) -> Path:
    """`path` itself when it is a raster image; else its PNG conversion in the cache."""
    with path.open("rb") as fh:
        head = fh.read(1024)
    if head.startswith(_PNG_MAGIC) or head[:3] == b"\xff\xd8\xff":
        return path
    if b"<svg" not in head.lower():
        raise NotAnImageError(f"{path} is neither a PNG image nor an SVG document")
    root = (cache_dir or default_cache_dir()) / "vmeval-svg"
    out = root / f"{file_digest(path)}.png"
    if out.is_file():
        return out
    try:
        import cairosvg
    except ImportError as err:  # pragma: no cover - the vmeval extra installs it
        raise ImageInputError(
            f"{path} is an SVG saved as .png; converting it needs cairosvg "
            "(pip install 'omnieval[vmeval]')"
        ) from err
    root.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{os.getpid()}-{out.name}")
    try:
        cairosvg.svg2png(bytestring=path.read_bytes(), write_to=str(tmp))
    except Exception as err:
        tmp.unlink(missing_ok=True)
        raise ImageInputError(f"cannot convert the SVG in {path}: {err}") from err
    os.replace(tmp, out)
    return out
