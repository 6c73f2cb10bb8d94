"""The shipped STAR-Bench models file (omnieval/data/starbench-models.yaml): it parses, every
alias resolves to a registered provider, API keys come from the environment only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from omnieval import registry
from omnieval.config import (
    ConfigError,
    load_aliases,
    resolve_model,
    resolve_run_config,
)
from omnieval.redaction import is_secret_key

SHIPPED = Path(__file__).resolve().parents[1] / "omnieval" / "data" / "starbench-models.yaml"
UPSTREAM_ALIASES = {
    "qwen25-omni", "qwen3-omni", "qwen3-omni-think", "qwen2-audio", "step-audio2-mini",
    "midashenglm", "kimi", "desta25", "gemma3n", "gemini-2.5-flash", "gemini-2.5-pro",
    "gpt-4o-audio",
}  # fmt: skip
#: upstream's model classes without an alias in its models.yaml (audio_flamingo.py, phi4mm.py,
#: ming_lite_omni.py)
UPSTREAM_CLASSES = {"audio-flamingo-3", "phi4mm", "ming-lite-omni"}
ENV = {"OPENAI_API_KEY": "sk-from-env", "GEMINI_API_KEY": "gm-from-env"}


def test_every_upstream_alias_resolves_to_a_registered_provider() -> None:
    aliases = load_aliases(Path("starbench"), ENV)  # the documented name
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert set(raw["models"]) == UPSTREAM_ALIASES | UPSTREAM_CLASSES
    for alias in UPSTREAM_ALIASES | UPSTREAM_CLASSES:
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


def _endpoint(recipe: str, url: str) -> dict[str, object]:
    return {
        "alias": recipe,
        "provider": "starbench-openai",
        "init_args": {"recipe": recipe, "model": "m", "base_url": url, "inputs": ["text", "audio"]},
    }


def test_endpoint_recipes_send_what_upstreams_wrappers_send(tmp_path: Path) -> None:
    """Step-Audio 2, Kimi-Audio and DeSTA2.5 through a loopback OpenAI server: the system
    prompt, greedy decoding, the token limit by family (perception 256, reasoning 1024; Kimi
    256 everywhere) and Kimi's one user message per part, read from the bodies received."""
    from omnieval import api
    from omnieval.benchmarks.starbench.endpoints import RECIPES
    from tests.loopback import LoopbackServer
    from tests.starbench_fixture import write_release

    root = write_release(tmp_path / "release")
    with LoopbackServer() as server:
        api.evaluate(
            {
                "name": "endpoints",
                "output": str(tmp_path / "runs"),
                "benchmarks": [
                    {
                        "name": "starbench",
                        "args": {"data_dir": str(root), "data": "pc+tr"},
                        "replicates": {"scheme": "none"},
                    }
                ],
                "models": [
                    _endpoint(r, server.url) for r in ("step-audio2", "kimi-audio", "desta25")
                ],
                "progress": False,
                "preflight": False,
            }
        )
        bodies = list(server.bodies)
    seen: dict[tuple[str | None, bool], set[int]] = {}
    for body in bodies:
        messages = body["messages"]
        system = messages[0]["content"] if messages[0]["role"] == "system" else None
        text = json.dumps(messages)
        temporal = "clip 1:" in text
        seen.setdefault((system, temporal), set()).add(body["max_tokens"])
        assert body["temperature"] == 0.0
        users = [m for m in messages if m["role"] == "user"]
        if system is None:  # Kimi-Audio: every part its own user message
            assert len(users) > 1
            assert all(isinstance(m["content"], str) or len(m["content"]) == 1 for m in users)
        else:
            assert len(users) == 1
    step, desta = RECIPES["step-audio2"].system, RECIPES["desta25"].system
    assert seen == {
        (step, False): {256},
        (step, True): {1024},
        (desta, False): {256},
        (desta, True): {1024},
        (None, False): {256},
        (None, True): {256},
    }
    with pytest.raises(ValueError, match="unknown starbench recipe"):
        registry.models.get("starbench-openai")(recipe="nope", model="m", base_url=server.url)
