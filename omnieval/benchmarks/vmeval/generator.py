"""`omnieval generate vmeval`: the generated VMEvalKit edition (omnieval.benchmarks.vmeval.synth)
registered in `registry.generators`."""

from __future__ import annotations

from pathlib import Path

from omnieval import registry
from omnieval.generators import Generator, GeneratorOption, Progress


def write_vmeval(
    out: Path,
    progress: Progress,
    n: int = 2,
    seed: int = 0,
    domains: str = "all",
    workers: int = 1,
) -> Path:
    """A seeded edition: `n` tasks per domain with solution videos, in upstream's layout."""
    from omnieval.benchmarks.vmeval.synth import generate_vmeval, resolve_domains

    total = n * len(resolve_domains(domains))
    return generate_vmeval(
        out, n, seed, domains, on_progress=lambda done: progress(done, total), workers=workers
    )


registry.generators.register("vmeval")(
    Generator(
        name="vmeval",
        summary="Generate VMEvalKit tasks (maze, sudoku, chess ...) with solution videos.",
        run=write_vmeval,
        options=(
            GeneratorOption("n", int, 2, "Tasks per domain."),
            GeneratorOption("seed", int, 0, "Seed; the same seed gives the same tasks."),
            GeneratorOption(
                "domains",
                str,
                "all",
                "Comma-separated domains (chess, maze, sudoku, rotation, sliding_puzzle, "
                "tower_of_hanoi, counting_objects, object_subtraction, shape_sorter) or all.",
            ),
            GeneratorOption("workers", int, 1, "Processes (the edition does not depend on it)."),
        ),
    )
)
