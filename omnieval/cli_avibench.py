"""`omnieval avibench export RUN --model ALIAS ... --out FILE`: a run's AVI-Bench scores as a
leaderboard entry in upstream's schema v2, validated before it is written."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from omnieval.cli_output import console, fail

avibench_app = typer.Typer(help="AVI-Bench: export a run as a leaderboard entry.")


@avibench_app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="The run directory (holds results.json).")],
    model: Annotated[str, typer.Option(help="The model alias in the run.")],
    model_name: Annotated[str, typer.Option(help="The model's display name.")],
    provider: Annotated[str, typer.Option(help="Who made the model.")],
    release_date: Annotated[str, typer.Option(help="The model's release date, YYYY-MM-DD.")],
    release_url: Annotated[str, typer.Option(help="https URL of the model's release.")],
    out: Annotated[
        Path | None, typer.Option(help="Write the entry here (default: standard output).")
    ] = None,
    condition: Annotated[str, typer.Option(help="The run condition to export.")] = "default",
    source_type: Annotated[
        str, typer.Option(help="Source type: paper, participant or maintainer.")
    ] = "participant",
    source_url: Annotated[
        str | None, typer.Option(help="https URL of the source (default: the release URL).")
    ] = None,
    submitter: Annotated[str | None, typer.Option(help="Who submits the entry.")] = None,
) -> None:
    """Write one model of a run as an AVI-Bench leaderboard entry (schema v2, scores 0-100)."""
    from omnieval.benchmarks.avibench.export import (
        EntryError,
        entry_text,
        leaderboard_entry,
        read_run_results,
    )

    try:
        entry = leaderboard_entry(
            read_run_results(run_dir),
            model,
            model_name=model_name,
            provider=provider,
            release_date=release_date,
            release_url=release_url,
            condition=condition,
            source_type=source_type,
            source_url=source_url,
            submitter=submitter,
        )
    except (EntryError, OSError, ValueError) as err:
        raise fail(str(err)) from None
    text = entry_text(entry)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    coverage = entry["coverage"]
    console.print(
        f"wrote {out}: overall {entry['scores']['overall']}, {coverage['status']} coverage "
        f"({coverage['tasks_completed']}/{coverage['tasks_total']} tasks)",
        highlight=False,
    )
