"""Configuration: YAML, .env and environment interpolation, aliases with defaults, CLI overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omnieval.config import ConfigError, Redactor, load_run_config, redacted_dump


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_env_file_fills_variables_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _write(tmp_path / ".env", "DATA_ROOT=/from/dotenv\nRUN_NAME=dotenv-name\n")
    config = _write(
        tmp_path / "run.yaml",
        {
            "name": "${RUN_NAME}",
            "benchmarks": [{"name": "vsync", "args": {"data_dir": "${DATA_ROOT}/vsync"}}],
            "models": ["random"],
            "seed": "${SEED:-7}",
        },
    )
    monkeypatch.setenv("RUN_NAME", "env-name")
    resolved, _ = load_run_config(config, env_file=env)
    assert resolved.name == "env-name"
    assert resolved.benchmarks[0].args["data_dir"] == "/from/dotenv/vsync"
    assert resolved.seed == 7


def test_missing_variable_names_the_place(tmp_path: Path) -> None:
    config = _write(tmp_path / "run.yaml", {"name": "${SURELY_UNSET_VAR_X}"})
    with pytest.raises(ConfigError, match=r"run.yaml.name: \$\{SURELY_UNSET_VAR_X\} is not set"):
        load_run_config(config)


def test_models_file_merges_defaults_under_each_alias(tmp_path: Path) -> None:
    models = _write(
        tmp_path / "models.yaml",
        {
            "defaults": {"concurrency": 16, "init_args": {"seed": 3}},
            "models": {
                "rand": {"provider": "random"},
                "rand-slow": {"provider": "random", "concurrency": 2, "init_args": {"seed": 9}},
            },
        },
    )
    config = _write(
        tmp_path / "run.yaml",
        {
            "models": ["rand", "rand-slow", {"use": "rand", "alias": "rand-b", "max_retries": 0}],
            "models_file": str(models),
        },
    )
    resolved, _ = load_run_config(config)
    by_alias = {m.alias: m for m in resolved.models}
    assert by_alias["rand"].concurrency == 16 and by_alias["rand"].init_args == {"seed": 3}
    assert by_alias["rand-slow"].concurrency == 2 and by_alias["rand-slow"].init_args == {"seed": 9}
    assert by_alias["rand-b"].provider == "random" and by_alias["rand-b"].max_retries == 0


def test_cli_overrides_beat_the_file(tmp_path: Path) -> None:
    config = _write(tmp_path / "run.yaml", {"limit": 5, "seed": 1, "models": ["random"]})
    resolved, _ = load_run_config(config, {"limit": 2, "seed": None})
    assert resolved.limit == 2 and resolved.seed == 1


def test_bad_yaml_and_unknown_keys_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_run_config(_write(tmp_path / "a.yaml", "name: [unclosed"))
    with pytest.raises(ConfigError, match="limt"):
        load_run_config(_write(tmp_path / "b.yaml", {"limt": 3}))
    with pytest.raises(ConfigError, match="unique"):
        load_run_config(_write(tmp_path / "c.yaml", {"models": ["random", "random"]}))


def test_redaction_covers_secret_keys_and_their_values(tmp_path: Path) -> None:
    env = _write(tmp_path / ".env", "MY_PROVIDER_API_KEY=sk-live-abcdef123456\n")
    config = _write(
        tmp_path / "run.yaml",
        {
            "name": "r",
            "models": [
                {
                    "alias": "m",
                    "provider": "random",
                    "init_args": {
                        "api_key": "${MY_PROVIDER_API_KEY}",
                        "base_url": "http://x/?key=${MY_PROVIDER_API_KEY}",
                    },
                }
            ],
        },
    )
    resolved, redactor = load_run_config(config, env_file=env)
    assert resolved.models[0].init_args["api_key"] == "sk-live-abcdef123456"
    dumped = redacted_dump(resolved, redactor)
    text = yaml.safe_dump(dumped)
    assert "sk-live-abcdef123456" not in text
    assert dumped["models"][0]["init_args"]["api_key"] == "***"
    assert dumped["models"][0]["init_args"]["base_url"] == "http://x/?key=***"
    assert Redactor(["abcd1234"]).text("error: abcd1234!") == "error: ***!"
