"""Decorator registries: benchmarks, models, extractors, metrics, generators and fetchers
register themselves by name.

The runner finds everything through these registries, never through a hand-kept table, and the
built-ins are discovered too: `load_builtins()` imports every module of the `omnieval` package
whose source calls a registry's `register` at the start of a line (`@registry.models.register(`,
`registry.metrics.register(...)`), then every module named by an installed package's entry point
in the group `omnieval.plugins` (pyproject.toml:
`[project.entry-points."omnieval.plugins"] mine = "my_package.omnieval_plugin"`). Other
third-party code registers by importing its own module before the run starts (`plugins:`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from omnieval.fetchers import Fetcher
    from omnieval.generators import Generator

T = TypeVar("T")


class RegistryError(KeyError):
    """A name that is not registered, or registered twice."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly.
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """A named collection of factories (classes or functions) of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(entry: T) -> T:
            existing = self._entries.get(name)
            if existing is not None and existing is not entry:
                raise RegistryError(f"{self.kind} {name!r} is already registered by {existing!r}")
            self._entries[name] = entry
            return entry

        return decorate

    def get(self, name: str) -> T:
        load_builtins()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        load_builtins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        load_builtins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


benchmarks: Registry[Callable[..., object]] = Registry("benchmark")
models: Registry[Callable[..., object]] = Registry("model")
extractors: Registry[Callable[..., object]] = Registry("extractor")
metrics: Registry[Callable[..., object]] = Registry("metric")
#: item reducers (`omnieval.scoring.reducers.Reducer`): replicates -> one item value
reducers: Registry[object] = Registry("reducer")

generators: Registry[Generator] = Registry("generator")
#: `omnieval fetch NAME`: downloaders of official releases (omnieval.fetchers)
fetchers: Registry[Fetcher] = Registry("fetcher")

PLUGIN_GROUP = "omnieval.plugins"
_REGISTERS = re.compile(r"^\s*@?registry\.\w+\.register\(", re.MULTILINE)


def builtin_modules() -> list[str]:
    """The modules of the omnieval package that register entries, found by reading the source."""
    root = Path(__file__).resolve().parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "registry.py" or not _REGISTERS.search(path.read_text(encoding="utf-8")):
            continue
        parts = path.relative_to(root.parent).with_suffix("").parts
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


_loaded = False


def load_builtins() -> None:
    """Import the modules whose decorators register the built-in entries (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in builtin_modules():
        importlib.import_module(module)
    for entry in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        try:
            importlib.import_module(entry.value.partition(":")[0])
        except ImportError as err:
            raise RegistryError(
                f"plugin {entry.name!r} ({entry.value}, entry point group {PLUGIN_GROUP}) "
                f"cannot be imported: {err}"
            ) from None
