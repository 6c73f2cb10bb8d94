"""Upstream's model registry: which family a model id (or a renamed local folder) belongs to,
and upstream's evaluation config turned into an omnieval run config.

Detection follows Bench v1.0's `get_model_type` (substring and regex rules on the hub id, in
the same order) on a *canonical id*: the config's `alias` when given (a renamed local folder
mapped to the model it holds), else the id parsed from a hub-cache path
(`.../models--Qwen--Qwen2.5-VL-7B-Instruct/snapshots/...` -> `Qwen/Qwen2.5-VL-7B-Instruct`), else
`<org>/<next folder>` for a known organisation in the path, else the name itself.

`upstream_run_config(cfg)` reads dyn-bench's `conf/config.yaml` keys (`datasets.local_dir`,
`model.{name, alias, device, torch_dtype, use_flash_attn, trust_remote_code}`,
`task.{type, max_frames, limit}`, `output.results_dir`) plus an omnieval `model.provider`
(`hf`, default, or `openai` with `base_url`) and returns an omnieval run config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omnieval.benchmarks.spatial.families import FAMILIES, family

#: (family, rule on the lower-cased canonical id), tried in order as upstream does
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("sa2va", r"bytedance/sa2va"),
        ("unipixel", r"unipixel"),
        ("internvl3.5", r"opengvlab/internvl3[._]5"),
        ("internvl3", r"opengvlab/internvl3"),
        ("qwen3-vl-moe", r"qwen/qwen3-vl-\d+b-a\d+b"),
        ("qwen3-vl", r"qwen/qwen3-vl"),
        ("qwen2.5-vl", r"qwen/qwen2\.5-vl"),
        ("llava-onevision-1.5", r"llava-one-?vision"),
        ("vst", r"vst-\d+b"),
        ("spatial-ssrl", r"spatial-ssrl"),
        ("spatial-ladder", r"spatialladder"),
        ("spacer-sft", r"spacer-sft"),
    )
)
#: organisations whose folder names upstream recognises inside a local path
KNOWN_ORGS = (
    "OpenGVLab", "Qwen", "ByteDance", "lmms-lab", "rayruiyang", "internlm", "hongxingli",
    "RUBBISHLIKE", "PolyU-ChenLab",
)  # fmt: skip
_CACHE_DIR = re.compile(r"models--([^/\\]+)--([^/\\]+)")


@dataclass(frozen=True)
class KnownModel:
    """One checkpoint of upstream's model list."""

    hub_id: str
    family: str

    @property
    def masks(self) -> bool:
        return FAMILIES[self.family].masks


def _ids(pattern: str, sizes: str) -> list[str]:
    return [pattern.format(s) for s in sizes.split()]


#: upstream's model list (Bench README / seed reference §5.6), by family
KNOWN_MODELS: tuple[KnownModel, ...] = tuple(
    KnownModel(hub_id, fam)
    for fam, ids in (
        ("sa2va", [*_ids("ByteDance/Sa2VA-{}B", "1 4 8"),
                   *_ids("ByteDance/Sa2VA-InternVL3-{}B", "2 8 14"),
                   *_ids("ByteDance/Sa2VA-Qwen2_5-VL-{}B", "3 7"),
                   *_ids("ByteDance/Sa2VA-Qwen3-VL-{}B", "2 4")]),
        ("unipixel", _ids("PolyU-ChenLab/UniPixel-{}B", "3 7")),
        ("internvl3", _ids("OpenGVLab/InternVL3-{}B", "1 2 8 9 14 38 78")),
        ("internvl3.5", _ids("OpenGVLab/InternVL3_5-{}B", "1 2 4 8 14 38")),
        ("qwen2.5-vl", _ids("Qwen/Qwen2.5-VL-{}B-Instruct", "3 7 32 72")),
        ("qwen3-vl", _ids("Qwen/Qwen3-VL-{}B-Instruct", "2 4 8 32")),
        ("qwen3-vl-moe", ["Qwen/Qwen3-VL-235B-A22B-Instruct"]),
        ("llava-onevision-1.5", _ids("lmms-lab/LLaVA-One-Vision-1.5-{}B-Instruct", "4 8")),
        ("vst", ["rayruiyang/VST-7B-RL"]),
        ("spatial-ssrl", ["internlm/Spatial-SSRL-7B"]),
        ("spatial-ladder", ["hongxingli/SpatialLadder-3B"]),
        ("spacer-sft", _ids("RUBBISHLIKE/SpaceR-SFT-{}B", "3 7")),
    )
    for hub_id in ids
)  # fmt: skip


class UnknownModelError(ValueError):
    """A model whose id matches no family of upstream's registry."""


def canonical_id(name: str, alias: str | None = None) -> str:
    """The hub id a model name, local path or alias stands for (see the module docstring)."""
    if alias:
        return alias
    text = name.replace("\\", "/")
    cached = _CACHE_DIR.search(text)
    if cached:
        return f"{cached.group(1)}/{cached.group(2)}"
    parts = [p for p in text.split("/") if p]
    for org in KNOWN_ORGS:
        for i, part in enumerate(parts[:-1]):
            if part.lower() == org.lower():
                return f"{org}/{parts[i + 1]}"
    if len(parts) == 2 and not text.startswith(("/", ".")):
        return text  # a hub id
    return PurePath(text).name or text


def detect_family(name: str, alias: str | None = None) -> str:
    """The prompt family of a model name / local path, or of its `alias` when given."""
    model_id = canonical_id(name, alias)
    lowered = model_id.lower()
    for fam, rule in _RULES:
        if rule.search(lowered):
            return fam
    hint = "" if alias else " (a renamed local folder? set `alias` to the hub id it holds)"
    raise UnknownModelError(
        f"model {name!r} (read as {model_id!r}) is not in the spatial model registry{hint}; "
        f"known families: {', '.join(FAMILIES)}"
    )


# --------------------------------------------------------------------------- upstream config


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore")


class UpstreamDatasets(_Section):
    repo_name: str = "LilyYang0504/BenchDatasets"
    local_dir: str = "./datasets"


class UpstreamModel(_Section):
    name: str
    alias: str | None = None
    device: str = "cuda"
    torch_dtype: Literal["auto", "bfloat16", "float16", "float32"] = "bfloat16"
    use_flash_attn: bool = True
    trust_remote_code: bool = True
    #: omnieval's: how to reach the model (`hf` in process, `openai` behind vLLM / serve)
    provider: Literal["hf", "openai"] = "hf"
    base_url: str | None = None
    api_key: str | None = None
    served_name: str | None = None


class UpstreamTask(_Section):
    type: Literal["all", "qa", "mask"] = "all"
    max_frames: int | None = Field(default=None, ge=1)
    limit: int | None = Field(default=None, ge=1)


class UpstreamOutput(_Section):
    results_dir: str = "./results"


class UpstreamConfig(_Section):
    """dyn-bench's `conf/config.yaml` (unknown keys such as `evaluation` are ignored: J&F
    settings are the benchmark's own, `jf:` in its args)."""

    datasets: UpstreamDatasets = Field(default_factory=UpstreamDatasets)
    model: UpstreamModel
    task: UpstreamTask = Field(default_factory=UpstreamTask)
    output: UpstreamOutput = Field(default_factory=UpstreamOutput)


def model_spec(model: UpstreamModel) -> dict[str, Any]:
    """The omnieval model entry for an upstream `model:` section: the family's prompt format
    (`spatial-family`) around `hf` (in process) or `openai` (served); Sa2VA through `sa2va`."""
    fam = detect_family(model.name, model.alias)
    model_id = canonical_id(model.name, model.alias)
    display = model.alias or model_id
    if fam == "sa2va":
        text_input = "processor" if re.search(r"qwen", model_id, re.I) else "tokenizer"
        return {
            "alias": display,
            "provider": "sa2va",
            "init_args": {
                "model_path": model.name,
                "text_input": text_input,
                "device": model.device,
                "dtype": "bfloat16" if model.torch_dtype == "auto" else model.torch_dtype,
                "use_flash_attn": model.use_flash_attn,
            },
        }
    inner: dict[str, Any]
    if model.provider == "openai":
        if not model.base_url:
            raise ValueError(f"model {model.name!r}: provider openai needs base_url")
        inner_args: dict[str, Any] = {
            "model": model.served_name or model.name,
            "base_url": model.base_url,
            "inputs": ["text", "image", "video"],
        }
        if model.api_key:
            inner_args["api_key"] = model.api_key
        inner = {"provider": "openai", "init_args": inner_args}
    else:
        inner = {
            "provider": "hf",
            "init_args": {
                "model_path": model.name,
                "device": "auto" if model.device == "cuda" else model.device,
                "dtype": model.torch_dtype,
                "attn_implementation": "flash_attention_2" if model.use_flash_attn else "eager",
                "trust_remote_code": model.trust_remote_code,
                # every packed frame reaches the model: sample at the packed rate
                "video_fps": family(fam).video_fps,
                "max_frames": 10_000,
            },
        }
    return {
        "alias": display,
        "provider": "spatial-family",
        "init_args": {"family": fam, "model": inner},
    }


def upstream_run_config(raw: Mapping[str, Any], name: str | None = None) -> dict[str, Any]:
    """An omnieval run config (plain data for `resolve_run_config` / a YAML file) from
    upstream's config: the `spatial` benchmark with the task type, `max_frames` and `limit`,
    and the model mapped by `model_spec`."""
    cfg = UpstreamConfig.model_validate(dict(raw))
    args: dict[str, Any] = {"data_dir": cfg.datasets.local_dir, "task_type": cfg.task.type}
    if cfg.task.max_frames is not None:
        args["max_frames"] = cfg.task.max_frames
    if cfg.task.limit is not None:
        args["limit"] = cfg.task.limit
    spec = model_spec(cfg.model)
    return {
        "name": name or re.sub(r"[^A-Za-z0-9._-]+", "-", f"spatial-{spec['alias']}"),
        "output": cfg.output.results_dir,
        "benchmarks": [{"name": "spatial", "args": args}],
        "models": [spec],
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m omnieval.benchmarks.spatial.model_registry conf/config.yaml > run.yaml`:
    print the omnieval run config for an upstream (dyn-bench) config file."""
    import argparse
    import sys

    import yaml

    parser = argparse.ArgumentParser(
        prog="python -m omnieval.benchmarks.spatial.model_registry",
        description="Turn an upstream dyn-bench config.yaml into an omnieval run config.",
    )
    parser.add_argument("config", help="upstream conf/config.yaml")
    parser.add_argument("--name", default=None, help="the run's name")
    args = parser.parse_args(argv)
    try:
        with open(args.config, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
        converted = upstream_run_config(raw, args.name)
    except (OSError, ValueError) as err:
        print(f"error: {args.config}: {err}", file=sys.stderr)
        return 2
    yaml.safe_dump(converted, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
