"""Point 5 of the spatial issue: upstream's model registry (family detection, aliases for
renamed folders, hub-cache paths, upstream config -> run config) and each family's prompt
format and answer rule, checked on real requests sent to a loopback OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
import yaml

from omnieval import registry
from omnieval.benchmarks.spatial.families import (
    FAMILIES,
    SSRL_FORMAT_PROMPT,
    VST_SYSTEM_PROMPT,
    UnknownFamilyError,
    family,
    postprocess,
    render,
)
from omnieval.benchmarks.spatial.family_model import FamilyPromptModel
from omnieval.benchmarks.spatial.model_registry import (
    KNOWN_MODELS,
    UnknownModelError,
    UpstreamModel,
    canonical_id,
    detect_family,
    model_spec,
    upstream_run_config,
)
from omnieval.config import resolve_run_config
from omnieval.media.encode import encode_png
from omnieval.types import ImagePart, Request, TextPart, VideoPart
from tests.loopback import LoopbackConfig, LoopbackServer

QA_TEXT = (
    "Which object is nearer to the camera?\nA. the red cube\nB. the blue ball\n"
    "Answer with the option's letter from the given choices directly."
)
UPSTREAM_FAMILIES = {
    "sa2va", "unipixel", "internvl3", "internvl3.5", "qwen2.5-vl", "qwen3-vl", "qwen3-vl-moe",
    "llava-onevision-1.5", "vst", "spatial-ssrl", "spatial-ladder", "spacer-sft",
}  # fmt: skip


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four 33x25 frames (odd sizes) whose red square moves: each frame differs."""
    directory = tmp_path_factory.mktemp("frames")
    paths = []
    for i in range(4):
        image = np.full((25, 33, 3), 80, dtype=np.uint8)
        image[5:15, 4 + 5 * i : 14 + 5 * i] = (230, 20, 20)
        path = directory / f"frame_{i:04d}.png"
        path.write_bytes(encode_png(image))
        paths.append(path)
    return paths


def _qa_request(frames: list[Path]) -> Request:
    return Request(
        parts=(*(ImagePart(path=p) for p in frames), TextPart(text=QA_TEXT)),
        metadata={"spatial": {"kind": "qa", "frames": len(frames)}},
    )


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(LoopbackConfig(reply="A")) as srv:
        yield srv


# --------------------------------------------------------------------------- registry


def test_every_upstream_model_is_detected_as_its_family() -> None:
    assert set(FAMILIES) == UPSTREAM_FAMILIES
    assert {m.family for m in KNOWN_MODELS} == UPSTREAM_FAMILIES
    for known in KNOWN_MODELS:
        assert detect_family(known.hub_id) == known.family, known.hub_id
    assert len(KNOWN_MODELS) == 41  # 10 Sa2VA, 2 UniPixel, 13 InternVL, 9 Qwen, 7 others
    masks = {m.hub_id for m in KNOWN_MODELS if m.masks}
    assert "ByteDance/Sa2VA-Qwen3-VL-4B" in masks and "PolyU-ChenLab/UniPixel-7B" in masks
    assert not any("Qwen/" in m or "OpenGVLab" in m for m in masks)  # QA-only families
    # the order matters as upstream's: InternVL3.5 before InternVL3, the MoE before Qwen3-VL
    assert detect_family("OpenGVLab/InternVL3.5-8B") == "internvl3.5"
    assert detect_family("Qwen/Qwen3-VL-30B-A3B-Instruct") == "qwen3-vl-moe"
    assert detect_family("ByteDance/Sa2VA-Qwen2_5-VL-7B") == "sa2va"  # not qwen2.5-vl


def test_local_paths_and_aliases_map_to_the_model_they_hold() -> None:
    cache = "/data/hf/hub/models--Qwen--Qwen2.5-VL-7B-Instruct/snapshots/0a1b2c"
    assert canonical_id(cache) == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert detect_family(cache) == "qwen2.5-vl"
    assert canonical_id("/models/OpenGVLab/InternVL3-8B") == "OpenGVLab/InternVL3-8B"
    assert canonical_id("C:\\models\\rayruiyang\\VST-7B-RL") == "rayruiyang/VST-7B-RL"
    assert canonical_id("Qwen/Qwen3-VL-8B-Instruct") == "Qwen/Qwen3-VL-8B-Instruct"
    # a renamed local folder: unknown on its own, known through its alias
    with pytest.raises(UnknownModelError, match=r"my-finetune.*set `alias` to the hub id"):
        detect_family("/ckpt/my-finetune")
    assert detect_family("/ckpt/my-finetune", alias="internlm/Spatial-SSRL-7B") == "spatial-ssrl"
    with pytest.raises(UnknownModelError, match="known families: sa2va, unipixel"):
        detect_family("gpt-4o", alias="openai/gpt-4o")
    with pytest.raises(UnknownFamilyError, match="unknown model family 'qwen9'"):
        family("qwen9")


UPSTREAM_CONFIG = """
datasets:
  repo_name: "LilyYang0504/BenchDatasets"
  local_dir: "{data}"
model:
  name: "/ckpt/renamed-folder"
  alias: "rayruiyang/VST-7B-RL"
  device: "cuda"
  torch_dtype: "bfloat16"
  use_flash_attn: false
  trust_remote_code: true
  cache_dir: null
task:
  type: "qa"
  max_frames: 8
  limit: 5
evaluation:
  boundary_threshold: 2
output:
  results_dir: "{out}"
  save_details: true
  save_masks: true
"""


def test_upstream_config_becomes_a_run_config(tmp_path: Path) -> None:
    raw = yaml.safe_load(UPSTREAM_CONFIG.format(data=tmp_path / "data", out=tmp_path / "res"))
    converted = upstream_run_config(raw)
    assert converted["benchmarks"] == [
        {
            "name": "spatial",
            "args": {
                "data_dir": str(tmp_path / "data"),
                "task_type": "qa",
                "max_frames": 8,
                "limit": 5,
            },
        }
    ]
    (model,) = converted["models"]
    assert model["alias"] == "rayruiyang/VST-7B-RL" and model["provider"] == "spatial-family"
    assert model["init_args"]["family"] == "vst"
    inner = model["init_args"]["model"]
    assert inner["provider"] == "hf"
    assert inner["init_args"]["model_path"] == "/ckpt/renamed-folder"
    assert inner["init_args"]["attn_implementation"] == "eager"  # use_flash_attn: false
    assert inner["init_args"]["dtype"] == "bfloat16" and inner["init_args"]["device"] == "auto"
    config, _ = resolve_run_config(converted)  # a valid omnieval run config
    assert config.models[0].provider in registry.models
    assert config.benchmarks[0].name in registry.benchmarks
    # served through vLLM / omnieval serve instead; Sa2VA goes to its own provider
    served = model_spec(
        UpstreamModel(name="Qwen/Qwen3-VL-8B-Instruct", provider="openai", base_url="http://h/v1")
    )
    assert served["init_args"]["model"]["init_args"]["inputs"] == ["text", "image", "video"]
    sa2va = model_spec(UpstreamModel(name="ByteDance/Sa2VA-Qwen3-VL-4B"))
    assert sa2va["provider"] == "sa2va" and sa2va["init_args"]["text_input"] == "processor"
    assert model_spec(UpstreamModel(name="ByteDance/Sa2VA-8B"))["init_args"]["text_input"] == (
        "tokenizer"
    )
    with pytest.raises(ValueError, match="provider openai needs base_url"):
        model_spec(UpstreamModel(name="Qwen/Qwen3-VL-8B-Instruct", provider="openai"))


def test_converter_command_prints_the_run_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from omnieval.benchmarks.spatial.model_registry import main

    conf = tmp_path / "config.yaml"
    conf.write_text(UPSTREAM_CONFIG.format(data="/d", out="/r"), encoding="utf-8")
    assert main([str(conf), "--name", "vst-run"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["name"] == "vst-run" and printed["output"] == "/r"
    assert printed["models"][0]["init_args"]["family"] == "vst"
    conf.write_text("model: {name: /ckpt/unknown-folder}\n", encoding="utf-8")
    assert main([str(conf)]) == 2
    assert "set `alias` to the hub id" in capsys.readouterr().err


# --------------------------------------------------------------------------- answers


def test_answer_rules_follow_upstream() -> None:
    vst, ssrl, qwen, sa2va = (family(n) for n in ("vst", "spatial-ssrl", "qwen2.5-vl", "sa2va"))
    assert postprocess(vst, "<think>left of it</think>  B. the ball ") == "B. the ball"
    assert postprocess(vst, "<think>a</think>x</think> C") == "C"  # after the last one
    assert postprocess(vst, "B") == "B"
    assert postprocess(ssrl, "<think>so \\boxed{no}</think> \\boxed{A}") == "no"  # the first
    assert postprocess(ssrl, "<think>hm</think> \\boxed{ B }") == " B "  # unstripped, as upstream
    assert postprocess(ssrl, "<think>hm</think> A.") == "A."
    assert postprocess(ssrl, "A") == "A"
    assert postprocess(qwen, " The answer is A.\n") == " The answer is A.\n"
    assert postprocess(sa2va, "B<|im_end|>") == "B"


# --------------------------------------------------------------------------- prompts


def _video_frames(path: Path) -> tuple[int, float, tuple[int, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(video=0))
        return count, float(stream.average_rate or 0), (stream.height, stream.width)


def test_render_lays_out_frames_as_each_family_takes_them(
    frames: list[Path], tmp_path: Path
) -> None:
    request = _qa_request(frames)
    intern = render(family("internvl3"), request)
    texts = [p.text if isinstance(p, TextPart) else None for p in intern.parts]
    assert texts[:3] == ["Frame1: ", None, "\n"] and texts[9:12] == ["Frame4: ", None, "\n"]
    assert [p.path for p in intern.parts if isinstance(p, ImagePart)] == frames
    assert intern.parts[-1] == TextPart(text=QA_TEXT)
    assert intern.generation.max_tokens == 128 and intern.generation.temperature == 0.0

    qwen3 = render(family("qwen3-vl"), request, tmp_path)
    (video,) = [p for p in qwen3.parts if isinstance(p, VideoPart)]
    assert not any(isinstance(p, ImagePart) for p in qwen3.parts) and not video.with_audio
    count, fps, size = _video_frames(video.path)
    assert (count, fps, size) == (4, 24.0, (26, 34))  # every frame, told 24 fps, padded even
    assert render(family("qwen3-vl"), request, tmp_path).parts[0] == video  # packed once
    qwen25 = render(family("qwen2.5-vl"), request, tmp_path)
    assert _video_frames(qwen25.parts[0].path)[:2] == (4, 2.0)  # type: ignore[union-attr]

    vst = render(family("vst"), request, tmp_path)
    assert vst.system == VST_SYSTEM_PROMPT and vst.parts[-1] == TextPart(text=QA_TEXT)
    ssrl = render(family("spatial-ssrl"), request, tmp_path)
    assert ssrl.parts[-1] == TextPart(text=QA_TEXT + SSRL_FORMAT_PROMPT)
    assert ssrl.generation.max_tokens == 4096 and ssrl.system is None
    sa2va = render(family("sa2va"), request)
    assert sa2va.parts[-1] == TextPart(text="<image>" + QA_TEXT)
    assert len([p for p in sa2va.parts if isinstance(p, ImagePart)]) == 4
    assert render(family("llava-onevision-1.5"), request, tmp_path).generation.max_tokens == 1024
    assert request.metadata == vst.metadata  # the task's metadata is kept


def test_family_model_sends_the_format_and_reads_the_answer(
    frames: list[Path], tmp_path: Path, server: LoopbackServer
) -> None:
    inner = {
        "provider": "openai",
        "init_args": {
            "model": "vst",
            "base_url": server.url,
            "inputs": ["text", "image", "video"],
        },
    }
    server.config.reply = "<think>The cube is bigger, so nearer.</think> A"
    vst = FamilyPromptModel(model=inner, model_id="/x/y", alias="rayruiyang/VST-7B-RL",
                            video_dir=str(tmp_path))  # fmt: skip
    intern = FamilyPromptModel(
        model={**inner, "init_args": {**inner["init_args"], "inputs": ["text", "image"]}},
        family="internvl3.5",
    )

    async def run() -> None:
        try:
            answer = await vst.generate(_qa_request(frames))
            assert answer.text == "A"
            assert answer.rendering is not None
            assert answer.rendering["raw_answer"].startswith("<think>")
            assert answer.rendering["family"] == "vst"
            body = server.bodies[-1]
            assert body["messages"][0] == {"role": "system", "content": VST_SYSTEM_PROMPT}
            content = body["messages"][1]["content"]
            assert [p["type"] for p in content] == ["video_url", "text"]
            assert content[1]["text"] == QA_TEXT and body["max_tokens"] == 512
            url = content[0]["video_url"]["url"]
            assert url.startswith("data:video/mp4;base64,")
            packed = tmp_path / "sent.mp4"
            packed.write_bytes(base64.b64decode(url.split(",", 1)[1]))
            assert _video_frames(packed)[0] == 4

            server.config.reply = "B"
            assert (await intern.generate(_qa_request(frames))).text == "B"
            content = server.bodies[-1]["messages"][-1]["content"]
            kinds = [p["type"] if p["type"] != "text" else p["text"] for p in content]
            assert kinds == [
                *[k for i in range(1, 5) for k in (f"Frame{i}: ", "image_url", "\n")],
                QA_TEXT,
            ]
            assert server.bodies[-1]["max_tokens"] == 128
        finally:
            await vst.close()
            await intern.close()

    asyncio.run(run())
    assert vst.fingerprint()["family"] == "vst"
    with pytest.raises(ValueError, match=r"sends the frames as video.*inputs: \[text, image"):
        FamilyPromptModel(model={**inner, "init_args": {"model": "m", "base_url": server.url}},
                          family="qwen2.5-vl")  # fmt: skip


# --------------------------------------------------------------------------- shipped file

SHIPPED = Path(__file__).resolve().parents[1] / "omnieval" / "data" / "spatial-models.yaml"


def test_shipped_models_file_maps_upstream_models_to_providers() -> None:
    from omnieval.config import load_aliases, resolve_model

    aliases = load_aliases(Path("spatial"), {})  # `--models-file spatial`
    entries = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))["models"]
    covered: set[str] = set()
    for alias in entries:
        spec = resolve_model(alias, aliases)
        assert spec.provider in registry.models, alias
        args = spec.init_args
        if spec.provider == "spatial-family":
            inner = args["model"]["init_args"]
            model_id = inner.get("model") or inner.get("model_path")
            # the family written in the file is the one upstream's rules give its model id
            assert detect_family(model_id) == args["family"], alias
            covered.add(args["family"])
            if args["model"]["provider"] == "openai":  # builds without a call
                built = registry.models.get("spatial-family")(**args)
                assert built.capabilities.output == "text"
        elif spec.provider == "sa2va":
            covered.add("sa2va")
            built = registry.models.get("sa2va")(**args)
            assert built.capabilities.produces("masks") and built.capabilities.produces("text")
        else:
            assert spec.provider == "grounded-sam2"
            built = registry.models.get("grounded-sam2")(**args)  # SAM 2 loads on first use
            assert built.capabilities.output == "masks"
    assert covered == UPSTREAM_FAMILIES  # one alias or more for every upstream family
