"""Planning: benchmarks x tasks x samples x variants x models -> trials with content keys."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, DatasetError, Task
from omnieval.config import BenchmarkSpec, ConfigError, ModelSpec, RunConfig, load_plugins
from omnieval.models.base import Model
from omnieval.runner.keys import TrialKeyer, sample_digest
from omnieval.types import Sample, Trial


@dataclass(frozen=True)
class PlannedTrial:
    """A trial together with the objects needed to run and score it."""

    trial: Trial
    task: Task
    sample: Sample
    model: ModelSpec


@dataclass(repr=False)
class Plan:
    """Everything one invocation will evaluate."""

    tasks: list[tuple[Task, list[str]]]
    models: dict[str, Model]
    trials: list[PlannedTrial] = field(default_factory=list)

    def samples_by_task(self) -> dict[str, dict[str, Sample]]:
        found: dict[str, dict[str, Sample]] = {}
        for task, _ in self.tasks:
            found[task.name] = {s.id: s for s in _limited(task.samples(), None)}
        return found


def build_benchmark(spec: BenchmarkSpec) -> Benchmark:
    factory = registry.benchmarks.get(spec.name)
    try:
        benchmark = factory(**spec.args)
    except DatasetError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"benchmark {spec.name!r}: bad arguments {spec.args}: {err}") from None
    assert isinstance(benchmark, Benchmark)
    return benchmark


def build_model(spec: ModelSpec, run_seed: int | None = None) -> Model:
    """Instantiate a model; a `seed` it accepts but is not given comes from the run's seed."""
    factory = registry.models.get(spec.provider)
    init_args = dict(spec.init_args)
    if run_seed is not None and "seed" not in init_args and _accepts(factory, "seed"):
        init_args["seed"] = run_seed
    try:
        model = factory(**init_args)
    except TypeError as err:
        names = sorted(spec.init_args)
        raise ConfigError(
            f"model {spec.alias!r} (provider {spec.provider!r}): bad init_args {names}: {err}"
        ) from None
    assert isinstance(model, Model)
    return model


def select_tasks(config: RunConfig) -> list[tuple[Task, list[str]]]:
    """The configured tasks with the variants each will run."""
    load_plugins(config.plugins)
    chosen: list[tuple[Task, list[str]]] = []
    for spec in config.benchmarks:
        tasks = build_benchmark(spec).tasks()
        if spec.tasks:
            wanted = set(spec.tasks)
            known = {t.name for t in tasks} | {t.name.split("/", 1)[-1] for t in tasks}
            unknown = wanted - known
            if unknown:
                raise ConfigError(
                    f"benchmark {spec.name!r} has no task(s) {sorted(unknown)}; "
                    f"it has {sorted(t.name for t in tasks)}"
                )
            tasks = [t for t in tasks if t.name in wanted or t.name.split("/", 1)[-1] in wanted]
        for task in tasks:
            variants = list(spec.variants or task.default_variants)
            try:
                task.check_variants(variants)
            except ValueError as err:
                raise ConfigError(str(err)) from None
            chosen.append((task, variants))
    return chosen


def make_plan(config: RunConfig, models: dict[str, Model] | None = None) -> Plan:
    """Expand a run configuration into trials (models are built unless given)."""
    if not config.benchmarks:
        raise ConfigError("nothing to run: the configuration names no benchmark")
    if not config.models:
        raise ConfigError("nothing to run: the configuration names no model")
    load_plugins(config.plugins)
    tasks = select_tasks(config)
    built = (
        models
        if models is not None
        else {m.alias: build_model(m, config.seed) for m in config.models}
    )
    fingerprints: dict[str, dict[str, Any]] = {
        spec.alias: {"alias": spec.alias, **built[spec.alias].fingerprint()}
        for spec in config.models
    }
    plan = Plan(tasks=tasks, models=built)
    for task, variants in tasks:
        task_print = task.fingerprint()
        keyers = {
            spec.alias: TrialKeyer(fingerprints[spec.alias], task_print, config.generation)
            for spec in config.models
        }
        for sample in _limited(task.samples(), config.limit):
            digest = sample_digest(sample)
            for spec in config.models:
                for variant in variants:
                    trial = Trial(
                        key=keyers[spec.alias].key(digest, variant),
                        model=spec.alias,
                        task=task.name,
                        sample_id=sample.id,
                        variant=variant,
                    )
                    plan.trials.append(PlannedTrial(trial, task, sample, spec))
    return plan


def _accepts(factory: Callable[..., object], name: str) -> bool:
    try:
        return name in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def _limited(samples: Sequence[Sample], limit: int | None) -> Sequence[Sample]:
    return samples if limit is None else samples[:limit]
