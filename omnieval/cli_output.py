"""What every `omnieval` command shares for output: the stderr console, error lines, exit codes."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

#: exit codes: 0 success, 1 doctor found problems, 2 a user error (config, data, pre-flight),
#: 3 the run finished but some trials failed (unless --allow-failures), 4 the wiring probe found
#: a declared input that does not reach a model (unless allowed), 130 / 143 interrupted
EXIT_USAGE = 2
EXIT_TRIALS_FAILED = 3
#: the wiring probe found a declared input that does not reach a model (omnieval probe)
EXIT_PROBE_FAILED = 4

console = Console(stderr=True, soft_wrap=True)


def error(message: str) -> None:
    """One `error: ...` line on stderr; the message is printed as is (never read as markup)."""
    console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)


def fail(message: str) -> typer.Exit:
    error(message)
    return typer.Exit(code=EXIT_USAGE)
