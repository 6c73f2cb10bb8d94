"""`omnieval vmeval export RUN --out DIR` (upstream's output layout) and `omnieval vmeval
agreement RUN` (judge vs verifier per video, confusion matrix and Cohen's kappa)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from omnieval.cli_output import console, fail

vmeval_app = typer.Typer(help="VMEvalKit: export a run in upstream's layout; judge agreement.")


@vmeval_app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="The run directory.")],
    out: Annotated[Path, typer.Option(help="Where to write outputs/<model>/<domain>_task/...")],
    questions: Annotated[
        Path | None,
        typer.Option(help="The questions directory (default: the run's vmeval data_dir)."),
    ] = None,
    evaluations: Annotated[
        Path | None,
        typer.Option(help="Also write judged trials' GPT4OEvaluator.json files here."),
    ] = None,
) -> None:
    """Copy each answered vmeval trial into VMEvalKit's output layout with its metadata.json."""
    from omnieval.report.vmeval_export import export_run

    try:
        summary = export_run(run_dir, out, questions, evaluations)
    except (FileNotFoundError, ValueError) as err:
        raise fail(str(err)) from None
    console.print(
        f"exported {summary.exported} videos to {out} ({summary.unchanged} unchanged, "
        f"{summary.skipped_failed} failed trials skipped, {summary.skipped_other} other "
        "conditions or replicates skipped)"
    )


@vmeval_app.command()
def agreement(
    run_dir: Annotated[Path, typer.Argument(help="The run directory.")],
    videos: Annotated[bool, typer.Option(help="Also list every video's two verdicts.")] = False,
) -> None:
    """The judge's verdicts against the exact verifier's (generated tasks judged in the run)."""
    from omnieval.report.vmeval_agreement import by_model, load_rows

    try:
        rows = load_rows(run_dir)
    except FileNotFoundError as err:
        raise fail(str(err)) from None
    if not rows:
        raise fail(
            f"{run_dir} has no vmeval trial scored by both the verifier and a judge "
            "(run generated tasks with `judge: single` or `judge: multiframe`)"
        )
    table = Table(title="judge vs verifier")
    for column in ("model", "n", "solved & success", "solved & failure", "unsolved & success",
                   "unsolved & failure", "agreement", "Cohen's kappa"):
        table.add_column(column)
    from omnieval.benchmarks.vmeval.agreement import agreement as pooled

    per_model = by_model(rows)
    if len(per_model) > 1:
        per_model["all"] = pooled((row.solved, row.judge_success) for row in rows)
    for model, agree in per_model.items():
        table.add_row(
            model, str(agree.n), str(agree.both), str(agree.verifier_only),
            str(agree.judge_only), str(agree.neither), f"{agree.observed:.3f}",
            f"{agree.kappa:.3f}",
        )
    console.print(table)
    if videos:
        detail = Table(title="per video")
        for column in ("model", "task", "video", "verifier", "judge score", "reason"):
            detail.add_column(column)
        for row in rows:
            detail.add_row(
                row.model, row.task, row.sample_id, "solved" if row.solved else "not solved",
                f"{row.judge_score:g}", row.reason or "",
            )
        console.print(detail)
