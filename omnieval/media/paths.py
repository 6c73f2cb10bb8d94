"""Where a dataset's media files may live: inside the dataset's root, unless allowed otherwise.

A dataset names its media with paths relative to a root (V-SYNC: the video directory; `mcq`: the
JSONL file's directory). A path that leaves the root (`../../secret.wav`, an absolute path, or a
symlink that resolves outside) would be read, and with a native transport its bytes uploaded to
a remote API; loaders refuse it unless the benchmark says `allow_outside_paths: true`.
"""

from __future__ import annotations

import os
from pathlib import Path


class OutsideRootError(ValueError):
    """A dataset media path leaves the dataset root; `path`, `root` and `resolved` say where."""

    def __init__(self, path: Path, root: Path, resolved: Path) -> None:
        self.path = path
        self.root = root
        self.resolved = resolved
        super().__init__(
            f"media path {str(path)!r} resolves to {resolved}, outside the dataset root {root}; "
            "move the file under the root, or set `allow_outside_paths: true` in the "
            "benchmark's args if reading (and sending) files from elsewhere is intended"
        )


def dataset_media_path(
    root: str | os.PathLike[str], name: str | os.PathLike[str], allow_outside: bool = False
) -> Path:
    """`root / name`, checked to stay inside `root` after resolving `..` and symlinks (the file
    need not exist yet). Raises `OutsideRootError` unless `allow_outside`."""
    base = Path(root)
    path = base / name  # an absolute `name` replaces the root, as in pathlib
    if allow_outside:
        return path
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):
        # a symlink loop (RuntimeError before Python 3.13) resolves nowhere, so it cannot lead
        # out of the root; the media check reports the file as unreadable, naming it
        return path
    real_root = base.resolve()
    if resolved != real_root and not resolved.is_relative_to(real_root):
        raise OutsideRootError(Path(name), base, resolved)
    return path
