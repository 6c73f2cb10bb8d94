"""`omnieval generate vsync`: the V-SYNC generator (omnieval.benchmarks.vsync.synth) registered
in `registry.generators`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnieval import registry
from omnieval.generators import SEED_OPTION, Generator, GeneratorOption, Progress


def write_vsync(
    out: Path,
    progress: Progress,
    n: int = 100,
    seed: int = 0,
    sync_share: float | None = None,
    speakers: str | None = None,
    speech: str | None = None,
    workers: int = 2,
) -> Path:
    """A seeded V-SYNC edition in the official dataset.json + mp4 layout under `out`."""
    from omnieval.benchmarks.vsync.synth import VsyncSynthConfig, generate_vsync

    knobs: dict[str, Any] = {}
    if sync_share is not None:
        knobs["sync_share"] = sync_share
    if speakers:
        low, _, high = speakers.partition("-")
        try:
            knobs["n_speakers_min"], knobs["n_speakers_max"] = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"--speakers takes a range such as 2-4, not {speakers!r}") from None
    if speech:
        knobs["speech"] = speech
    return generate_vsync(
        out,
        n,
        seed,
        VsyncSynthConfig(**knobs),
        workers=workers,
        on_progress=lambda done: progress(done, n),
    )


registry.generators.register("vsync")(
    Generator(
        name="vsync",
        summary="Generate a seeded V-SYNC edition in the official dataset.json + mp4 layout.",
        run=write_vsync,
        options=(
            GeneratorOption("n", int, 100, "Number of samples."),
            SEED_OPTION,
            GeneratorOption(
                "sync_share", float, None, "Share of 'is it in sync' items (rest: who is speaking)."
            ),
            GeneratorOption(
                "speakers", str, None, "Speaker count range, e.g. 2-4 (who-is-speaking items)."
            ),
            GeneratorOption("speech", str, None, "auto | espeak | formant"),
            GeneratorOption("workers", int, 2, "Worker processes."),
        ),
    )
)
