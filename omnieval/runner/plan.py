"""Planning: benchmarks x tasks x samples x conditions x replicates x models -> keyed trials."""

from __future__ import annotations

import gc
import hashlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, DatasetError, Task
from omnieval.config import (
    BenchmarkSpec,
    ConfigError,
    ModelSpec,
    ReplicateSpec,
    RunConfig,
    load_plugins,
)
from omnieval.models.base import Model
from omnieval.runner.keys import TrialKeyer, canonical_json, sample_digest
from omnieval.runner.transforms import (
    TransformError,
    apply_replicate,
    replicates_for,
    split_condition,
)
from omnieval.scoring.tree import Formula, Gate, JointMetric, Node, TreeError, check_tree
from omnieval.types import Replicate, Sample, Trial


@dataclass(frozen=True)
class PlannedTrial:
    """A trial together with the objects needed to run and score it."""

    trial: Trial
    task: Task
    sample: Sample
    model: ModelSpec
    replicate: Replicate


@dataclass
class TaskPlan:
    """One task of a run: its conditions, replicate scheme and the benchmark it belongs to."""

    task: Task
    conditions: list[str]
    replicates: ReplicateSpec | None
    benchmark: str

    @property
    def variants(self) -> list[str]:  # the name used before conditions and replicates
        return self.conditions


@dataclass
class BenchmarkPlan:
    name: str
    tree: list[Node | Formula]
    gates: list[Gate]
    joint: list[JointMetric] = field(default_factory=list)


@dataclass(repr=False)
class Plan:
    """Everything one invocation will evaluate."""

    tasks: list[TaskPlan]
    models: dict[str, Model]
    trials: list[PlannedTrial] = field(default_factory=list)
    benchmarks: list[BenchmarkPlan] = field(default_factory=list)
    #: task name -> sample id -> sample digest (content and media bytes), of the planned samples
    sample_digests: dict[str, dict[str, str]] = field(default_factory=dict)

    def samples_by_task(self) -> dict[str, dict[str, Sample]]:
        return {tp.task.name: {s.id: s for s in tp.task.samples()} for tp in self.tasks}

    def task(self, name: str) -> TaskPlan:
        for plan in self.tasks:
            if plan.task.name == name:
                return plan
        raise KeyError(name)


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


def build_models(config: RunConfig) -> dict[str, Model]:
    """Every model of the run, in this process or as Ray replicas (`executor: ray`)."""
    return {spec.alias: place_model(spec, config) for spec in config.models}


def place_model(spec: ModelSpec, config: RunConfig) -> Model:
    """One model (or judge) of the run: as Ray replicas under `executor: ray` when `ray.models`
    includes it (by default every one does), else in this process."""
    if config.executor == "ray" and config.ray.places(spec.alias):
        from omnieval.models.ray_pool import RayReplicaPool

        return RayReplicaPool(
            spec.provider, model_init_args(spec, config.seed), config.ray, config.plugins
        )
    return build_model(spec, config.seed)


def model_init_args(spec: ModelSpec, run_seed: int | None = None) -> dict[str, Any]:
    """The spec's init_args; a `seed` the model accepts but is not given is the run's seed."""
    factory = registry.models.get(spec.provider)
    init_args = dict(spec.init_args)
    if run_seed is not None and "seed" not in init_args and accepts(factory, "seed"):
        init_args["seed"] = run_seed
    return init_args


def build_model(spec: ModelSpec, run_seed: int | None = None) -> Model:
    """Instantiate a model; a `seed` it accepts but is not given comes from the run's seed."""
    factory = registry.models.get(spec.provider)
    init_args = model_init_args(spec, run_seed)
    try:
        model = factory(**init_args)
    except TypeError as err:
        names = sorted(spec.init_args)
        raise ConfigError(
            f"model {spec.alias!r} (provider {spec.provider!r}): bad init_args {names}: {err}"
        ) from None
    assert isinstance(model, Model)
    return model


def select_benchmarks(config: RunConfig) -> tuple[list[TaskPlan], list[BenchmarkPlan]]:
    """The configured tasks with their conditions and replicates, and each benchmark's tree."""
    load_plugins(config.plugins)
    chosen: list[TaskPlan] = []
    benchmarks: list[BenchmarkPlan] = []
    owner: dict[str, str] = {}
    for spec in config.benchmarks:
        benchmark = build_benchmark(spec)
        all_tasks = benchmark.tasks()
        tasks = _filter_tasks(spec, all_tasks)
        for task in tasks:
            if task.name in owner:
                raise ConfigError(
                    f"task name {task.name!r} is used by both benchmark {owner[task.name]!r} and "
                    f"{spec.name!r}; task names must be unique within a run"
                )
            owner[task.name] = spec.name
            conditions = list(spec.conditions or task.default_conditions)
            try:
                for condition in conditions:
                    split_condition(task, condition)
            except TransformError as err:
                raise ConfigError(str(err)) from None
            replicates = spec.replicates if spec.replicates is not None else task.default_replicates
            _check_reducers(task, replicates)
            chosen.append(TaskPlan(task, conditions, replicates, spec.name))
        tree: list[Node | Formula] = [*benchmark.tree()]
        try:
            check_tree(tree, [t.name for t in all_tasks])
        except TreeError as err:
            raise ConfigError(f"benchmark {spec.name!r}: {err}") from None
        benchmarks.append(
            BenchmarkPlan(spec.name, tree, benchmark.gates(), benchmark.joint_metrics())
        )
    return chosen, benchmarks


def _check_reducers(task: Task, replicates: ReplicateSpec | None) -> None:
    """Every named reducer is registered (built-in or from a plugin)."""
    for output, name in ((replicates.reducers or {}) if replicates else {}).items():
        if name not in registry.reducers:
            raise ConfigError(
                f"task {task.name}: replicate output {output!r} names reducer {name!r}, which is "
                f"not registered; known: {', '.join(registry.reducers.names())}"
            )


def select_tasks(config: RunConfig) -> list[TaskPlan]:
    return select_benchmarks(config)[0]


def _filter_tasks(spec: BenchmarkSpec, tasks: list[Task]) -> list[Task]:
    if not spec.tasks:
        return tasks
    wanted = set(spec.tasks)
    known = {t.name for t in tasks} | {t.name.split("/", 1)[-1] for t in tasks}
    unknown = wanted - known
    if unknown:
        raise ConfigError(
            f"benchmark {spec.name!r} has no task(s) {sorted(unknown)}; "
            f"it has {sorted(t.name for t in tasks)}"
        )
    return [t for t in tasks if t.name in wanted or t.name.split("/", 1)[-1] in wanted]


def checked_samples(task: Task, limit: int | None) -> Sequence[Sample]:
    """The task's samples (the first `limit`), refusing duplicate ids."""
    samples = task.samples()
    seen: set[str] = set()
    for sample in samples:
        if sample.id in seen:
            raise DatasetError(f"task {task.name}: duplicate sample id {sample.id!r}")
        seen.add(sample.id)
    return samples if limit is None else samples[:limit]


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (on again after, if it was on).

    Planning a million trials allocates millions of long-lived, acyclic objects (samples,
    trials, planned trials); each allocation burst triggers collections that walk the whole
    growing heap, about half of planning time (bench/bench_plan_trials.py; figures in
    docs/performance.md, Soak). Reference counting still frees
    everything acyclic during the block; cycles made during it wait for the next collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def make_plan(config: RunConfig, models: dict[str, Model] | None = None) -> Plan:
    """Expand a run configuration into trials (models are built unless given), with the cyclic
    garbage collector paused (see `gc_paused`)."""
    with gc_paused():
        return _make_plan(config, models)


def _make_plan(config: RunConfig, models: dict[str, Model] | None) -> Plan:
    if not config.benchmarks:
        raise ConfigError("nothing to run: the configuration names no benchmark")
    if not config.models:
        raise ConfigError("nothing to run: the configuration names no model")
    load_plugins(config.plugins)
    tasks, benchmarks = select_benchmarks(config)
    built = models if models is not None else build_models(config)
    fingerprints: dict[str, dict[str, Any]] = {
        spec.alias: {"alias": spec.alias, **built[spec.alias].fingerprint()}
        for spec in config.models
    }
    plan = Plan(tasks=tasks, models=built, benchmarks=benchmarks)
    for task_plan in tasks:
        task = task_plan.task
        task_print = task.fingerprint()
        keyers = {
            spec.alias: TrialKeyer(fingerprints[spec.alias], task_print, config.generation)
            for spec in config.models
        }
        samples = checked_samples(task, config.limit)
        try:
            replicate_sets = [replicates_for(task_plan.replicates, task, s) for s in samples]
        except TransformError as err:
            raise ConfigError(str(err)) from None
        if task_plan.replicates is not None and task_plan.replicates.scheme == "rotation":
            _check_rotation_reaches_prompt(task, samples, replicate_sets, task_plan.conditions)
        digests = plan.sample_digests.setdefault(task.name, {})
        for sample, replicates in zip(samples, replicate_sets, strict=True):
            digest = sample_digest(sample)
            digests[sample.id] = digest
            for spec in config.models:
                keyer = keyers[spec.alias]
                for condition in task_plan.conditions:
                    for replicate in replicates:
                        trial = planned_trial(
                            key=keyer.key(digest, condition, replicate.label),
                            model=spec.alias,
                            task=task.name,
                            sample_id=sample.id,
                            condition=condition,
                            replicate=replicate.label,
                        )
                        plan.trials.append(PlannedTrial(trial, task, sample, spec, replicate))
    return plan


_TRIAL_FIELDS = frozenset(Trial.model_fields)
_new_object = object.__new__
_set_attribute = object.__setattr__


def planned_trial(
    key: str, model: str, task: str, sample_id: str, condition: str, replicate: str
) -> Trial:
    """A `Trial` without pydantic validation, the state `Trial(...)` leaves set directly:
    `Trial(...)` costs ~1.7 us and `Trial.model_construct` (pure Python) ~2.2 us, this ~0.4 us,
    which matters at a million trials. Every value is a `str` already checked upstream (the
    keyer's hex digest, the config's alias and condition, the task's name, a validated sample's
    id, a replicate label). tests/test_plan_trials.py checks the trials equal validated ones
    (fields, fields set, dump, repr, hash of the key)."""
    trial = _new_object(Trial)
    _set_attribute(
        trial,
        "__dict__",
        {
            "key": key,
            "model": model,
            "task": task,
            "sample_id": sample_id,
            "condition": condition,
            "replicate": replicate,
        },
    )
    _set_attribute(trial, "__pydantic_fields_set__", set(_TRIAL_FIELDS))
    _set_attribute(trial, "__pydantic_extra__", None)
    _set_attribute(trial, "__pydantic_private__", None)
    return trial


def plan_fingerprint(plan: Plan) -> str:
    """A digest of what the plan evaluates: each task's fingerprint (its benchmark arguments
    that shape requests), conditions, replicates and sample set (ids and content digests, so
    another dataset or `limit` differs), and each model's alias and fingerprint. Scoring-only
    settings are left out: changing them re-scores the same plan."""
    described = {
        "tasks": {
            tp.task.name: {
                "fingerprint": tp.task.fingerprint(),
                "conditions": tp.conditions,
                "replicates": tp.replicates.model_dump() if tp.replicates else None,
                "samples": plan.sample_digests.get(tp.task.name, {}),
            }
            for tp in plan.tasks
        },
        "models": {alias: model.fingerprint() for alias, model in plan.models.items()},
    }
    return hashlib.sha256(canonical_json(described).encode()).hexdigest()[:32]


def _check_rotation_reaches_prompt(
    task: Task,
    samples: Sequence[Sample],
    replicate_sets: list[list[Replicate]],
    conditions: list[str],
) -> None:
    """Refuse rotation on a task whose prompt does not show the rotated options."""
    for sample, replicates in zip(samples, replicate_sets, strict=True):
        if len(replicates) < 2:
            continue
        base, _ = split_condition(task, conditions[0])
        first = task.build_request(apply_replicate(task, sample, replicates[0]), base).text()
        second = task.build_request(apply_replicate(task, sample, replicates[1]), base).text()
        if first == second:
            raise ConfigError(
                f"task {task.name} does not show rotated options in its prompt (sample "
                f"{sample.id}): it must render options from sample.target, not from metadata"
            )
        return


def accepts(factory: Callable[..., object], name: str) -> bool:
    try:
        return name in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
