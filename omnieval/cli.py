"""The `omnieval` command: a thin Typer layer over `omnieval.api` and the generators."""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from omnieval import __version__, registry
from omnieval.cli_avibench import avibench_app
from omnieval.cli_demo import demo_command
from omnieval.cli_generate import generate_app
from omnieval.cli_output import EXIT_PROBE_FAILED, EXIT_TRIALS_FAILED, EXIT_USAGE, console
from omnieval.cli_output import error as _error
from omnieval.cli_output import fail as _fail
from omnieval.cli_probe import probe_command
from omnieval.cli_report import compare_command, leaderboard_command, rate_command, report_command
from omnieval.cli_vmeval import vmeval_app

app = typer.Typer(
    name="omnieval",
    help="Evaluate omni models on audio-visual benchmarks (official and generated editions).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(generate_app, name="generate")
app.command("probe")(probe_command)
app.command("demo")(demo_command)
app.command("report")(report_command)
app.command("compare")(compare_command)
app.command("leaderboard")(leaderboard_command)
app.command("rate")(rate_command)
app.add_typer(vmeval_app, name="vmeval")
app.add_typer(avibench_app, name="avibench")


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML run configuration.")]
EnvOpt = Annotated[Path | None, typer.Option("--env-file", help="A .env file (default ./.env).")]
ModelsFileOpt = Annotated[
    Path | None, typer.Option("--models-file", help="Model aliases YAML (alias -> provider).")
]


def _benchmarks_from_flags(
    benchmark: str | None,
    data: Path | None,
    tasks: list[str] | None,
    conditions: list[str] | None,
    replicates: dict[str, Any] | None = None,
) -> list[dict[str, Any]] | None:
    if benchmark is None:
        if data is not None:
            raise _fail("--data needs --benchmark (e.g. --benchmark vsync)")
        return None
    args: dict[str, Any] = {"data_dir": str(data)} if data is not None else {}
    spec: dict[str, Any] = {"name": benchmark, "args": args, "tasks": tasks}
    spec["conditions"] = conditions
    if replicates is not None:
        spec["replicates"] = replicates
    return [spec]


def _replicates(value: str | None) -> dict[str, Any] | None:
    """`rotation`, `rotation:2`, `permutation:all`, `repeat:5` -> a replicate spec."""
    if not value:
        return None
    scheme, _, count = value.partition(":")
    spec: dict[str, Any] = {"scheme": scheme.strip()}
    if count.strip():
        spec["k"] = "all" if count.strip() == "all" else _int_or_fail(count, "--replicates")
    return spec


def _int_or_fail(text: str, flag: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _fail(f"{flag}: {text!r} is not a number (or 'all')") from None


@app.command()
def run(
    config: ConfigOpt = None,
    benchmark: Annotated[str | None, typer.Option(help="Benchmark name, e.g. vsync.")] = None,
    data: Annotated[Path | None, typer.Option(help="Benchmark data directory.")] = None,
    models: Annotated[str | None, typer.Option(help="Comma-separated model aliases.")] = None,
    tasks: Annotated[str | None, typer.Option(help="Comma-separated task names.")] = None,
    conditions: Annotated[
        str | None,
        typer.Option(
            "--conditions",
            "--variants",
            help="Comma-separated conditions, e.g. avt,vt or default,no-audio,text-only "
            "(generic ablations: no-audio, no-frames, no-images, text-only; combine with +).",
        ),
    ] = None,
    replicates: Annotated[
        str | None,
        typer.Option(
            help="Pooled replicates: rotation[:k|all], permutation[:k|all] or repeat:k "
            "(reported as AA and ACR)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many samples per task.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for anything random in the run.")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Parent directory of run directories.")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Run name (the run directory's name); default <benchmark>-<data dir>-<date>."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Evaluate this plan in an existing run directory that holds another plan "
            "(its results are replaced; journaled trials are kept).",
        ),
    ] = False,
    keep_failed: Annotated[
        bool, typer.Option("--keep-failed", help="Do not retry journaled failed trials.")
    ] = False,
    no_doctor: Annotated[
        bool, typer.Option("--no-doctor", help="Skip the media pre-flight.")
    ] = False,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="No progress bars (the leaderboard still prints).")
    ] = False,
    no_preflight: Annotated[
        bool,
        typer.Option("--no-preflight", help="Skip the model pre-flight (endpoints, extras, keys)."),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress, no leaderboard: stdout is the run directory only."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the results summary as JSON on stdout.")
    ] = False,
    allow_failures: Annotated[
        bool,
        typer.Option(
            "--allow-failures", help="Exit 0 even when trials failed (otherwise exit code 3)."
        ),
    ] = False,
    probe: Annotated[
        bool, typer.Option("--probe", help="Run the wiring probe on every model first.")
    ] = False,
    allow_unreached: Annotated[
        bool, typer.Option("--allow-unreached", help="Go on when a probe path does not reach.")
    ] = False,
    env_file: EnvOpt = None,
    models_file: ModelsFileOpt = None,
) -> None:
    """Run (or resume) an evaluation. Rerunning the same command resumes where it stopped.

    Progress and messages go to stderr; the leaderboard and the run directory to stdout. Exit
    codes: 0 done, 2 a user error or a failed pre-flight, 3 some trials failed (see run.log;
    --allow-failures exits 0), 4 the wiring probe (--probe) found an input that does not reach a
    model, 130 / 143 interrupted by Ctrl-C / SIGTERM (rerun to resume).
    """
    from omnieval.api import evaluate_config
    from omnieval.config import ReplicateSpec, load_run_config

    task_list, variant_list = _csv(tasks), _csv(conditions)
    replicate_spec = _replicates(replicates)
    overrides: dict[str, Any] = {
        "limit": limit,
        "seed": seed,
        "output": output,
        "name": name,
        "benchmarks": _benchmarks_from_flags(
            benchmark, data, task_list, variant_list, replicate_spec
        ),
        "models": _csv(models),
    }
    if keep_failed:
        overrides["retry_failed"] = False
    if no_doctor:
        overrides["doctor"] = False
    if no_progress or quiet:
        overrides["progress"] = False
    if no_preflight:
        overrides["preflight"] = False
    if probe:
        overrides["probe"] = True
    if allow_unreached:
        overrides["probe_allow_unreached"] = True
    resolved, redactor = load_run_config(config, overrides, env_file, models_file)
    if task_list or variant_list or replicate_spec:
        for spec in resolved.benchmarks:
            spec.tasks = task_list or spec.tasks
            spec.conditions = variant_list or spec.conditions
            if replicate_spec is not None:
                try:
                    spec.replicates = ReplicateSpec.model_validate(replicate_spec)
                except ValueError as err:
                    raise _fail(f"--replicates {replicates}: {err}") from None
    messages = Console(stderr=True, quiet=quiet, soft_wrap=True)
    outcome = evaluate_config(
        resolved,
        redactor,
        console=messages,
        out=Console(),
        show=not (quiet or as_json),
        force=force,
    )
    if as_json:
        summary = {
            "run_dir": str(outcome.run_dir.resolve()),
            "executed": outcome.executed,
            "resumed": outcome.resumed,
            "results": outcome.results.model_dump(mode="json"),
        }
        print(json.dumps(summary, indent=2))
    elif quiet:
        print(outcome.run_dir.resolve())
    totals = outcome.results.totals
    if totals.failed and not allow_failures:
        console.print(
            f"{totals.failed} of {totals.trials} trials failed (errors in "
            f"{outcome.run_dir / 'run.log'}); exit code {EXIT_TRIALS_FAILED} "
            "(--allow-failures exits 0; rerunning the same command retries them)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=EXIT_TRIALS_FAILED)


@app.command()
def rescore(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    scoring: Annotated[
        str | None,
        typer.Option(
            help="Scoring mode (`args.scoring` of every benchmark that has one), e.g. default "
            "or vsync."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A scoring-only benchmark setting BENCHMARK.args.KEY=VALUE (benchmark by name "
            "or index; repeatable), e.g. vsync.args.scoring=vsync.",
        ),
    ] = None,
    models_file: Annotated[
        Path | None,
        typer.Option(
            "--models-file",
            help="Resolve the run's judge aliases from this file, secrets from the environment "
            "(for judge calls missing from the journal).",
        ),
    ] = None,
    env_file: EnvOpt = None,
) -> None:
    """Re-extract and re-score a run from its journal, without any inference.

    --scoring and --set change scoring-only settings, never what was sent to the models (a
    setting that would change trial keys is refused); they are kept in the run's manifest.
    Journaled judge answers are reused; --models-file gives judge credentials for missing ones.
    """
    from omnieval import api
    from omnieval.runner.services import JudgeSource

    judges_from = (
        JudgeSource(models_file=models_file, env_file=env_file)
        if models_file is not None or env_file is not None
        else None
    )
    api.rescore(
        run_dir,
        console=console,
        show=True,
        out=Console(),
        scoring=scoring,
        settings=set_ or None,
        judges_from=judges_from,
    )


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


@app.command()
def fetch(
    name: Annotated[str, typer.Argument(help="A registered fetcher (omnieval list).")],
    out: Annotated[Path, typer.Option(help="Where the release goes.")],
    revision: Annotated[
        str | None,
        typer.Option(
            help="Branch, tag or commit; default: the commit recorded in OUT/FETCHED.json, "
            "else the fetcher's default branch (resolved to a commit and recorded)."
        ),
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="Hub endpoint (default: $HF_ENDPOINT, else the hub).")
    ] = None,
) -> None:
    """Download a benchmark's official release with a registered fetcher: pinned to one commit
    (recorded with every file's sha256 in OUT/FETCHED.json), resumable (a rerun skips complete
    files), its licence printed first. Needs the `fetch` extra (huggingface_hub)."""
    from omnieval.fetchers import FetchError

    fetcher = registry.fetchers.get(name)
    console.print(f"{fetcher.name}: licence {fetcher.licence}", markup=False, highlight=False)
    try:
        record = fetcher.fetch(
            out,
            revision=revision,
            endpoint=endpoint,
            log=lambda m: console.print(m, markup=False, highlight=False),
        )
    except FetchError as err:
        raise _fail(str(err)) from None
    console.print(
        f"fetched {len(record['files'])} files of {record['repo_id']} at {record['revision']}; "
        f"recorded in {out / 'FETCHED.json'}",
        markup=False,
        highlight=False,
    )


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
        str | None,
        typer.Option(
            envvar="OMNIEVAL_API_KEY",
            show_envvar=True,
            help="Require `Authorization: Bearer KEY`; read from $OMNIEVAL_API_KEY when not given.",
        ),
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
    """The registered benchmarks, models, extractors, metrics, reducers, generators and
    fetchers."""
    out = Console()
    kinds: tuple[tuple[str, registry.Registry[Any]], ...] = (
        ("benchmarks", registry.benchmarks),
        ("models", registry.models),
        ("extractors", registry.extractors),
        ("metrics", registry.metrics),
        ("reducers", registry.reducers),
        ("generators", registry.generators),
        ("fetchers", registry.fetchers),
    )
    for kind, reg in kinds:
        out.print(Text.assemble((kind, "bold"), ": ", ", ".join(reg.names())), highlight=False)


@app.command()
def version() -> None:
    """Print the omnieval version."""
    print(__version__)


def main() -> None:
    """Console entry point: user errors print one clear line and exit 2."""
    from omnieval.benchmarks.base import DatasetError
    from omnieval.config import ConfigError
    from omnieval.models.base import PreflightError
    from omnieval.models.serve.run import ModelLoadError
    from omnieval.probe import ProbeFailedError
    from omnieval.registry import RegistryError
    from omnieval.runner.journal import JournalError
    from omnieval.runner.rundir import RunLockedError
    from omnieval.runner.signals import RunInterrupted

    try:
        app()
    except RunInterrupted as err:
        console.print(str(err), markup=False, highlight=False)
        sys.exit(err.exit_code)
    except ProbeFailedError as err:
        _error(str(err))
        sys.exit(EXIT_PROBE_FAILED)
    except (
        ConfigError,
        DatasetError,
        RegistryError,
        JournalError,
        RunLockedError,
        ModelLoadError,
        PreflightError,
        FileNotFoundError,
        ImportError,  # an optional extra is missing
    ) as err:
        _error(str(err))
        sys.exit(EXIT_USAGE)
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise
        _error(
            f"cannot write {err.filename or 'a file'}: {err.strerror} (is the disk full? free "
            "space and rerun the same command: every trial journaled so far is kept)"
        )
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        console.print(
            "interrupted: finished work is kept; rerun the same command to resume",
            markup=False,
            highlight=False,
        )
        sys.exit(130)


if __name__ == "__main__":
    main()
