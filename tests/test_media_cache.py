"""The media layer's digests and decoded-media cache, on real files written by tests/mediagen.py
(fixture `media_files` in conftest.py)."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import av
import numpy as np
import pytest

import omnieval.media.digest as digest_mod
from omnieval.media import (
    AudioClip,
    AudioSpec,
    FrameSpec,
    MediaCache,
    default_cache_dir,
    encode_wav,
    file_digest,
    load_audio,
    sample_frames,
)

# --------------------------------------------------------------------------- digest and cache


def test_file_digest_is_sha256_and_memoised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello" * 1000)
    calls: list[Path] = []
    real = digest_mod._hash_file
    monkeypatch.setattr(digest_mod, "_hash_file", lambda p: calls.append(p) or real(p))
    expected = hashlib.sha256(b"hello" * 1000).hexdigest()
    assert file_digest(path) == expected
    assert file_digest(str(path)) == expected
    assert len(calls) == 1
    path.write_bytes(b"changed")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert file_digest(path) == hashlib.sha256(b"changed").hexdigest()
    assert len(calls) == 2


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "omnieval" / "media"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "omnieval" / "media"


def count_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    real_open = av.open

    def spy(file: str, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(av, "open", spy)  # media code calls av.open through the module
    return opened


def test_cache_hit_does_not_decode(
    media_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = MediaCache(tmp_path / "cache")
    opened = count_opens(monkeypatch)
    spec = FrameSpec(fps=2, max_side=32)
    first = sample_frames(media_files["mp4"], spec, cache=cache)
    clip = load_audio(media_files["mp4"], AudioSpec(sample_rate=8000), cache=cache)
    assert len(opened) == 2
    again = sample_frames(media_files["mp4"], spec, cache=cache)
    clip_again = load_audio(media_files["mp4"], AudioSpec(sample_rate=8000), cache=cache)
    assert len(opened) == 2  # both served from disk
    np.testing.assert_array_equal(again.images, first.images)
    np.testing.assert_array_equal(again.timestamps, first.timestamps)
    assert again.source_fps == first.source_fps
    np.testing.assert_array_equal(clip_again.samples, clip.samples)
    assert (clip_again.sample_rate, clip_again.start_s) == (clip.sample_rate, clip.start_s)
    # A different spec is a different entry.
    sample_frames(media_files["mp4"], FrameSpec(fps=2, max_side=16), cache=cache)
    assert len(opened) == 3
    assert cache.entries() == 3
    assert cache.size_bytes() > first.images.nbytes
    assert not list(cache.directory.rglob(".tmp-*"))
    assert cache.clear() > 0
    assert cache.size_bytes() == 0 and cache.entries() == 0


def test_cache_survives_damaged_entries_and_copies(
    media_files: dict[str, Path], tmp_path: Path
) -> None:
    cache = MediaCache(tmp_path / "cache")
    spec = FrameSpec(count=2)
    first = sample_frames(media_files["mp4"], spec, cache=cache)
    key = cache.key(media_files["mp4"], "frames", spec)
    entry = cache.entry_path(key)
    entry.write_bytes(entry.read_bytes()[:100])  # damaged on disk
    assert cache.load(key) is None and not entry.exists()
    again = sample_frames(media_files["mp4"], spec, cache=cache)
    np.testing.assert_array_equal(again.images, first.images)
    # The key follows content, not the path: a copy hits the same entry.
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(media_files["mp4"].read_bytes())
    assert cache.key(copy, "frames", spec) == key


def _sample_in_subprocess(args: tuple[str, str]) -> tuple[list[float], str]:
    path, cache_dir = args
    frames = sample_frames(path, FrameSpec(fps=5), cache=MediaCache(cache_dir))
    return frames.timestamps.tolist(), hashlib.sha256(frames.images.tobytes()).hexdigest()


def test_cache_concurrent_threads_and_processes(
    media_files: dict[str, Path], tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    args = (str(media_files["mp4"]), str(cache_dir))
    with ThreadPoolExecutor(4) as pool:
        by_threads = list(pool.map(_sample_in_subprocess, [args] * 8))
    MediaCache(cache_dir).clear()
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        by_processes = list(pool.map(_sample_in_subprocess, [args] * 4))
    assert len({repr(r) for r in by_threads + by_processes}) == 1
    assert MediaCache(cache_dir).entries() == 1
    assert not list(cache_dir.rglob(".tmp-*"))


def test_cache_store_is_atomic_under_concurrent_writes(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path)
    key = "ab" + "0" * 62
    # Each writer stores its own version of the entry; a reader must always find one of them
    # whole. The entry exists before anyone starts, so "nothing" is never a valid read: a reader
    # that finds no entry, or a mix or truncation, has seen a write that was not atomic.
    versions = [np.arange(200_000, dtype=np.float64) * (k + 1) for k in range(3)]
    cache.store(key, {"x": versions[0]})
    errors: list[str] = []
    reads = [0, 0, 0]
    writes = [0, 0, 0]
    writing = threading.Event()
    writers_done = threading.Event()
    start = threading.Barrier(6)

    def writer(k: int) -> None:
        start.wait()
        writing.set()
        # Keep rewriting until every reader has read at least 10 times: reads and writes
        # overlap however the threads are scheduled.
        while min(reads) < 10 or writes[k] < 3:
            cache.store(key, {"x": versions[k]})
            writes[k] += 1

    def reader(i: int) -> None:
        start.wait()
        writing.wait()
        while not writers_done.is_set():
            got = cache.load(key)
            reads[i] += 1
            if got is None:
                errors.append("no entry seen while it was being rewritten")
            elif not any(np.array_equal(got["x"], v) for v in versions):
                errors.append("half-written entry seen")

    writers = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    readers = [threading.Thread(target=reader, args=(i,)) for i in range(3)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    writers_done.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    assert min(reads) >= 10 and min(writes) >= 3
    assert cache.entries() == 1


def test_wav_round_trip_is_exact_for_int16_sources_and_float32(tmp_path: Path) -> None:
    from omnieval.media import AudioSpec, load_audio

    rng = np.random.default_rng(0)
    int16_like = (rng.integers(-32768, 32768, 8000) / 32768).astype(np.float32)[None]
    arbitrary = (rng.standard_normal((2, 8000)) * 0.3).astype(np.float32)
    for name, samples, fmt in (("s16", int16_like, "s16"), ("f32", arbitrary, "f32")):
        path = tmp_path / f"{name}.wav"
        path.write_bytes(
            encode_wav(AudioClip(samples=samples, sample_rate=16000, start_s=0.0), fmt)
        )
        decoded = load_audio(path, AudioSpec(sample_rate=None, mono=False)).samples
        assert np.array_equal(decoded, samples), name
