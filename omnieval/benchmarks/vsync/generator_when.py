"""`omnieval generate vsync-when`: the generated V-SYNC Level 2/3 edition
(omnieval.benchmarks.vsync.synth_when) registered in `registry.generators`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnieval import registry
from omnieval.generators import SEED_OPTION, Generator, GeneratorOption, Progress


def write_vsync_when(
    out: Path,
    progress: Progress,
    n: int = 60,
    seed: int = 0,
    people: str | None = None,
    speech: str | None = None,
    noise: float | None = None,
    workers: int = 2,
) -> Path:
    """A seeded Level 2/3 edition in SocialOmni's annotations.json + mp4 layout under `out`."""
    from omnieval.benchmarks.vsync.synth_when import VsyncWhenConfig, generate_vsync_when

    knobs: dict[str, Any] = {}
    if people:
        low, _, high = people.partition("-")
        try:
            knobs["people_min"], knobs["people_max"] = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"--people takes a range such as 3-4, not {people!r}") from None
    if speech:
        knobs["speech"] = speech
    if noise is not None:
        knobs["noise_level"] = noise
    return generate_vsync_when(
        out,
        n,
        seed,
        VsyncWhenConfig(**knobs),
        workers=workers,
        on_progress=lambda done: progress(done, n),
    )


registry.generators.register("vsync-when")(
    Generator(
        name="vsync-when",
        summary="Generate a seeded V-SYNC Level 2/3 ('should X speak now?') edition in "
        "SocialOmni's annotations.json + mp4 layout.",
        run=write_vsync_when,
        options=(
            GeneratorOption("n", int, 60, "Number of items (kinds cycle yes / mid / other)."),
            SEED_OPTION,
            GeneratorOption("people", str, None, "People per clip, e.g. 3-4."),
            GeneratorOption("speech", str, None, "auto | espeak | formant"),
            GeneratorOption("noise", float, None, "Noise level (pixels x255, audio x1)."),
            GeneratorOption("workers", int, 2, "Worker processes."),
        ),
    )
)
