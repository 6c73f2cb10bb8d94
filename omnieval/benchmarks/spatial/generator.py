"""`omnieval generate spatial`: the rendered spatial edition (omnieval.benchmarks.spatial.synth)
registered in `registry.generators`."""

from __future__ import annotations

from pathlib import Path

from omnieval import registry
from omnieval.generators import SEED_OPTION, Generator, GeneratorOption, Progress


def write_spatial(
    out: Path,
    progress: Progress,
    n: int = 4,
    seed: int = 0,
    frames: int = 8,
    height: int = 96,
    width: int = 128,
) -> Path:
    """A seeded spatial edition in the release layout (frames/, masks/, multi_json/)."""
    from omnieval.benchmarks.spatial.synth import generate_spatial

    return generate_spatial(
        out, n, seed, frames, height, width, on_progress=lambda done: progress(done, n)
    )


registry.generators.register("spatial")(
    Generator(
        name="spatial",
        summary="Generate a seeded spatial QA + mask edition (rendered scenes, exact masks).",
        run=write_spatial,
        options=(
            GeneratorOption("n", int, 4, "Scenes (QA and mask items in all three categories)."),
            SEED_OPTION,
            GeneratorOption("frames", int, 8, "Frames per scene."),
            GeneratorOption("height", int, 96, "Frame height in pixels."),
            GeneratorOption("width", int, 128, "Frame width in pixels."),
        ),
    )
)
