"""The media preparer (`omnieval.media.prepare`): per-part cost with a cold and a warm cache.

    python bench/bench_prepare.py [--seconds 10] [--repeat 7]

Writes a stereo 48 kHz WAV and FLAC (440 Hz left, 880 Hz right) and a 640x360 H.264 + AAC
stereo clip of `--seconds` each into a temporary directory, then times, each the median of
`--repeat` runs, what a provider asks the preparer for one part:

- `audio_payload` of the WAV as 16 kHz 16-bit WAV keeping both channels, downmixed, and as MP3;
  of the FLAC with `codec="source"` (the file's own bytes: a probe and a read);
- `audio_payload` of the clip's audio track (AAC) as 16 kHz WAV;
- `video_copy(clip, keep_audio=False)` (remux without the audio stream);
- `check_media_file` of the WAV and of the clip (what `omnieval serve` now runs on every media
  part it receives, besides `probe`).

"cold" uses a new, empty cache directory on each run (decode, resample, encode; the file digest
is memoised per process, as in a real run after planning); "warm" asks a cache that already holds
the entry (a cache read, then the channel selection and the encoding). Nothing here is a unit
test; the figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnieval.media import MediaCache, check_media_file  # noqa: E402
from omnieval.media.prepare import AudioPolicy, audio_payload, video_copy  # noqa: E402
from tests.mediagen import write_test_audio, write_test_video  # noqa: E402


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        root = Path(tmp)
        tones = (440.0, 880.0)
        wav = write_test_audio(root / "lr.wav", args.seconds, 48_000, tones=tones)
        flac = write_test_audio(root / "lr.flac", args.seconds, 48_000, tones=tones)
        clip = write_test_video(root / "clip.mp4", args.seconds, size=(640, 360), audio_hz=tones)
        counter = iter(range(10**6))

        def fresh() -> MediaCache:
            return MediaCache(root / f"cache-{next(counter)}")

        warm_cache = MediaCache(root / "warm")
        keep16 = AudioPolicy(sample_rate=16_000)
        rows: list[tuple[str, Callable[[MediaCache], object]]] = [
            (
                "wav 48k stereo -> wav 16k, channels kept",
                lambda c: audio_payload(wav, keep16, cache=c),
            ),
            (
                "wav 48k stereo -> wav 16k, mono downmix",
                lambda c: audio_payload(
                    wav, AudioPolicy(sample_rate=16_000, channels="downmix"), cache=c
                ),
            ),
            (
                "wav 48k stereo -> mp3 (native rate, kept)",
                lambda c: audio_payload(wav, AudioPolicy(codec="mp3"), cache=c),
            ),
            (
                "flac stereo, codec=source (bytes as they are)",
                lambda c: audio_payload(flac, AudioPolicy(codec="source"), cache=c),
            ),
            ("mp4 AAC track -> wav 16k, kept", lambda c: audio_payload(clip, keep16, cache=c)),
            (
                "mp4 -> video copy without audio",
                lambda c: video_copy(clip, keep_audio=False, cache=c),
            ),
        ]
        print(f"{args.seconds:g} s media, median of {args.repeat} runs (seconds)")
        print(f"{'part':<48} {'cold':>8} {'warm':>8}")
        for name, fn in rows:
            fn(warm_cache)  # fill the warm cache (and memoise the file digest)
            cold = median_s(lambda fn=fn: fn(fresh()), args.repeat)
            warm = median_s(lambda fn=fn: fn(warm_cache), args.repeat)
            print(f"{name:<48} {cold:8.4f} {warm:8.4f}")
        for name, path in (("check_media_file(wav)", wav), ("check_media_file(mp4)", clip)):
            seconds = median_s(lambda path=path: check_media_file(path), args.repeat)
            print(f"{name:<48} {seconds:8.4f}")


if __name__ == "__main__":
    main()
