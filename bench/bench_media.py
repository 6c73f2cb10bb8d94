"""Frame sampling speed: ours (first decode and cached) against the ffmpeg CLI.

    python bench/bench_media.py [--seconds 30] [--repeat 5]

Writes a clip (default 30 s, 640x360, 25 fps, H.264 + AAC, a scrolling texture so decoding costs
what real footage costs) to a temporary directory, then times, each the median of `--repeat`:

1. `sample_frames(clip, FrameSpec(fps=1))` with no cache (a first decode);
2. `ffmpeg -i clip -vf fps=1 -pix_fmt rgb24 -f rawvideo -` read into memory (the same RGB
   frames), and `ffmpeg ... -vf fps=1 frame%04d.png` (what many scripts do);
3. the same `sample_frames` call answered by a warm `MediaCache`, in this process (file digest
   memoised) and in a fresh process (digest recomputed; interpreter start not counted);

plus, for reference, `FrameSpec(count=8)` and `load_audio(..., AudioSpec(sample_rate=16000))`.
Targets: (1) no slower than ffmpeg's rawvideo; (3) at least 20x faster than (1). ffmpeg comes
from PATH, else from the `imageio_ffmpeg` package; without either its rows are skipped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnieval.media import (  # noqa: E402
    AudioSpec,
    FrameSpec,
    MediaCache,
    load_audio,
    sample_frames,
)
from tests.mediagen import write_test_video  # noqa: E402


def find_ffmpeg() -> str | None:
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:  # not installed, or its binary is missing
        return None


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of `repeat` calls, in seconds."""
    return timed_together([fn], repeat)[0]


def timed_together(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median wall time of each function, calling them in turn `repeat` times (interleaved, so
    that a busy machine slows every contender alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, bucket in zip(fns, times, strict=True):
            started = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - started)
    return [statistics.median(bucket) for bucket in times]


def ffmpeg_raw(ffmpeg: str, clip: Path) -> Callable[[], object]:
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-i", str(clip), "-map", "0:v:0", "-vf", "fps=1"]
    cmd += ["-pix_fmt", "rgb24", "-f", "rawvideo", "-"]

    def run() -> bytes:
        return subprocess.run(cmd, check=True, capture_output=True).stdout

    return run


def ffmpeg_png(ffmpeg: str, clip: Path, out: Path) -> Callable[[], object]:
    def run() -> None:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        cmd = [ffmpeg, "-nostdin", "-v", "error", "-i", str(clip), "-map", "0:v:0"]
        cmd += ["-vf", "fps=1", str(out / "frame%04d.png")]
        subprocess.run(cmd, check=True)

    return run


_FRESH = """
import sys, time
from omnieval.media import FrameSpec, MediaCache, sample_frames
t = time.perf_counter()
sample_frames(sys.argv[1], FrameSpec(fps=1), cache=MediaCache(sys.argv[2]))
print(time.perf_counter() - t)
"""


def cached_in_fresh_process(clip: Path, cache_dir: Path, repeat: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", _FRESH, str(clip), str(cache_dir)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    repeat = args.repeat

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = root / "clip.mp4"
        started = time.perf_counter()
        write_test_video(
            clip, args.seconds, 25, (640, 360), sample_rate=44100, texture=True, audio_hz=440.0
        )
        print(
            f"clip: {args.seconds:g} s, 640x360, 25 fps, H.264 + AAC, "
            f"{clip.stat().st_size / 1e6:.1f} MB (written in {time.perf_counter() - started:.1f} s)"
        )
        print(f"median of {repeat} runs (contenders interleaved); {os.cpu_count()} CPUs\n")

        rows: list[tuple[str, float]] = []
        spec = FrameSpec(fps=1)
        frames = sample_frames(clip, spec)  # warm the OS file cache and the imports
        ffmpeg = find_ffmpeg()
        raw = png = None
        if ffmpeg is None:
            print("ffmpeg not found (PATH or imageio_ffmpeg): skipping the ffmpeg rows\n")
            first = timed(lambda: sample_frames(clip, spec), repeat)
        else:
            first, raw, png = timed_together(
                [
                    lambda: sample_frames(clip, spec),
                    ffmpeg_raw(ffmpeg, clip),
                    ffmpeg_png(ffmpeg, clip, root / "png"),
                ],
                repeat,
            )
        rows.append((f"sample_frames(fps=1), no cache  [{len(frames)} frames]", first))
        if raw is not None and png is not None:
            rows.append(("ffmpeg -vf fps=1 -> rgb24 rawvideo pipe", raw))
            rows.append(("ffmpeg -vf fps=1 -> PNG files", png))

        cache = MediaCache(root / "cache")
        sample_frames(clip, spec, cache=cache)  # fill
        cached = timed(lambda: sample_frames(clip, spec, cache=cache), repeat)
        rows.append(("sample_frames(fps=1), cached (same process)", cached))
        fresh = cached_in_fresh_process(clip, root / "cache", repeat)
        rows.append(("sample_frames(fps=1), cached (new process)", fresh))

        rows.append(
            (
                "sample_frames(count=8), no cache",
                timed(lambda: sample_frames(clip, FrameSpec(count=8)), repeat),
            )
        )
        audio_spec = AudioSpec(sample_rate=16000)
        rows.append(
            (
                "load_audio(16 kHz mono), no cache",
                timed(lambda: load_audio(clip, audio_spec), repeat),
            )
        )

        width = max(len(name) for name, _ in rows)
        print(f"{'what':<{width}}  {'seconds':>8}")
        for name, seconds in rows:
            print(f"{name:<{width}}  {seconds:>8.4f}")
        print()
        if raw is not None and png is not None:
            verdict = "OK" if first <= raw else "MISSED"
            print(
                f"ffmpeg rawvideo / ours first decode: {raw / first:5.2f}x  (target >= 1) {verdict}"
            )
            print(f"ffmpeg PNG      / ours first decode: {png / first:5.2f}x")
        speedup = first / cached
        verdict = "OK" if speedup >= 20 else "MISSED"
        print(f"first decode / cached (same process): {speedup:6.1f}x  (target >= 20) {verdict}")
        print(f"first decode / cached (new process):  {first / fresh:6.1f}x")


if __name__ == "__main__":
    main()
