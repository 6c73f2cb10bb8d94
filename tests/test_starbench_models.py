"""The shipped STAR-Bench models file (omnieval/data/starbench-models.yaml): it parses, every
alias resolves to a registered provider, API keys come from the environment only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from omnieval import registry
from omnieval.config import (
    ConfigError,
    is_secret_key,
    load_aliases,
    resolve_model,
    resolve_run_config,
)

SHIPPED = Path(__file__).resolve().parents[1] / "omnieval" / "data" / "starbench-models.yaml"
UPSTREAM_ALIASES = {
    "qwen25-omni", "qwen3-omni", "qwen3-omni-think", "qwen2-audio", "step-audio2-mini",
    "midashenglm", "kimi", "desta25", "gemma3n", "gemini-2.5-flash", "gemini-2.5-pro",
    "gpt-4o-audio",
}  # fmt: skip
ENV = {"OPENAI_API_KEY": "sk-from-env", "GEMINI_API_KEY": "gm-from-env"}


def test_every_upstream_alias_resolves_to_a_registered_provider() -> None:
    aliases = load_aliases(Path("starbench"), ENV)  # the documented name
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert set(raw["models"]) == UPSTREAM_ALIASES
    for alias in UPSTREAM_ALIASES:
        spec = resolve_model(alias, aliases)
        assert spec.provider in registry.models, alias
    gpt = resolve_model("gpt-4o-audio", aliases)
    assert gpt.provider == "openai"  # not gemini, as upstream's file says
    assert gpt.init_args["model"] == "gpt-4o-audio-preview"
    assert gpt.init_args["api_key"] == "sk-from-env" and "audio" in gpt.init_args["inputs"]
    assert resolve_model("gemini-2.5-pro", aliases).init_args["api_key"] == "gm-from-env"
    # API models build (no call is made); their fingerprints hold no key
    for alias in ("gpt-4o-audio", "gemini-2.5-flash", "kimi"):
        spec = resolve_model(alias, aliases)
        model = registry.models.get(spec.provider)(**spec.init_args)
        assert "from-env" not in repr(model.fingerprint())  # type: ignore[attr-defined]


def test_no_secret_literal_every_key_is_a_variable() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    secrets: list[str] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif is_secret_key(key):
            secrets.append(str(value))

    walk(yaml.safe_load(text))
    assert len(secrets) == 3  # two Gemini keys, one OpenAI key
    assert all(re.fullmatch(r"\$\{[A-Z_]+\}", v) for v in secrets), secrets
    assert not re.search(r"sk-[A-Za-z0-9]{8,}|AIza[0-9A-Za-z_-]{10,}|hf_[A-Za-z0-9]{10,}", text)


def test_an_unset_key_fails_only_the_alias_that_needs_it(tmp_path: Path) -> None:
    aliases = load_aliases(Path("starbench"), {})
    local = resolve_model("qwen2-audio", aliases)
    assert local.init_args == {
        "model_path": "Qwen/Qwen2-Audio-7B-Instruct",
        "family": "qwen2-audio",
    }
    with pytest.raises(ConfigError, match=r"gpt-4o-audio.*\$\{OPENAI_API_KEY\} is not set"):
        resolve_model("gpt-4o-audio", aliases)
    # in a run: `--models-file starbench` with a local alias needs no API key
    config, _ = resolve_run_config(
        {"benchmarks": ["starbench"], "models": ["qwen3-omni"], "output": str(tmp_path)},
        models_file=Path("starbench"),
    )
    assert config.models[0].provider == "hf"
