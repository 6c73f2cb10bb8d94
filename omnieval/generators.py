"""Generators: code that writes a generated (synthetic, seeded) edition of a benchmark in the
benchmark's official on-disk format.

A generator registers itself by name in `registry.generators`:

    from omnieval import registry
    from omnieval.generators import Generator, GeneratorOption

    def write(out: Path, progress: Progress, n: int = 10, seed: int = 0) -> Path:
        ...                      # write the edition under `out`, call progress(done, total)
        return out

    MINE = registry.generators.register("mine")(
        Generator(
            name="mine",
            summary="A seeded edition of my benchmark.",
            run=write,
            options=(
                GeneratorOption("n", int, 10, "Number of samples."),
                GeneratorOption("seed", int, 0, "Seed; the same seed gives the same edition."),
            ),
        )
    )

`omnieval generate mine --out DIR --n 5` then calls `write(out=DIR, progress=..., n=5, seed=0)`
(options left at a `None` default are not passed). `omnieval generate --help` and `omnieval list`
show every registered generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: progress(done, total), called by a generator as it writes samples
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class GeneratorOption:
    """One command-line option of a generator: `--name` (underscores become dashes)."""

    name: str
    type: type = str
    default: Any = None
    help: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


#: the `--seed` option every generated edition takes
SEED_OPTION = GeneratorOption("seed", int, 0, "Seed; the same seed gives the same edition.")


@dataclass(frozen=True)
class Generator:
    """A registered generator: `run(out=..., progress=..., **options) -> Path` written."""

    name: str
    summary: str
    run: Callable[..., Path]
    options: tuple[GeneratorOption, ...] = ()

    def generate(self, out: Path, progress: Progress | None = None, **options: Any) -> Path:
        """Run the generator with the given options (unknown names raise `TypeError`)."""
        known = {o.name for o in self.options}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(
                f"generator {self.name!r} has no option {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known)) or 'none'}"
            )
        given = {k: v for k, v in options.items() if v is not None}
        return self.run(out=out, progress=progress or _no_progress, **given)


def _no_progress(done: int, total: int) -> None:
    return None
