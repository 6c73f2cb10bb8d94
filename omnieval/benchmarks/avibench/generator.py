"""`omnieval generate avibench`: the generated AVI-Bench edition (omnieval.benchmarks.avibench
.synth) registered in `registry.generators`."""

from __future__ import annotations

from pathlib import Path

from omnieval import registry
from omnieval.generators import SEED_OPTION, Generator, GeneratorOption, Progress


def write_avibench(
    out: Path, progress: Progress, n: int = 4, seed: int = 0, tasks: str | None = None
) -> Path:
    """A seeded AVI-Bench edition in the release layout (levels/ + definitions.py)."""
    from omnieval.benchmarks.avibench.synth import TASKS, generate_avibench

    chosen = [t.strip().upper() for t in tasks.split(",") if t.strip()] if tasks else list(TASKS)
    return generate_avibench(
        out, n, seed, tasks=chosen, on_progress=lambda done: progress(done, len(chosen))
    )


registry.generators.register("avibench")(
    Generator(
        name="avibench",
        summary="Generate a seeded AVI-Bench edition (all 14 tasks) in the release layout.",
        run=write_avibench,
        options=(
            GeneratorOption("n", int, 4, "Items per task (sensation tasks add n/4 controls)."),
            SEED_OPTION,
            GeneratorOption("tasks", str, None, "Comma-separated task folders (default: all 15)."),
        ),
    )
)
