"""`omnieval generate starbench`: the STAR-Bench generator (omnieval.benchmarks.starbench.synth)
registered in `registry.generators`."""

from __future__ import annotations

from pathlib import Path

from omnieval import registry
from omnieval.generators import SEED_OPTION, Generator, GeneratorOption, Progress


def write_starbench(
    out: Path, progress: Progress, n: int = 4, seed: int = 0, room: str = "auto"
) -> Path:
    """A seeded STAR-Bench edition in the release layout (meta_info/ + starbench_audios/)."""
    from omnieval.benchmarks.starbench.synth import generate_starbench

    return generate_starbench(out, n, seed, on_progress=lambda done: progress(done, n), room=room)


registry.generators.register("starbench")(
    Generator(
        name="starbench",
        summary="Generate a seeded STAR-Bench edition in the release layout.",
        run=write_starbench,
        options=(
            GeneratorOption(
                "n",
                int,
                4,
                "Items per family (each perception sub-category, temporal process and "
                "spatial reasoning sub-category).",
            ),
            SEED_OPTION,
            GeneratorOption(
                "room",
                str,
                "auto",
                "Room of the distance, localisation and trajectory families: pyroomacoustics "
                "(image sources, the starbench extra), synthetic (numpy only; localisation "
                "and trajectories in free field) or auto (pyroomacoustics when installed).",
            ),
        ),
    )
)
