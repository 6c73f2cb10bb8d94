"""Configuration: one `RunConfig` from a YAML file, `.env`, the environment and CLI overrides.

Precedence, lowest first: built-in defaults < YAML config file < CLI overrides. Any string in the
YAML (or in a models file) may reference `${VAR}` or `${VAR:-default}`; variables come from the
process environment, with a `.env` file (in the working directory, or the one named) filling in
what the environment does not set. Values of secret-looking keys (`api_key`, `token`, `password`,
`secret`, ...) and every value substituted into them are redacted wherever the configuration is
written: manifests, logs, journals and reports.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from omnieval.redaction import Redactor, collect_secrets
from omnieval.types import GenerationParams
from omnieval.validation_errors import describe_validation_error

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says where and what to change."""


class ModelSpec(BaseModel):
    """One model of a run: a display alias, the registered provider, and its init arguments."""

    model_config = ConfigDict(extra="forbid")

    alias: str
    provider: str
    init_args: dict[str, Any] = Field(default_factory=dict)
    concurrency: int = Field(default=4, ge=1)
    max_retries: int = Field(default=3, ge=0)
    retry_base_s: float = Field(default=0.5, ge=0)
    retry_max_s: float = Field(default=30.0, ge=0)
    timeout_s: float | None = Field(default=300.0, gt=0)
    #: consecutive connection failures (no reply, timeouts) after which the model's remaining
    #: trials are paused and journaled as failed; 0 never pauses (omnieval.runner.breaker)
    breaker_failures: int = Field(default=5, ge=0)


class ReplicateSpec(BaseModel):
    """Replicates pooled into one item score: `rotation` (circular option rotation), `permutation`
    (clip order, round robin) or `repeat`; `k` replicates per item (`all` = every rotation or
    permutation). `reducers` name the item-level outputs (default AA = item mean, ACR = all
    replicates right): `item_mean`, `trial_mean`, `all`, `any`, or any reducer a plugin
    registers (`registry.reducers`)."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["none", "rotation", "permutation", "repeat"] = "rotation"
    k: int | Literal["all"] = "all"
    reducers: dict[str, str] | None = None

    @field_validator("k")
    @classmethod
    def _positive(cls, k: int | str) -> int | str:
        if isinstance(k, int) and k < 1:
            raise ValueError("k must be at least 1 (or 'all')")
        return k


class BenchmarkSpec(BaseModel):
    """One benchmark of a run: its registered name, loader arguments, which tasks, which
    conditions (reported columns; `variants` is the older name) and which replicates."""

    model_config = ConfigDict(extra="forbid")

    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    tasks: list[str] | None = None
    conditions: list[str] | None = None
    replicates: ReplicateSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _variants_are_conditions(cls, data: Any) -> Any:
        if isinstance(data, dict) and "variants" in data:
            data = dict(data)
            variants = data.pop("variants")
            if data.get("conditions") is None:
                data["conditions"] = variants
        return data

    @property
    def variants(self) -> list[str] | None:
        return self.conditions


class RaySettings(BaseModel):
    """The `ray:` block of a run config."""

    model_config = ConfigDict(extra="forbid")

    #: None: start a local cluster; `auto` or `host:port`: join an existing one
    address: str | None = None
    #: actors per model
    replicas: int = Field(default=1, ge=1)
    num_cpus: float = Field(default=1.0, ge=0)
    num_gpus: float = Field(default=0.0, ge=0)
    #: CPUs of a local cluster (None: Ray's default, every core)
    local_num_cpus: int | None = Field(default=None, ge=1)
    #: Ray's session directory for a local cluster (default: Ray's, /tmp/ray)
    temp_dir: Path | None = None
    #: in-flight requests per replica
    max_concurrency: int = Field(default=8, ge=1)
    #: how long the replicas may take to be placed and to build their model
    start_timeout_s: float = Field(default=600.0, gt=0)
    #: aliases of the models and judges placed on Ray (None: all); the others run in-process
    models: list[str] | None = None
    #: build the requests of tasks that cut or render media (`Task.builds_media`) as Ray tasks
    prepare_media: bool = True
    #: CPUs per media task, and Ray resources it also asks for: `{"dataset": 0.01}` runs it only
    #: on nodes started with `ray start --resources '{"dataset": 1}'` (where the data is)
    media_num_cpus: float = Field(default=1.0, ge=0)
    media_resources: dict[str, float] = Field(default_factory=dict)

    def places(self, alias: str) -> bool:
        """Whether the model (or judge) `alias` runs as Ray replicas."""
        return self.models is None or alias in self.models


class RunConfig(BaseModel):
    """Everything that decides what a run computes and where it writes."""

    model_config = ConfigDict(extra="forbid")

    #: the run directory's name; when a file or flags leave it out, `default_run_name`
    name: str = "run"
    output: Path = Path("runs")
    seed: int = 0
    limit: int | None = Field(default=None, ge=1)
    benchmarks: list[BenchmarkSpec] = Field(default_factory=list)
    models: list[ModelSpec] = Field(default_factory=list)
    generation: GenerationParams = Field(default_factory=GenerationParams)
    #: judge and refine models by role (`judges: {refine: gpt-4o-mini}`), built like `models`
    judges: dict[str, ModelSpec] = Field(default_factory=dict)
    cache_dir: Path | None = None
    retry_failed: bool = True
    #: modules imported before planning, so their decorators register extra models/benchmarks
    plugins: list[str] = Field(default_factory=list)
    doctor: bool = True
    #: ask every model before any trial whether it can answer (endpoints, extras, credentials)
    preflight: bool = True
    #: run the wiring probe (omnieval.probe) for every model before the benchmarks
    probe: bool = False
    #: go on even when a declared input does not reach a model (probe verdict "does not reach")
    probe_allow_unreached: bool = False
    progress: bool = True
    #: where models run: `local` (in this process) or `ray` (replicas as Ray actors, `ray:`)
    executor: Literal["local", "ray"] = "local"
    ray: RaySettings = Field(default_factory=RaySettings)

    @model_validator(mode="after")
    def _ray_models_are_known(self) -> RunConfig:
        known = [m.alias for m in self.models] + [j.alias for j in self.judges.values()]
        unknown = [alias for alias in self.ray.models or [] if alias not in known]
        if unknown:
            raise ValueError(
                f"ray.models names {', '.join(map(repr, unknown))}, not a model or judge alias "
                f"of this run (known: {', '.join(known) or 'none'})"
            )
        return self

    @property
    def run_dir(self) -> Path:
        return self.output / self.name


# --------------------------------------------------------------------------- environment


def load_environment(env_file: Path | None = None) -> dict[str, str]:
    """The process environment, with a `.env` file filling in keys the environment lacks."""
    merged: dict[str, str] = {}
    candidate = env_file if env_file is not None else Path(".env")
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"env file {env_file} does not exist")
    if candidate.is_file():
        merged.update({k: v for k, v in dotenv_values(candidate).items() if v is not None})
    merged.update(os.environ)
    return merged


def interpolate(value: Any, env: Mapping[str, str], where: str = "config") -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string of a nested structure."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"{where}: ${{{name}}} is not set; export it or add it to .env "
                f"(or write ${{{name}:-default}})"
            )

        return _VAR.sub(substitute, value)
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


# --------------------------------------------------------------------------- model aliases

BUILTIN_ALIASES: dict[str, dict[str, Any]] = {
    "random": {"provider": "random"},
    "constant": {"provider": "constant"},
    "oracle": {"provider": "oracle"},
    "vsync-solver": {"provider": "vsync-solver"},
    "starbench-solver": {"provider": "starbench-solver"},
    "probe-solver": {"provider": "probe-solver"},
    "oracle-video": {"provider": "oracle-video"},
    "still": {"provider": "still"},
    "wrong-move": {"provider": "wrong-move"},
    "spatial-solver": {"provider": "spatial-solver"},
    "empty-masks": {"provider": "empty-masks"},
    "avibench-solver": {"provider": "avibench-solver"},
}


def load_aliases(path: Path | None, env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Read a models file: `defaults:` merged under every `alias: {provider, init_args, ...}`.
    An alias whose `${VAR}` is unset is kept as an error raised when the alias is used."""
    aliases = {name: dict(entry) for name, entry in BUILTIN_ALIASES.items()}
    if path is None:
        return aliases
    raw = _read_yaml(shipped_models_file(path))
    defaults = raw.pop("defaults", {}) or {}
    entries = raw.pop("models", raw)
    if not isinstance(entries, dict):
        raise ConfigError(f"{path}: expected a mapping of alias -> model settings")
    for alias, entry in entries.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: model {alias!r} must be a mapping with a 'provider'")
        try:
            aliases[str(alias)] = interpolate(_deep_merge(defaults, entry), env, f"{path}:{alias}")
        except ConfigError as err:
            # an unset ${VAR} fails the alias that needs it when it is used, not the whole
            # file: a shipped models file names keys for API models next to local ones
            aliases[str(alias)] = {UNRESOLVED: str(err)}
    return aliases


SHIPPED_MODELS = Path(__file__).resolve().parent / "data"


def shipped_models_file(path: Path) -> Path:
    """`path`, or the shipped `omnieval/data/<name>-models.yaml` when `path` is no file and
    its last component names one (`--models-file starbench`)."""
    if path.is_file():
        return path
    shipped = SHIPPED_MODELS / f"{path.name}-models.yaml"
    return shipped if shipped.is_file() else path


#: key of an alias whose `${VAR}` could not be resolved; its value is the error message
UNRESOLVED = "__unresolved__"


def resolve_model(
    entry: str | Mapping[str, Any], aliases: Mapping[str, Mapping[str, Any]]
) -> ModelSpec:
    """A model named by alias, or given inline (optionally on top of an alias via `use:`)."""
    if isinstance(entry, str):
        alias, overrides = entry, {}
    else:
        overrides = dict(entry)
        alias = str(overrides.pop("use", overrides.get("alias", overrides.get("provider", ""))))
    base = aliases.get(alias)
    if base is not None and UNRESOLVED in base:
        raise ConfigError(str(base[UNRESOLVED]))
    if base is None and "provider" not in overrides:
        known = ", ".join(sorted(aliases))
        raise ConfigError(f"unknown model {alias!r}; known aliases: {known} (or give 'provider')")
    merged = _deep_merge(dict(base or {}), overrides)
    merged.setdefault("alias", alias)
    try:
        return ModelSpec.model_validate(merged)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, ModelSpec, f"model {alias!r}")) from None


# --------------------------------------------------------------------------- run config


def load_run_config(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env_file: Path | None = None,
    models_file: Path | None = None,
) -> tuple[RunConfig, Redactor]:
    """Resolve a run configuration from a YAML file (or nothing) plus overrides."""
    raw: dict[str, Any] = _read_yaml(config_file) if config_file else {}
    base = config_file.resolve().parent if config_file else None
    return resolve_run_config(
        raw, overrides, env_file, models_file, str(config_file or "config"), base_dir=base
    )


def resolve_run_config(
    raw: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    env_file: Path | None = None,
    models_file: Path | None = None,
    where: str = "config",
    base_dir: Path | None = None,
) -> tuple[RunConfig, Redactor]:
    """Resolve plain configuration data and the redactor that keeps its secrets out of outputs.

    Relative paths in `raw` resolve against `base_dir` (the config file's directory), those in
    `overrides` (command-line flags) against the working directory; both are stored absolute, so
    the manifest works from any directory (`omnieval rescore RUN`). `output` given as an
    override or left at its default stays relative to the working directory."""
    env = load_environment(env_file)
    data: dict[str, Any] = interpolate(dict(raw), env, where)
    if base_dir is not None:
        data = resolve_paths(data, base_dir, include_output=True)
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    data = resolve_paths(data, Path.cwd())
    models_path = models_file or (Path(data.pop("models_file")) if "models_file" in data else None)
    aliases = load_aliases(models_path, env)
    data["models"] = [resolve_model(m, aliases).model_dump() for m in data.get("models", [])]
    data["judges"] = {
        str(role): resolve_model(entry, aliases).model_dump()
        for role, entry in (data.get("judges") or {}).items()
    }
    data["benchmarks"] = [
        {"name": b} if isinstance(b, str) else b for b in data.get("benchmarks", [])
    ]
    if not data.get("name"):
        data["name"] = default_run_name(data)
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, RunConfig, where)) from None
    aliases_seen = [m.alias for m in config.models]
    if len(set(aliases_seen)) != len(aliases_seen):
        raise ConfigError(f"model aliases must be unique within a run: {aliases_seen}")
    return config, Redactor(collect_secrets(data, env))


def default_run_name(data: Mapping[str, Any], today: str | None = None) -> str:
    """`<benchmark>-<data directory name>-<YYYYMMDD>` (benchmarks joined by `+`), or `run`."""
    pieces = []
    for bench in data.get("benchmarks") or []:
        if isinstance(bench, str):
            pieces.append(bench)
            continue
        if not isinstance(bench, Mapping):
            continue
        name = str(bench.get("name", "bench"))
        args = bench.get("args") or {}
        where = args.get("data_dir") or args.get("dataset_path") or args.get("path")
        if where:
            name += "-" + Path(str(where)).expanduser().name
        pieces.append(name)
    if not pieces:
        return "run"
    stamp = today or time.strftime("%Y%m%d", time.gmtime())
    name = re.sub(r"[^A-Za-z0-9._+-]+", "_", "+".join(pieces)).strip("._") or "run"
    return f"{name}-{stamp}"


_PATH_KEYS = ("data_dir", "path", "models_file", "cache_dir")
_PATH_SUFFIXES = ("_dir", "_path", "_file")


def is_path_key(key: str) -> bool:
    return key in _PATH_KEYS or key.endswith(_PATH_SUFFIXES)


def _absolute(value: Any, base: Path) -> Any:
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value or "://" in value:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def resolve_paths(data: dict[str, Any], base: Path, include_output: bool = False) -> dict[str, Any]:
    """`data` with relative paths made absolute against `base`: the top-level `models_file`,
    `cache_dir` (and `output` when `include_output`), every benchmark argument named `data_dir`
    or `path` or ending in `_dir` / `_path` / `_file`, and model `init_args` keys so named."""
    out = dict(data)
    for key in ("models_file", "cache_dir", *(("output",) if include_output else ())):
        if out.get(key) is not None:
            out[key] = _absolute(out[key], base)
    for group, args_key in (("benchmarks", "args"), ("models", "init_args")):
        entries = out.get(group)
        if not isinstance(entries, list):
            continue
        resolved = []
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get(args_key), dict):
                args = {
                    k: _absolute(v, base) if is_path_key(str(k)) else v
                    for k, v in entry[args_key].items()
                }
                entry = {**entry, args_key: args}
            resolved.append(entry)
        out[group] = resolved
    return out


def redacted_dump(config: RunConfig, redactor: Redactor) -> dict[str, Any]:
    """The configuration as plain data with every secret replaced by `***`."""
    return dict(redactor.value(config.model_dump(mode="json")))


def load_plugins(modules: Iterable[str]) -> None:
    """Import modules whose decorators register extra models, benchmarks or generators
    (`plugins:`); the working directory is searched first, as for `python -m`."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ConfigError(f"plugin module {module!r} cannot be imported: {err}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
