"""`omnieval report`, `compare`, `leaderboard` and `rate`: looking at finished runs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from omnieval.cli_output import console, fail

if TYPE_CHECKING:
    from omnieval.types import Sample

RunArg = Annotated[Path, typer.Argument(help="A run directory.", exists=True, file_okay=False)]


def report_command(
    run: RunArg,
    embed_media: Annotated[
        bool, typer.Option("--embed-media", help="Put media inside the file (one portable file).")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write here instead of RUN/report.html.")] = None,
) -> None:
    """(Re)build RUN/report.html: leaderboard, plots, temporal acuity, sample browser."""
    from omnieval.report.html.page import write_report
    from omnieval.report.ratings import refresh_ratings
    from omnieval.report.run_samples import run_samples
    from omnieval.runner import rundir

    if not (run / rundir.RESULTS).is_file():
        raise fail(f"{run} has no {rundir.RESULTS}: not a finished run directory")

    def samples() -> Mapping[str, Mapping[str, Sample]]:
        found, problem = run_samples(run)
        if problem:
            console.print(f"warning: {problem}", markup=False, highlight=False)
        return found

    results = refresh_ratings(run)
    path = write_report(run, results, samples, embed_media, out)
    print(path)


def compare_command(
    run_a: RunArg,
    run_b: RunArg,
    model_a: Annotated[str | None, typer.Option(help="Model of RUN_A to compare.")] = None,
    model_b: Annotated[str | None, typer.Option(help="Model of RUN_B to compare.")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write the comparison as HTML.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    flips: Annotated[int, typer.Option(help="Flipped samples listed per row.")] = 10,
) -> None:
    """Paired differences B - A per task and condition on the same samples, with intervals,
    McNemar (0/1 metrics) or paired-bootstrap tests, and the samples that flipped."""
    from omnieval.report.compare import CompareError, compare_runs
    from omnieval.report.compare_html import render_compare

    try:
        report = compare_runs(run_a, run_b, model_a, model_b)
    except CompareError as err:
        raise fail(str(err)) from None
    if html is not None:
        html.write_text(render_compare(report), encoding="utf-8")
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    out = Console(soft_wrap=True)
    if not out.is_terminal:
        out.width = max(out.width, 160)
    table = Table(title=f"B - A: {run_b.name} vs {run_a.name}", title_justify="left")
    for name in ("task", "condition", "A", "B", "n", "mean A", "mean B", "B - A (95% CI)", "test"):
        table.add_column(name)
    for c in report.comparisons:
        interval = (
            f"{c.diff:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}]"
            if c.ci_low is not None and c.ci_high is not None
            else f"{c.diff:+.3f}"
        )
        p = "-" if c.p_value is None else f"{c.test} p={c.p_value:.3g}"
        table.add_row(
            c.task, c.condition, c.model_a, c.model_b, str(c.n),
            f"{c.mean_a:.3f}", f"{c.mean_b:.3f}", interval, p,
        )  # fmt: skip
    out.print(table)
    for c in report.comparisons:
        if c.flips:
            shown = ", ".join(f"{f.sample_id} ({f.direction})" for f in c.flips[:flips])
            more = f" and {len(c.flips) - flips} more" if len(c.flips) > flips else ""
            out.print(f"{c.task} / {c.condition}: {len(c.flips)} flipped: {shown}{more}")


def leaderboard_command(
    runs: Annotated[list[Path], typer.Argument(help="Run directories to merge.")],
    fmt: Annotated[str, typer.Option("--format", help="md, csv or html.")] = "md",
    out: Annotated[Path | None, typer.Option(help="Write to this file (default stdout).")] = None,
) -> None:
    """Merge runs into one leaderboard; refused when a shared task's fingerprint differs."""
    from omnieval.report.merge import MergeError, merge_leaderboards

    if fmt not in ("md", "csv", "html"):
        raise fail(f"--format must be md, csv or html, not {fmt!r}")
    chosen: Literal["md", "csv", "html"] = fmt  # type: ignore[assignment]
    try:
        text = merge_leaderboards(runs, chosen)
    except MergeError as err:
        raise fail(str(err)) from None
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        print(out)


def rate_command(
    run: RunArg,
    rater: Annotated[str, typer.Option(help="Your name (letters, digits, _ . @ -).")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 0,
) -> None:
    """Rate samples 1-5 with a comment in the browser; ratings are journaled as judge trials
    (`human:<rater>`), resume where you stopped, and appear in results.json and the report."""
    from omnieval.report.rate_server import build_app, serve_rating
    from omnieval.report.ratings import refresh_ratings
    from omnieval.report.run_samples import run_samples
    from omnieval.runner.ratings import RatingError

    samples, problem = run_samples(run)
    if problem:
        console.print(f"warning: {problem}", markup=False, highlight=False)
    try:
        app = build_app(run, rater, samples)
    except RatingError as err:
        raise fail(str(err)) from None

    def ready(url: str) -> None:
        console.print(
            f"rating {run} as {rater} on {url} (Ctrl-C to stop; the ratings then go into "
            "results.json, and `omnieval report` puts them in the report)",
            markup=False,
            highlight=False,
        )

    try:
        asyncio.run(serve_rating(app, port=port, ready=ready))
    except KeyboardInterrupt:
        console.print("stopped; your ratings are journaled", markup=False)
    finally:
        refresh_ratings(run)
