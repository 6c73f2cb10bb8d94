"""Content digests of media files, memoised so that re-planning a large run does not re-hash.

A digest is the sha256 of the file's bytes. It is remembered in-process under (absolute path,
size, mtime_ns): a file that is rewritten in place gets a new mtime and is hashed again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from omnieval.media.errors import check_file

_CHUNK = 1 << 20
_lock = threading.Lock()
_memo: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of the file's content (memoised by path, size and mtime).

    Raises `MediaError` when the file is missing or empty.
    """
    p = check_file(path)
    resolved = str(p.resolve())
    st = os.stat(resolved)
    key = (resolved, st.st_size, st.st_mtime_ns)
    with _lock:
        cached = _memo.get(key)
    if cached is not None:
        return cached
    digest = _hash_file(Path(resolved))
    with _lock:
        _memo[key] = digest
    return digest


def _hash_file(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def clear_digest_memo() -> None:
    """Forget every memoised digest (tests; long-lived processes after bulk file changes)."""
    with _lock:
        _memo.clear()
