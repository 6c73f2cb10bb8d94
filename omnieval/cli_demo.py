"""`omnieval demo`: the main job, every built benchmark's demo part (omnieval/demo.py `DEMOS`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from omnieval.cli_output import console, fail


def demo_command(
    out: Annotated[Path, typer.Option(help="Where the editions and the runs go.")] = Path(
        "omnieval-demo"
    ),
    n: Annotated[
        int | None,
        typer.Option(
            help="Size of the chosen benchmark's edition (see `omnieval demo --help`). Without "
            "--benchmark it sizes the V-SYNC edition only."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the editions.")] = 0,
    benchmark: Annotated[
        str, typer.Option(help="all (every built benchmark) or one demo part by name.")
    ] = "all",
) -> None:
    """The main job, offline: generate small editions of every built benchmark, evaluate their
    reference models and print a leaderboard per benchmark (the parts are listed in
    omnieval/demo.py `DEMOS`: V-SYNC, STAR-Bench, VMEvalKit, spatial, ...). `--benchmark NAME`
    runs one part."""
    from omnieval.demo import DEMOS

    if benchmark != "all" and benchmark not in DEMOS:
        raise fail(
            f"demo --benchmark must be all or one of {', '.join(DEMOS)}, not {benchmark!r}"
        )
    for name, part in DEMOS.items():
        if benchmark not in ("all", name):
            continue
        sized = n if benchmark == name or (benchmark == "all" and name == "vsync") else None
        part.run(out, n=sized or part.default_n, seed=seed, console=console)
