"""A generator registered from outside the package (`omnieval generate --plugin ...`): it writes
a text-only `mcq` JSONL file, so a test can generate an edition and run it."""

from __future__ import annotations

import json
import random
from pathlib import Path

from omnieval import registry
from omnieval.generators import Generator, GeneratorOption, Progress


def write_arithmetic(out: Path, progress: Progress, n: int = 10, seed: int = 0) -> Path:
    """`n` seeded additions as four-option questions in `out/arith.jsonl`."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "arith.jsonl"
    with path.open("w", encoding="utf-8") as lines:
        for i in range(n):
            a, b = rng.randint(1, 50), rng.randint(1, 50)
            options = [str(a + b + d) for d in (0, 1, -1, 2)]
            rng.shuffle(options)
            item = {
                "id": f"add{i}",
                "question": f"What is {a} + {b}?",
                "options": options,
                "answer": str(a + b),
            }
            lines.write(json.dumps(item) + "\n")
            progress(i + 1, n)
    return path


registry.generators.register("test-arith")(
    Generator(
        name="test-arith",
        summary="Seeded two-number additions as a multiple-choice mcq file.",
        run=write_arithmetic,
        options=(
            GeneratorOption("n", int, 10, "Number of questions."),
            GeneratorOption("seed", int, 0, "Seed."),
        ),
    )
)
