"""The `omnieval` command: a thin Typer layer over `omnieval.api` and the generators."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from omnieval import __version__, registry

app = typer.Typer(
    name="omnieval",
    help="Evaluate omni models on audio-visual benchmarks (official and generated editions).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
generate_app = typer.Typer(help="Write a generated (synthetic, seeded) edition of a benchmark.")
app.add_typer(generate_app, name="generate")

console = Console(stderr=True)


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML run configuration.")]
EnvOpt = Annotated[Path | None, typer.Option("--env-file", help="A .env file (default ./.env).")]
ModelsFileOpt = Annotated[
    Path | None, typer.Option("--models-file", help="Model aliases YAML (alias -> provider).")
]


def _benchmarks_from_flags(
    benchmark: str | None, data: Path | None, tasks: list[str] | None, variants: list[str] | None
) -> list[dict[str, Any]] | None:
    if benchmark is None:
        if data is not None:
            raise _fail("--data needs --benchmark (e.g. --benchmark vsync)")
        return None
    args: dict[str, Any] = {"data_dir": str(data)} if data is not None else {}
    return [{"name": benchmark, "args": args, "tasks": tasks, "variants": variants}]


@app.command()
def run(
    config: ConfigOpt = None,
    benchmark: Annotated[str | None, typer.Option(help="Benchmark name, e.g. vsync.")] = None,
    data: Annotated[Path | None, typer.Option(help="Benchmark data directory.")] = None,
    models: Annotated[str | None, typer.Option(help="Comma-separated model aliases.")] = None,
    tasks: Annotated[str | None, typer.Option(help="Comma-separated task names.")] = None,
    variants: Annotated[
        str | None, typer.Option(help="Comma-separated variants, e.g. avt,vt.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many samples per task.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for anything random in the run.")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Parent directory of run directories.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Run name (the run directory's name).")] = None,
    keep_failed: Annotated[
        bool, typer.Option("--keep-failed", help="Do not retry journaled failed trials.")
    ] = False,
    no_doctor: Annotated[
        bool, typer.Option("--no-doctor", help="Skip the media pre-flight.")
    ] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
    env_file: EnvOpt = None,
    models_file: ModelsFileOpt = None,
) -> None:
    """Run (or resume) an evaluation. Rerunning the same command resumes where it stopped."""
    from omnieval.api import evaluate_config
    from omnieval.config import load_run_config

    task_list, variant_list = _csv(tasks), _csv(variants)
    overrides: dict[str, Any] = {
        "limit": limit,
        "seed": seed,
        "output": output,
        "name": name,
        "benchmarks": _benchmarks_from_flags(benchmark, data, task_list, variant_list),
        "models": _csv(models),
    }
    if keep_failed:
        overrides["retry_failed"] = False
    if no_doctor:
        overrides["doctor"] = False
    if no_progress:
        overrides["progress"] = False
    resolved, redactor = load_run_config(config, overrides, env_file, models_file)
    if task_list or variant_list:
        for spec in resolved.benchmarks:
            spec.tasks = task_list or spec.tasks
            spec.conditions = variant_list or spec.conditions
    evaluate_config(resolved, redactor, console=console)


@app.command()
def rescore(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Re-extract and re-score a run from its journal, without any inference."""
    from omnieval import api

    api.rescore(run_dir, console=console, show=True)


@app.command()
def doctor(
    config: ConfigOpt = None,
    benchmark: Annotated[str | None, typer.Option(help="Benchmark name, e.g. vsync.")] = None,
    data: Annotated[Path | None, typer.Option(help="Benchmark data directory.")] = None,
    env_file: EnvOpt = None,
) -> None:
    """List every missing, empty or undecodable media file with the samples that use it."""
    from omnieval.config import load_run_config
    from omnieval.media import find_media_problems
    from omnieval.runner.plan import select_tasks

    benchmarks = _benchmarks_from_flags(benchmark, data, None, None)
    resolved, _ = load_run_config(config, {"benchmarks": benchmarks}, env_file)
    samples = [s for tp in select_tasks(resolved) for s in tp.task.samples()]
    files = {p for s in samples for p in s.media_paths()}
    problems = find_media_problems(samples, progress=True)
    for problem in problems:  # one tab-separated line per file, for people and for grep
        print(
            f"{problem.problem}\t{problem.path}\t{problem.detail}\t"
            f"samples: {', '.join(problem.sample_ids)}"
        )
    verdict = (
        f"{len(problems)} problem file(s) among {len(files)} media files of {len(samples)} samples"
    )
    console.print(verdict, style="bold red" if problems else "bold green")
    if problems:
        raise typer.Exit(code=1)


@generate_app.command("vsync")
def generate_vsync_cmd(
    out: Annotated[Path, typer.Option(help="Output directory (V-SYNC layout is written inside).")],
    n: Annotated[int, typer.Option(help="Number of samples.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same edition.")] = 0,
    sync_share: Annotated[
        float | None, typer.Option(help="Share of 'is it in sync' items (rest: who is speaking).")
    ] = None,
    speakers: Annotated[
        str | None, typer.Option(help="Speaker count range, e.g. 2-4 (who-is-speaking items).")
    ] = None,
    speech: Annotated[str | None, typer.Option(help="auto | espeak | formant")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
) -> None:
    """Generate a seeded V-SYNC edition in the official dataset.json + mp4 layout."""
    from omnieval.benchmarks.vsync.synth import VsyncSynthConfig, generate_vsync

    knobs: dict[str, Any] = {}
    if sync_share is not None:
        knobs["sync_share"] = sync_share
    if speakers:
        low, _, high = speakers.partition("-")
        knobs["n_speakers_min"], knobs["n_speakers_max"] = int(low), int(high or low)
    if speech:
        knobs["speech"] = speech
    synth_config = VsyncSynthConfig(**knobs)
    from rich.progress import Progress

    with Progress(console=console) as progress:
        bar = progress.add_task("generating vsync", total=n)
        path = generate_vsync(
            out,
            n,
            seed,
            synth_config,
            workers=workers,
            on_progress=lambda k: progress.update(bar, completed=k),
        )
    console.print(f"wrote {path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the edition and the run go.")] = Path(
        "omnieval-demo"
    ),
    n: Annotated[int, typer.Option(help="Samples in the generated edition.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed of the edition.")] = 0,
) -> None:
    """The main job, offline: generate a small V-SYNC edition, evaluate the reference models
    (random, constant, vsync-solver) under avt / vt / at, print the leaderboard."""
    from omnieval.demo import run_demo

    run_demo(out, n=n, seed=seed, console=console)


@app.command()
def serve(
    model: Annotated[str, typer.Option(help="Model alias (models file or built-in) or provider.")],
    host: Annotated[str, typer.Option(help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8000,
    models_file: ModelsFileOpt = None,
    env_file: EnvOpt = None,
    max_batch: Annotated[int, typer.Option(help="Most requests run as one batch.")] = 8,
    max_wait_ms: Annotated[float, typer.Option(help="How long a batch waits to fill.")] = 5.0,
    api_key: Annotated[
        str | None, typer.Option(help="Require `Authorization: Bearer KEY` (or env var).")
    ] = None,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body accepted.")] = 200.0,
    plugin: Annotated[
        list[str] | None, typer.Option(help="Module to import first (repeatable).")
    ] = None,
    local_media: Annotated[
        list[Path] | None, typer.Option(help="Directory file:// URLs may read (repeatable).")
    ] = None,
    media_dir: Annotated[Path | None, typer.Option(help="Where request media is spooled.")] = None,
    shutdown_timeout_s: Annotated[
        float | None, typer.Option(help="Longest wait for requests in flight on shutdown.")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Host any model behind an OpenAI-compatible HTTP API (plus V-SYNC's /analyze)."""
    from omnieval.models.serve.run import serve_main

    serve_main(
        model,
        host=host,
        port=port,
        models_file=models_file,
        env_file=env_file,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        api_key=api_key,
        max_body_mb=max_body_mb,
        plugins=plugin or (),
        local_media=local_media,
        media_dir=media_dir,
        shutdown_timeout_s=shutdown_timeout_s,
        access_log=access_log,
        log_level=log_level,
    )


@app.command("list")
def list_registered() -> None:
    """The registered benchmarks, models, extractors and metrics."""
    out = Console()
    for kind, reg in (
        ("benchmarks", registry.benchmarks),
        ("models", registry.models),
        ("extractors", registry.extractors),
        ("metrics", registry.metrics),
    ):
        out.print(f"[bold]{kind}[/]: " + ", ".join(reg.names()))


@app.command()
def version() -> None:
    """Print the omnieval version."""
    print(__version__)


def main() -> None:
    """Console entry point: user errors print one clear line and exit 2."""
    from omnieval.benchmarks.base import DatasetError
    from omnieval.config import ConfigError
    from omnieval.models.serve.run import ModelLoadError
    from omnieval.registry import RegistryError
    from omnieval.runner.journal import JournalError
    from omnieval.runner.rundir import RunLockedError

    try:
        app()
    except (
        ConfigError,
        DatasetError,
        RegistryError,
        JournalError,
        RunLockedError,
        ModelLoadError,
    ) as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, markup=False)
        sys.exit(2)
    except ImportError as err:  # an optional extra is missing
        console.print(f"error: {err}", highlight=False, markup=False)
        sys.exit(2)
    except FileNotFoundError as err:
        console.print(f"error: {err}", highlight=False, markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print(
            "interrupted: finished trials are journaled; rerun the same command to resume"
        )
        sys.exit(130)


if __name__ == "__main__":
    main()
