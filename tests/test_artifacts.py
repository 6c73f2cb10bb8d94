"""ArtifactStore: atomic writes under artifacts/<trial key>/, digests, names, re-store."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from omnieval.runner.artifacts import ArtifactError, ArtifactStore
from omnieval.types import Artifact

KEY = "0123456789abcdef0123456789abcdef"


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_bytes_and_file_sources_become_run_relative_references(tmp_path: Path) -> None:
    run = tmp_path / "run"
    source = tmp_path / "model-output" / "clip.mp4"
    source.parent.mkdir()
    video = os.urandom(3 * 1024 * 1024 + 17)  # spans several copy chunks
    source.write_bytes(video)
    mask = b"\x89PNG\r\n\x1a\n" + os.urandom(500)
    store = ArtifactStore(run)

    stored = store.store(
        KEY,
        [
            Artifact(name="masks/obj1/frame0001.png", kind="mask", mime="image/png", data=mask),
            Artifact(name="video.mp4", kind="video", mime="video/mp4", source=source),
        ],
    )

    assert [a.path for a in stored] == [
        f"artifacts/{KEY}/masks/obj1/frame0001.png",
        f"artifacts/{KEY}/video.mp4",
    ]
    for artifact, content in zip(stored, [mask, video], strict=True):
        assert artifact.data is None and artifact.source is None and artifact.stored
        path = store.path_of(artifact)
        assert path.is_absolute() and path == (run / str(artifact.path)).absolute()
        assert path.read_bytes() == content
        assert artifact.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert artifact.size == len(content)
        assert store.verify(artifact)
    assert source.read_bytes() == video, "the model's file is copied, never moved"
    assert stored[0].kind == "mask" and stored[0].mime == "image/png"
    # the reference round-trips through JSON (what the journal keeps) without the bytes
    again = Artifact.model_validate_json(stored[1].model_dump_json())
    assert again == stored[1] and store.verify(again)


def test_verify_notices_changed_or_missing_bytes(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    (stored,) = store.store(KEY, [Artifact(name="a.bin", data=b"hello world")])
    path = store.path_of(stored)
    path.write_bytes(b"hello World")  # same size, different bytes
    assert not store.verify(stored)
    path.unlink()
    assert not store.verify(stored)
    assert not store.verify(Artifact(name="a.bin", data=b"x"))  # never stored


def test_already_stored_reference_passes_through_if_its_file_exists(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    (first,) = store.store(KEY, [Artifact(name="m.png", data=b"png")])
    (again,) = store.store(KEY, [first])
    assert again == first and store.verify(again)
    store.path_of(first).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        store.store(KEY, [first])
    with pytest.raises(ArtifactError, match="neither data"):
        store.store(KEY, [Artifact(name="empty.bin")])


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/etc/passwd",
        "../escape.png",
        "masks/../../escape.png",
        "a//b.png",
        "dir/",
        "./a.png",
        "nul\x00byte",
        "back\\slash",
        "x" * 256,
        "/".join(["d"] * 600),
        ".tmp-looks-like-ours",
    ],
)
def test_bad_names_are_refused_naming_trial_and_name(tmp_path: Path, name: str) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(ArtifactError) as err:
        store.store(KEY, [Artifact(name=name, data=b"x")])
    assert KEY in str(err.value) and repr(name)[:40] in str(err.value)
    assert not (tmp_path / "artifacts").exists() or _files(tmp_path / "artifacts") == []
    outside = tmp_path.parent / "escape.png"
    assert not outside.exists()


def test_bad_trial_keys_are_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    for key in ("", "..", "a/b", "x\x00"):
        with pytest.raises(ArtifactError):
            store.store(key, [Artifact(name="a", data=b"x")])


def test_duplicate_names_and_file_directory_clashes_are_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(ArtifactError, match="used twice"):
        store.store(KEY, [Artifact(name="a.png", data=b"1"), Artifact(name="a.png", data=b"2")])
    with pytest.raises(ArtifactError, match="also the directory"):
        store.store(KEY, [Artifact(name="m", data=b"1"), Artifact(name="m/f.png", data=b"2")])


def test_missing_source_file_is_an_error_naming_it(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(ArtifactError, match=r"gone\.mp4"):
        store.store(
            KEY,
            [
                Artifact(name="first.png", data=b"written before the bad one?"),
                Artifact(name="v.mp4", source=tmp_path / "gone.mp4"),
            ],
        )
    leftovers = _files(tmp_path / "artifacts") if (tmp_path / "artifacts").exists() else []
    assert leftovers == []


def test_restore_of_a_trial_replaces_its_files_cleanly(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    store.store(
        KEY,
        [
            Artifact(name="masks/obj1/f1.png", data=b"old1"),
            Artifact(name="masks/obj2/f1.png", data=b"old2"),
            Artifact(name="out", data=b"a file that becomes a directory"),
        ],
    )
    trial_dir = store.trial_dir(KEY)
    (trial_dir / ".tmp-deadbeef-crashed.png").write_bytes(b"half")  # an earlier crash's temp
    other = store.store("other-trial", [Artifact(name="keep.png", data=b"other")])

    stored = store.store(
        KEY,
        [Artifact(name="masks/obj1/f1.png", data=b"new1"), Artifact(name="out/v.mp4", data=b"v")],
    )

    assert _files(trial_dir) == ["masks/obj1/f1.png", "out/v.mp4"]
    assert not (trial_dir / "masks" / "obj2").exists(), "emptied directories are removed"
    assert [store.path_of(a).read_bytes() for a in stored] == [b"new1", b"v"]
    assert store.verify(other[0]), "other trials are untouched"

    store.store(KEY, [])
    assert _files(trial_dir) == [] if trial_dir.exists() else True


def test_trials_stored_from_several_threads_at_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = ArtifactStore(tmp_path / "run")  # artifacts/ does not exist yet: all race to make it

    def one(i: int) -> Artifact:
        return store.store(f"trial{i}", [Artifact(name="m/0.png", data=bytes([i]) * 1000)])[0]

    with ThreadPoolExecutor(8) as pool:
        stored = list(pool.map(one, range(16)))
    assert all(store.verify(a) for a in stored)
    assert [store.path_of(a).read_bytes()[:1] for a in stored] == [bytes([i]) for i in range(16)]


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from omnieval.runner.artifacts import ArtifactStore
    from omnieval.types import Artifact

    run, size = Path(sys.argv[1]), int(sys.argv[2])
    contents = [bytes(range(256)) * (size // 256), bytes(reversed(range(256))) * (size // 256)]
    store = ArtifactStore(run)
    print("START", flush=True)
    i = 0
    while True:
        store.store("k" * 32, [Artifact(name="video/out.bin", kind="video", data=contents[i % 2])])
        i += 1
    """
)


def test_sigkill_during_writes_never_leaves_a_partial_file(tmp_path: Path) -> None:
    size = 24 * 1024 * 1024
    valid = {
        hashlib.sha256(bytes(range(256)) * (size // 256)).hexdigest(),
        hashlib.sha256(bytes(reversed(range(256))) * (size // 256)).hexdigest(),
    }
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rng = random.Random(7)
    final = run / "artifacts" / ("k" * 32) / "video" / "out.bin"
    mid_write = 0
    complete_seen = 0
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(run), str(size)], env=env, stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"START"
        time.sleep(rng.uniform(0.0, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if any(p.name.startswith(".tmp-") for p in final.parent.glob("*")):
            mid_write += 1
        if final.exists():
            complete_seen += 1
            digest = hashlib.sha256(final.read_bytes()).hexdigest()
            assert digest in valid, "a partial or mixed file sits at the final name"
    assert mid_write >= 1, "no kill landed during a write; the test proved nothing"
    assert complete_seen >= 1
    # the next store of the same trial removes the crashed attempts' temporary files
    ArtifactStore(run).store("k" * 32, [Artifact(name="video/out.bin", data=b"fresh")])
    assert _files(final.parent.parent) == ["video/out.bin"]
