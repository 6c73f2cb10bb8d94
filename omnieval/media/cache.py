"""A content-addressed, on-disk cache of decoded media (frames, audio clips).

An entry's key is the sha256 of (file content digest, kind, spec as JSON, cache format version):
moving or renaming a file keeps its entries, editing it orphans them, and a different spec is a
different entry. Each entry is one file, `<dir>/<key[:2]>/<key>.npys`: a sequence of standard
`.npy` records (first the array names, then the arrays; no pickles), which loads about 4x faster
than an `.npz` (no zip CRC pass). It is written to a unique temporary file in the same directory
and renamed into place with
`os.replace`, so readers see either nothing or the whole entry: a process killed mid-write leaves
only a `.tmp-*` file (ignored, and removed by `clear()`), and any number of threads and processes
may read and write the same directory at once (two writers of one key write equal content; the
last rename wins). An entry that fails to load (disk corruption) is deleted and treated as a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
from pydantic import BaseModel

from omnieval.media.digest import file_digest

#: Bump when decoding changes what an entry would hold; old entries are then never hit.
CACHE_FORMAT = 1
_SUFFIX = ".npys"
_TMP_PREFIX = ".tmp-"


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/omnieval/media`, else `~/.cache/omnieval/media`."""
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "omnieval" / "media"


class MediaCache:
    """Decoded media on disk, addressed by file content and spec. See the module docstring."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"MediaCache({str(self.directory)!r})"

    # ------------------------------------------------------------------ keys and paths

    def key(self, path: str | os.PathLike[str], kind: str, spec: BaseModel) -> str:
        """The entry key for decoding `path` as `kind` ("frames", "audio") with `spec`."""
        payload = {
            "format": CACHE_FORMAT,
            "digest": file_digest(path),
            "kind": kind,
            "spec": spec.model_dump(mode="json"),
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def entry_path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}{_SUFFIX}"

    # ------------------------------------------------------------------ read / write

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under `key`, or None on a miss (or a damaged entry, then removed)."""
        path = self.entry_path(key)
        try:
            with path.open("rb") as fh:
                names = np.lib.format.read_array(fh, allow_pickle=False)
                if names.ndim != 1 or names.dtype.kind != "U":
                    raise ValueError("not a cache entry")
                arrays = {str(n): np.lib.format.read_array(fh, allow_pickle=False) for n in names}
                if fh.read(1):
                    raise ValueError("trailing bytes")
                return arrays
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError):
            path.unlink(missing_ok=True)
            return None

    def store(self, key: str, arrays: dict[str, np.ndarray]) -> Path:
        """Write `arrays` under `key` atomically; return the entry's path."""
        path = self.entry_path(key)
        for attempt in range(3):
            try:
                self._write(path, arrays)
                return path
            except FileNotFoundError:
                # A concurrent clear() removed the directory under us; make it again.
                if attempt == 2:
                    raise
        return path

    @staticmethod
    def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_SUFFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.lib.format.write_array(fh, np.array(list(arrays), dtype=np.str_))
                for array in arrays.values():
                    np.lib.format.write_array(fh, np.asarray(array), allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __contains__(self, key: str) -> bool:
        return self.entry_path(key).is_file()

    # ------------------------------------------------------------------ housekeeping

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return [p for p in self.directory.glob("*/*") if p.is_file()]

    def entries(self) -> int:
        """Number of complete entries."""
        return sum(1 for p in self._files() if not p.name.startswith(_TMP_PREFIX))

    def size_bytes(self) -> int:
        """Bytes on disk used by the cache (entries and leftover temporary files)."""
        total = 0
        for p in self._files():
            try:
                total += p.stat().st_size
            except FileNotFoundError:  # removed by a concurrent clear()
                continue
        return total

    def clear(self) -> int:
        """Delete every entry (and leftover temporary file); return the bytes freed."""
        freed = self.size_bytes()
        if self.directory.is_dir():
            for sub in self.directory.iterdir():
                if sub.is_dir() and len(sub.name) == 2:
                    shutil.rmtree(sub, ignore_errors=True)
        return freed


class CacheableMedia(Protocol):
    """Decoded media that can be stored as named arrays (`AudioClip`, `Frames`)."""

    def to_arrays(self) -> dict[str, np.ndarray]: ...


Decoded = TypeVar("Decoded", bound=CacheableMedia)
Spec = TypeVar("Spec", bound=BaseModel)


def read_through(
    cache: MediaCache | None,
    path: Path,
    kind: str,
    spec: Spec,
    decode: Callable[[Path, Spec], Decoded],
    from_arrays: Callable[[dict[str, np.ndarray]], Decoded],
) -> Decoded:
    """`decode(path, spec)`, through `cache` when there is one: an entry of this (file, kind,
    spec) is read instead of decoding, and a fresh decode is stored."""
    if cache is None:
        return decode(path, spec)
    key = cache.key(path, kind, spec)
    hit = cache.load(key)
    if hit is not None:
        return from_arrays(hit)
    decoded = decode(path, spec)
    cache.store(key, decoded.to_arrays())
    return decoded
