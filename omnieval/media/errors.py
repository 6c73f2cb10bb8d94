"""The one exception media code raises, and the boundary that turns PyAV errors into it.

Every failure to read a media file becomes a `MediaError` that names the file, says what is wrong
and what to do. Raw `av` exceptions never escape this package: `translate_av_errors` wraps every
block that touches PyAV.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import av

#: What can be wrong with a media file (or with what was asked of it).
MediaProblemKind = Literal[
    "missing", "empty", "undecodable", "no_video", "no_audio", "window", "channels"
]

_HINTS: dict[str, str] = {
    "missing": "check the path (relative paths resolve against the working directory) or "
    "download / regenerate the benchmark data",
    "empty": "the file has 0 bytes, probably an interrupted download or copy; fetch it again",
    "undecodable": "the file is corrupt, truncated or not a media file; fetch it again, and run "
    "`omnieval doctor` to list every such file before a run",
    "no_video": "the file has no video stream; use it as an audio part, or check the path",
    "no_audio": "the file has no audio stream; drop the audio part (or set with_audio=False on "
    "the video part), or check the path",
    "window": "check the sample's time window against the file's duration",
    "channels": "the audio's channels do not allow what is asked: check the part's `layout` and "
    "`channel` (leave `layout` unset: it is probed) and the model's audio channel policy",
}

#: Exceptions PyAV (and the file system under it) raises while opening or decoding.
AV_ERRORS: tuple[type[BaseException], ...] = (
    av.FFmpegError,
    OSError,
    EOFError,
    UnicodeDecodeError,
)


class MediaError(Exception):
    """A media file cannot be used: missing, empty, undecodable, or lacking the stream asked for.

    `str(error)` reads "<path>: <what is wrong>. <what to do>". The parts are also attributes:
    `path`, `problem` (one of `MediaProblemKind`), `detail` and `hint`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        problem: MediaProblemKind,
        detail: str,
        hint: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.problem: MediaProblemKind = problem
        self.detail = detail
        self.hint = hint if hint is not None else _HINTS[problem]
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}. To fix: {self.hint}"

    def __reduce__(self) -> tuple[type[MediaError], tuple[Path, str, str, str]]:
        # Keeps the error intact across process pools (pickle calls the class with these args).
        return (type(self), (self.path, self.problem, self.detail, self.hint))


def check_file(path: str | os.PathLike[str]) -> Path:
    """Raise `MediaError` if `path` is missing, not a regular file, or empty; return it as Path."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaError(p, "missing", "file not found") from None
    except OSError as exc:
        raise MediaError(p, "missing", f"cannot access the file ({exc.strerror})") from None
    if not p.is_file():
        raise MediaError(p, "missing", "not a regular file (a directory?)")
    if st.st_size == 0:
        raise MediaError(p, "empty", "the file is empty (0 bytes)")
    return p


def describe_av_error(exc: BaseException) -> str:
    """A short human description of a PyAV / OS error, without the file name repeated."""
    if isinstance(exc, av.FFmpegError):
        text = exc.strerror or type(exc).__name__
        return str(text)
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__


@contextmanager
def translate_av_errors(path: str | os.PathLike[str], action: str) -> Iterator[None]:
    """Turn any PyAV / decoding error raised inside the block into `MediaError(undecodable)`.

    `action` completes "failed while ...", e.g. "decoding video".
    """
    try:
        yield
    except MediaError:
        raise
    except AV_ERRORS as exc:
        raise MediaError(
            path, "undecodable", f"failed while {action}: {describe_av_error(exc)}"
        ) from exc
