"""Files models produce (masks, videos), stored under the run directory by trial key.

`ArtifactStore.store(trial_key, artifacts)` writes every in-flight artifact (`data` bytes or a
`source` file) to `artifacts/<trial key>/<name>` and returns its reference: the path relative to
the run directory, its sha256 and its size. Each file is written to a temporary name in its final
directory, fsynced, renamed over the final name and the directory fsynced, so a crash never
leaves a partial file at a final name. Digests are computed while the bytes stream through; a
source file is copied, never moved. Storing a trial key again (a retry) leaves exactly the new
files in its directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from omnieval.types import Artifact

ARTIFACTS_DIR = "artifacts"
MAX_NAME_CHARS = 1024
MAX_COMPONENT_CHARS = 255
_CHUNK = 1024 * 1024
_TMP_PREFIX = ".tmp-"


class ArtifactError(RuntimeError):
    """An artifact cannot be stored or found (bad name, duplicate, missing source or file)."""


def check_name(trial_key: str, name: str) -> PurePosixPath:
    """The artifact name as a relative POSIX path, or `ArtifactError` saying what is wrong."""

    def bad(why: str) -> ArtifactError:
        return ArtifactError(f"trial {trial_key}: artifact name {name!r} {why}")

    if not isinstance(name, str) or not name:
        raise bad("is empty")
    if "\x00" in name:
        raise bad("contains a NUL character")
    if "\\" in name:
        raise bad("contains a backslash (use '/' between directories)")
    if len(name) > MAX_NAME_CHARS:
        raise bad(f"is longer than {MAX_NAME_CHARS} characters")
    if name.startswith("/"):
        raise bad("is absolute (names are relative to the trial's artifact directory)")
    components = name.split("/")
    for component in components:
        if component == "":
            raise bad("has an empty path component")
        if component in (".", ".."):
            raise bad(f"has a {component!r} component")
        if len(component) > MAX_COMPONENT_CHARS:
            raise bad(f"has a component longer than {MAX_COMPONENT_CHARS} characters")
        if component.startswith(_TMP_PREFIX):
            raise bad(f"has a component starting with {_TMP_PREFIX!r} (reserved)")
    return PurePosixPath(*components)


def _check_key(trial_key: str) -> None:
    if (
        not trial_key
        or trial_key in (".", "..")
        or "/" in trial_key
        or "\\" in trial_key
        or "\x00" in trial_key
        or len(trial_key) > MAX_COMPONENT_CHARS
    ):
        raise ArtifactError(f"{trial_key!r} cannot name an artifact directory")


def _open_source(trial_key: str, name: str, source: Path) -> BinaryIO:
    try:
        return source.open("rb")
    except OSError as err:
        raise ArtifactError(
            f"trial {trial_key}: artifact {name!r}: cannot read its source file {source}: "
            f"{err.strerror or err}"
        ) from None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ArtifactStore:
    """The `artifacts/` directory of one run."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.root = self.run_dir / ARTIFACTS_DIR

    def trial_dir(self, trial_key: str) -> Path:
        _check_key(trial_key)
        return self.root / trial_key

    # ------------------------------------------------------------------ writing

    def store(self, trial_key: str, artifacts: Sequence[Artifact]) -> tuple[Artifact, ...]:
        """Store the in-flight artifacts of one trial; return their references, in order.

        Already-stored references pass through (their file must exist). Files left in the
        trial's directory by an earlier attempt and not part of this one are removed.
        """
        directory = self.trial_dir(trial_key)
        names = [check_name(trial_key, a.name) for a in artifacts]
        self._refuse_clashes(trial_key, names)
        for artifact in artifacts:  # fail before writing anything when a source is missing
            source = artifact.source
            if artifact.data is None and source is not None and not Path(source).is_file():
                raise ArtifactError(
                    f"trial {trial_key}: artifact {artifact.name!r}: its source file "
                    f"{source} does not exist or is not a file"
                )
        out: list[Artifact] = []
        keep: set[PurePosixPath] = set()
        for artifact, name in zip(artifacts, names, strict=True):
            if artifact.data is None and artifact.source is None:
                out.append(self._passthrough(trial_key, artifact, keep))
                continue
            target = directory.joinpath(*name.parts)
            self._make_dirs(target.parent)
            digest, size = self._write(trial_key, artifact, target)
            keep.add(name)
            out.append(
                artifact.model_copy(
                    update={
                        "path": target.relative_to(self.run_dir).as_posix(),
                        "sha256": digest,
                        "size": size,
                        "data": None,
                        "source": None,
                    }
                )
            )
        self._prune(directory, keep)
        return tuple(out)

    def _refuse_clashes(self, trial_key: str, names: list[PurePosixPath]) -> None:
        seen: set[PurePosixPath] = set()
        for name in names:
            if name in seen:
                raise ArtifactError(f"trial {trial_key}: artifact name {str(name)!r} is used twice")
            seen.add(name)
        for name in names:
            for parent in name.parents:
                if parent in seen:
                    raise ArtifactError(
                        f"trial {trial_key}: artifact {str(parent)!r} is also the directory "
                        f"of artifact {str(name)!r}"
                    )

    def _passthrough(
        self, trial_key: str, artifact: Artifact, keep: set[PurePosixPath]
    ) -> Artifact:
        if not artifact.stored:
            raise ArtifactError(
                f"trial {trial_key}: artifact {artifact.name!r} has neither data, a source file "
                "nor a stored path"
            )
        path = self.path_of(artifact)
        if not path.is_file():
            raise ArtifactError(
                f"trial {trial_key}: stored artifact {artifact.name!r} is missing: {path}"
            )
        try:
            inside = path.relative_to(self.trial_dir(trial_key))
        except ValueError:
            return artifact
        keep.add(PurePosixPath(inside.as_posix()))
        return artifact

    def _make_dirs(self, directory: Path) -> None:
        """Create `directory` (removing a stale file in its way), fsyncing each new entry."""
        missing: list[Path] = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                path.unlink()  # a file from an earlier attempt stands where a directory goes
            try:
                path.mkdir()
            except FileExistsError:  # another thread storing another trial made it
                if not path.is_dir():
                    raise
                continue
            _fsync_dir(path.parent)

    def _write(self, trial_key: str, artifact: Artifact, target: Path) -> tuple[str, int]:
        if target.is_dir() and not target.is_symlink():  # a directory from an earlier attempt
            shutil.rmtree(target)
        tmp = target.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex}-{target.name}"[:255])
        sha = hashlib.sha256()
        size = 0
        try:
            with tmp.open("xb") as out:
                if artifact.data is not None:
                    view = memoryview(artifact.data)
                    for start in range(0, len(view), _CHUNK):
                        piece = view[start : start + _CHUNK]
                        sha.update(piece)
                        out.write(piece)
                    size = len(view)
                else:
                    assert artifact.source is not None
                    with _open_source(trial_key, artifact.name, Path(artifact.source)) as source:
                        while chunk := source.read(_CHUNK):
                            sha.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return sha.hexdigest(), size

    def _prune(self, directory: Path, keep: set[PurePosixPath]) -> None:
        """Remove every file under `directory` not in `keep`, and directories left empty."""
        if not directory.is_dir():
            return
        changed: set[Path] = set()
        for dirpath, dirnames, filenames in os.walk(directory, topdown=False):
            here = Path(dirpath)
            for filename in filenames:
                path = here / filename
                if PurePosixPath(path.relative_to(directory).as_posix()) not in keep:
                    path.unlink()
                    changed.add(here)
            for dirname in dirnames:
                sub = here / dirname
                if sub.is_symlink():
                    sub.unlink()
                    changed.add(here)
                elif not any(sub.iterdir()):
                    sub.rmdir()
                    changed.add(here)
        for path in changed:
            if path.is_dir():
                _fsync_dir(path)

    # ------------------------------------------------------------------ reading

    def path_of(self, artifact: Artifact) -> Path:
        """The absolute path of a stored artifact."""
        if artifact.path is None:
            raise ArtifactError(f"artifact {artifact.name!r} has not been stored")
        relative = PurePosixPath(artifact.path)
        if relative.is_absolute() or ".." in relative.parts:
            raise ArtifactError(
                f"artifact {artifact.name!r}: stored path {artifact.path!r} "
                "leaves the run directory"
            )
        return (self.run_dir / Path(*relative.parts)).absolute()

    def verify(self, artifact: Artifact) -> bool:
        """Whether the stored file exists and its bytes match the recorded sha256 (and size)."""
        if not artifact.stored:
            return False
        path = self.path_of(artifact)
        sha = hashlib.sha256()
        size = 0
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    sha.update(chunk)
                    size += len(chunk)
        except OSError:
            return False
        if artifact.size is not None and artifact.size != size:
            return False
        return sha.hexdigest() == artifact.sha256
