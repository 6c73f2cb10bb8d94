"""Decorator registries: benchmarks, models, extractors and metrics register themselves by name.

The runner finds everything through these registries, never through a hand-kept table. Built-in
entries live in modules imported by `load_builtins()`; third-party code registers by importing
its own module before the run starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

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

_BUILTIN_MODULES = (
    "omnieval.scoring.extractors",
    "omnieval.scoring.metrics",
    "omnieval.models.reference",
    "omnieval.models.openai_provider",
    "omnieval.models.gemini_provider",
    "omnieval.models.vsync_http",
    "omnieval.models.hf",
    "omnieval.benchmarks.mcq.task",
    "omnieval.benchmarks.vsync.task",
    "omnieval.benchmarks.vsync.solver",
)
_loaded = False


def load_builtins() -> None:
    """Import the modules whose decorators register the built-in entries (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
