"""Scoring-only settings of a finished run: `omnieval rescore RUN --scoring vsync` and
`--set BENCHMARK.args.KEY=VALUE`.

A setting given here must change only how journaled responses are extracted and scored (a
task's `scoring_fingerprint()`), never what was sent (its `fingerprint()`, part of every trial
key): the rebuilt tasks are compared with the manifest's and a key-changing setting is refused.
Accepted settings are written into the manifest (`config` and `scoring_settings`), so a later
plain `rescore` keeps them, and so does a resumed `omnieval run` whose configuration does not set
that key itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from omnieval import registry
from omnieval.config import ConfigError, RunConfig, is_path_key, load_plugins
from omnieval.runner.plan import TaskPlan, accepts, select_benchmarks

#: the manifest entry that keeps settings given to `rescore`: benchmark name -> {key: value}
MANIFEST_KEY = "scoring_settings"


@dataclass
class Setting:
    """One `BENCHMARK.args.KEY=VALUE`: the benchmark by name or index, the (dotted) key."""

    benchmark: str
    key: str
    value: Any
    text: str

    def index_in(self, config: RunConfig) -> int:
        names = [b.name for b in config.benchmarks]
        if self.benchmark.isdigit():
            index = int(self.benchmark)
            if index < len(names):
                return index
        elif self.benchmark in names:
            if names.count(self.benchmark) > 1:
                raise ConfigError(
                    f"{self.text}: the run has benchmark {self.benchmark!r} more than once; "
                    "select it by index (0, 1, ...)"
                )
            return names.index(self.benchmark)
        listed = ", ".join(f"{i}: {n}" for i, n in enumerate(names))
        raise ConfigError(f"{self.text}: the run has no benchmark {self.benchmark!r} ({listed})")


@dataclass
class ScoringChange:
    """The configuration rebuilt with the settings, and what changed."""

    config: RunConfig
    tasks: list[TaskPlan]
    #: benchmark name -> {key: value}, the settings applied
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: task name -> its new scoring fingerprint
    scoring: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_setting(text: str) -> Setting:
    """`vsync.args.scoring=vsync` or `0.args.scoring=vsync` (the value is read as YAML)."""
    target, sep, raw = text.partition("=")
    parts = target.strip().split(".")
    if not sep or len(parts) < 3 or not parts[0] or parts[1] != "args" or not all(parts[2:]):
        raise ConfigError(
            f"--set {text!r}: expected BENCHMARK.args.KEY=VALUE (e.g. vsync.args.scoring=vsync; "
            "the benchmark by name or index); only benchmark args can change at rescore"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return Setting(parts[0], ".".join(parts[2:]), value, f"--set {text}")


def settings_from(
    scoring: str | None, settings: Mapping[str, Any] | Iterable[str] | None, config: RunConfig
) -> list[Setting]:
    """`--scoring X` (`args.scoring` of every benchmark that has that setting) and `--set`
    items, as settings.
    `settings` is either `KEY=VALUE` strings or a mapping `{"vsync.args.scoring": "vsync"}`."""
    found: list[Setting] = []
    if scoring is not None:
        load_plugins(config.plugins)
        takers = [
            i
            for i, spec in enumerate(config.benchmarks)
            if accepts(registry.benchmarks.get(spec.name), "scoring")
        ]
        if not takers:
            names = ", ".join(b.name for b in config.benchmarks)
            raise ConfigError(
                f"--scoring {scoring}: no benchmark of this run has a `scoring` setting "
                f"(its benchmarks: {names}); use --set BENCHMARK.args.KEY=VALUE"
            )
        found += [Setting(str(i), "scoring", scoring, f"--scoring {scoring}") for i in takers]
    if isinstance(settings, Mapping):
        for key, value in settings.items():
            parsed = parse_setting(f"{key}=")
            found.append(Setting(parsed.benchmark, parsed.key, value, f"--set {key}={value}"))
    elif settings is not None:
        found += [parse_setting(item) for item in settings]
    return found


def apply_settings(
    config: RunConfig, settings: list[Setting], manifest_tasks: Mapping[str, Any]
) -> ScoringChange:
    """The run configuration with `settings` applied to its benchmark args, checked to change
    scoring only. Raises `ConfigError` naming the setting when it would change trial keys."""
    updated = config.model_copy(deep=True)
    applied: dict[str, dict[str, Any]] = {}
    for setting in settings:
        if is_path_key(setting.key.split(".")[-1]):
            raise ConfigError(
                f"{setting.text}: `{setting.key}` names data, which decides the samples and "
                "so the trial keys; it cannot change at rescore (start a new run instead)"
            )
        spec = updated.benchmarks[setting.index_in(updated)]
        _set_dotted(spec.args, setting.key, setting.value)
        applied.setdefault(spec.name, {})[setting.key] = setting.value
    try:
        tasks, _ = select_benchmarks(updated)
    except (ConfigError, ValueError) as err:
        given = "; ".join(s.text for s in settings)
        raise ConfigError(f"{given}: {err}") from None
    old_names = set(manifest_tasks)
    new_names = {tp.task.name for tp in tasks}
    if old_names and new_names != old_names:
        raise ConfigError(
            f"{'; '.join(s.text for s in settings)} changes the run's tasks "
            f"({sorted(old_names)} -> {sorted(new_names)}); that is not a scoring setting"
        )
    change = ScoringChange(updated, tasks, applied)
    for tp in tasks:
        entry = manifest_tasks.get(tp.task.name) or {}
        old_print = entry.get("fingerprint")
        if old_print is not None and _normal(tp.task.fingerprint()) != _normal(old_print):
            raise ConfigError(
                f"{'; '.join(s.text for s in settings)} changes what task {tp.task.name} sends "
                "to the models (its task fingerprint, part of every trial key), so the journaled "
                "responses would not answer it; it is not a scoring setting. Start a new run "
                "(another --name) with it instead"
            )
        change.scoring[tp.task.name] = tp.task.scoring_fingerprint()
    _refuse_inert(settings, updated, change, manifest_tasks)
    return change


def _refuse_inert(
    settings: list[Setting],
    config: RunConfig,
    change: ScoringChange,
    manifest_tasks: Mapping[str, Any],
) -> None:
    """A setting that changes no scoring fingerprint and is not named in one is not a scoring
    setting (e.g. `allow_outside_paths`)."""
    owners = {tp.task.name: tp.benchmark for tp in change.tasks}
    for setting in settings:
        bench = config.benchmarks[setting.index_in(config)].name
        prints = [p for task, p in change.scoring.items() if owners[task] == bench]
        changed = any(
            _normal(p) != _normal((manifest_tasks.get(task) or {}).get("scoring", p))
            for task, p in change.scoring.items()
            if owners[task] == bench
        )
        named = any(setting.key.split(".")[0] in p for p in prints)
        if not changed and not named:
            known = sorted({k for p in prints for k in p})
            raise ConfigError(
                f"{setting.text}: `{setting.key}` is not a scoring setting of benchmark "
                f"{bench!r} (it changes no task's scoring fingerprint; its scoring settings: "
                f"{', '.join(known) or 'none'})"
            )


def restore_settings(config: RunConfig, manifest: Mapping[str, Any]) -> RunConfig:
    """A resumed run keeps the settings an earlier `rescore` gave, unless its configuration
    sets the same key itself."""
    saved = manifest.get(MANIFEST_KEY) or {}
    if not saved:
        return config
    updated = config.model_copy(deep=True)
    for spec in updated.benchmarks:
        for key, value in (saved.get(spec.name) or {}).items():
            if not _has_dotted(spec.args, key):
                _set_dotted(spec.args, key, value)
    return updated


def kept_settings(config: RunConfig, manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The saved settings still in force in `config` (to write into the new manifest)."""
    saved = manifest.get(MANIFEST_KEY) or {}
    kept: dict[str, dict[str, Any]] = {}
    for spec in config.benchmarks:
        for key, value in (saved.get(spec.name) or {}).items():
            if _get_dotted(spec.args, key) == value:
                kept.setdefault(spec.name, {})[key] = value
    return kept


def describe(scoring: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """`vsync/level1 scored with scoring=vsync, choice_rules=1`, one line per task."""
    return [
        f"{task} scored with " + ", ".join(f"{k}={v}" for k, v in settings.items())
        for task, settings in scoring.items()
        if settings
    ]


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _set_dotted(args: dict[str, Any], key: str, value: Any) -> None:
    *path, last = key.split(".")
    node = args
    for part in path:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[last] = value


def _has_dotted(args: Mapping[str, Any], key: str) -> bool:
    node: Any = args
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _get_dotted(args: Mapping[str, Any], key: str) -> Any:
    node: Any = args
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
