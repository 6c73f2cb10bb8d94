"""`omnieval generate <name>`: one subcommand per registered generator, built from the generator's
declared options (plugins named with `--plugin` before the name are imported first)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from omnieval import registry
from omnieval.cli_output import console, fail

if TYPE_CHECKING:
    from omnieval.generators import Generator


class GeneratorGroup(TyperGroup):
    """`omnieval generate <name>`: one subcommand per registered generator (plugins given with
    `--plugin` before the name are imported first)."""

    def list_commands(self, ctx: Any) -> list[str]:
        _import_generate_plugins(ctx)
        return registry.generators.names()

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        _import_generate_plugins(ctx)
        if cmd_name not in registry.generators:
            return None
        return _generator_command(registry.generators.get(cmd_name))


def _import_generate_plugins(ctx: Any) -> None:
    _import_plugins(ctx.params.get("plugin"))


def _import_plugins(modules: list[str] | None) -> list[str] | None:
    from omnieval.config import load_plugins

    load_plugins(modules or ())
    return modules


def _generator_command(generator: Generator) -> Any:
    """A Typer command for a registered generator: `--out` plus the generator's options."""
    params = [
        inspect.Parameter(
            "out",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[
                Path,
                typer.Option(help="Output directory (the benchmark's layout is written inside)."),
            ],
        )
    ]
    for option in generator.options:
        kind = option.type if option.default is not None else option.type | None
        params.append(
            inspect.Parameter(
                option.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=option.default,
                annotation=Annotated[kind, typer.Option(option.flag, help=option.help)],
            )
        )

    def callback(out: Path, **options: Any) -> None:
        from rich.progress import Progress, TaskID

        with Progress(console=console) as progress:
            bar: list[TaskID] = []

            def advance(done: int, total: int) -> None:
                if not bar:
                    bar.append(progress.add_task(f"generating {generator.name}", total=total))
                progress.update(bar[0], completed=done, total=total)

            try:
                path = generator.generate(out, advance, **options)
            except (TypeError, ValueError) as err:
                raise fail(f"generate {generator.name}: {err}") from None
        console.print(f"wrote {path}", markup=False, highlight=False)

    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__annotations__ = {p.name: p.annotation for p in params}
    single = typer.Typer(add_completion=False)
    single.command(name=generator.name, help=generator.summary)(callback)
    return typer.main.get_command(single)


generate_app = typer.Typer(
    cls=GeneratorGroup,
    help="Write a generated (synthetic, seeded) edition of a benchmark with a registered "
    "generator: omnieval generate NAME --out DIR [options].",
    no_args_is_help=True,
)


@generate_app.callback()
def generate_group(
    plugin: Annotated[
        list[str] | None,
        typer.Option(
            help="Module to import first, registering more generators (repeatable).",
            is_eager=True,  # before --help, so that the help lists the plugin's generators
            callback=_import_plugins,
        ),
    ] = None,
) -> None:
    """Write a generated (synthetic, seeded) edition of a benchmark with a registered generator.

    `omnieval generate --help` lists the generators; `omnieval generate NAME --help` their
    options. A plugin module that registers a generator is named before the generator:
    `omnieval generate --plugin my_generators mine --out DIR`.
    """
