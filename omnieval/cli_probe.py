"""`omnieval probe MODEL`: run the wiring probe (omnieval.probe) on one model, print its table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from omnieval.cli_output import EXIT_PROBE_FAILED


def probe_command(
    model: Annotated[str, typer.Argument(help="Model alias (models file or built-in).")],
    output: Annotated[
        Path, typer.Option(help="Parent directory of the probe's run directory.")
    ] = Path("runs"),
    seed: Annotated[int, typer.Option(help="Seed of the generated probe set.")] = 0,
    allow_unreached: Annotated[
        bool,
        typer.Option(
            "--allow-unreached", help="Exit 0 even when a declared path does not reach the model."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts as JSON.")] = False,
    env_file: Annotated[
        Path | None, typer.Option("--env-file", help="A .env file (default ./.env).")
    ] = None,
    models_file: Annotated[
        Path | None,
        typer.Option("--models-file", help="Model aliases (YAML), or a shipped one by name."),
    ] = None,
) -> None:
    """Prove that every modality (and both audio channels) reaches MODEL.

    A generated probe set (cached; text, image, audio, spoken digit, video frames, a video's
    soundtrack, left/right channel, flash-beep order) runs through the model's real path
    (provider, transport policy, endpoint). The table shows, per path, what the model declares,
    what its transport sent, accuracy against chance and a verdict. Exit code 4 when a path the
    model declares does not reach it (unless --allow-unreached).
    """
    from omnieval.config import load_run_config
    from omnieval.probe.run import print_table, probe_model

    resolved, redactor = load_run_config(
        None, {"models": [model], "output": output}, env_file, models_file
    )
    spec = resolved.models[0]
    messages = Console(stderr=True, soft_wrap=True)
    messages.print(f"probing {spec.alias} (seed {seed}) ...")
    report = probe_model(spec, output, seed=seed, redactor=redactor, console=messages)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print_table(report, Console(soft_wrap=True))
        print(f"probe run: {report.run_dir} (verdicts in {report.run_dir / 'probe.json'})")
    if report.loud and not allow_unreached:
        raise typer.Exit(code=EXIT_PROBE_FAILED)
