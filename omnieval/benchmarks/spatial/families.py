"""Upstream's per-family prompt formats and answer post-processing for the spatial QA tasks.

A spatial task sends its frames as an image sequence and one text (`prompts.py`). Upstream
(LilyYang0504/dyn-bench and Bench, `utils/run_qa_task.py`) shows the frames to each model
family its own way and cleans each family's answer its own way; a `PromptFamily` records that,
`render` turns a task request into the family's request, and `postprocess` applies the family's
answer rule. The `spatial-family` model (`family_model.py`) puts both around any chat provider.

The table of families (frames, text, answer rule, token budget) is in docs/spatial-models.md.
Requests are decoded greedily (temperature 0) with the family's token budget; upstream passes
`do_sample=False` for InternVL and Spatial-SSRL and otherwise keeps each checkpoint's
`generation_config` defaults.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from omnieval.types import GenerationParams, ImagePart, Part, Request, TextPart, VideoPart

FrameLayout = Literal["video", "frame-prefix", "images"]
AnswerRule = Literal["plain", "after-think", "boxed"]

VST_SYSTEM_PROMPT = (
    "You are a helpful assistant. You should first think about the reasoning process in the mind "
    "and then provide the user with the answer. The reasoning process is enclosed within "
    "<think> </think> tags, i.e. <think> reasoning process here </think> answer here."
)
SSRL_FORMAT_PROMPT = (
    "\n You FIRST think about the reasoning process as an internal monologue and then provide "
    "the final answer. The reasoning process MUST BE enclosed within <think> </think> tags. The "
    "final answer MUST BE put in \\boxed{}."
)
#: the frame rate dyn-bench's Qwen2.5-VL path implies (qwen_vl_utils' default for a list of
#: images) and what a packed video is written at unless a family states its own
DEFAULT_VIDEO_FPS = 2.0


@dataclass(frozen=True)
class PromptFamily:
    """How one upstream model family is prompted and how its answer is read."""

    name: str
    label: str
    frames: FrameLayout
    answer: AnswerRule = "plain"
    system: str | None = None
    prefix: str = ""
    suffix: str = ""
    max_new_tokens: int = 512
    video_fps: float = DEFAULT_VIDEO_FPS
    masks: bool = False
    #: how upstream loads it (documentation; omnieval reaches it through `hf` or `openai`)
    upstream_loader: str = ""


FAMILIES: dict[str, PromptFamily] = {
    f.name: f
    for f in (
        PromptFamily(
            "sa2va", "Sa2VA", "images", prefix="<image>", masks=True,
            upstream_loader="AutoModel + predict_forward (trust_remote_code)",
        ),
        PromptFamily(
            "unipixel", "UniPixel", "video", masks=True,
            upstream_loader="thirdparty/UniPixel build_model (SAM 2 frames)",
        ),
        PromptFamily(
            "internvl3", "InternVL3", "frame-prefix", max_new_tokens=128,
            upstream_loader="AutoModel.chat (trust_remote_code), 448 px, max_num=1 per frame",
        ),
        PromptFamily(
            "internvl3.5", "InternVL3.5", "frame-prefix", max_new_tokens=128,
            upstream_loader="AutoModel.chat (trust_remote_code), 448 px, max_num=1 per frame",
        ),
        PromptFamily(
            "qwen2.5-vl", "Qwen2.5-VL", "video",
            upstream_loader="Qwen2_5_VLForConditionalGeneration",
        ),
        PromptFamily(
            "qwen3-vl", "Qwen3-VL", "video", video_fps=24.0,
            upstream_loader="Qwen3VLForConditionalGeneration (video_metadata fps 24)",
        ),
        PromptFamily(
            "qwen3-vl-moe", "Qwen3-VL MoE", "video", video_fps=24.0,
            upstream_loader="Qwen3VLMoeForConditionalGeneration (video_metadata fps 24)",
        ),
        PromptFamily(
            "llava-onevision-1.5", "LLaVA-OneVision-1.5", "video", max_new_tokens=1024,
            upstream_loader="AutoModelForCausalLM (trust_remote_code)",
        ),
        PromptFamily(
            "vst", "VST", "video", answer="after-think", system=VST_SYSTEM_PROMPT,
            upstream_loader="Qwen2_5_VLForConditionalGeneration, 256..1280 x 28x28 pixels",
        ),
        PromptFamily(
            "spatial-ssrl", "Spatial-SSRL", "video", answer="boxed", suffix=SSRL_FORMAT_PROMPT,
            max_new_tokens=4096, upstream_loader="Qwen2_5_VLForConditionalGeneration",
        ),
        PromptFamily(
            "spatial-ladder", "SpatialLadder", "video",
            upstream_loader="Qwen2_5_VLForConditionalGeneration",
        ),
        PromptFamily(
            "spacer-sft", "SpaceR-SFT", "video",
            upstream_loader="Qwen2_5_VLForConditionalGeneration",
        ),
    )
}  # fmt: skip


class UnknownFamilyError(ValueError):
    """A family name that is not in `FAMILIES`."""


def family(name: str) -> PromptFamily:
    try:
        return FAMILIES[name]
    except KeyError:
        known = ", ".join(FAMILIES)
        raise UnknownFamilyError(f"unknown model family {name!r}; known: {known}") from None


# --------------------------------------------------------------------------- prompts


def render(fam: PromptFamily, request: Request, video_dir: Path | None = None) -> Request:
    """The task request in `fam`'s format: frames laid out as the family takes them, its
    prefix/suffix around the text, its system prompt, greedy decoding with its token budget.

    `video` families get the frames packed into one silent video (`pack_video`, written under
    `video_dir`, default `~/.cache/omnieval/spatial-videos`) at the family's frame rate."""
    frames = [p for p in request.parts if isinstance(p, ImagePart)]
    text = "\n\n".join(p.text for p in request.parts if isinstance(p, TextPart))
    parts: list[Part] = []
    if fam.frames == "frame-prefix":
        for i, frame in enumerate(frames):
            parts += [TextPart(text=f"Frame{i + 1}: "), frame, TextPart(text="\n")]
    elif fam.frames == "video" and frames:
        directory = video_dir or Path.home() / ".cache" / "omnieval" / "spatial-videos"
        parts.append(VideoPart(path=pack_video(frames, fam.video_fps, directory), with_audio=False))
    else:
        parts += frames
    parts.append(TextPart(text=f"{fam.prefix}{text}{fam.suffix}"))
    generation = GenerationParams(
        temperature=0.0,
        top_p=1.0,
        max_tokens=fam.max_new_tokens,
        seed=request.generation.seed,
        extra=request.generation.extra,
    )
    return request.model_copy(
        update={
            "parts": tuple(parts),
            "system": fam.system or request.system,
            "generation": generation,
        }
    )


# --------------------------------------------------------------------------- answers

_BOXED = re.compile(r"\\boxed\{([^}]+)\}")


def postprocess(fam: PromptFamily, text: str) -> str:
    """The answer as upstream keeps it for scoring.

    `after-think` (VST): the text after the last `</think>`, stripped (unchanged without one).
    `boxed` (Spatial-SSRL): the first `\\boxed{...}`'s content (unstripped, as upstream), else
    the text after the last `</think>`, else unchanged. `plain`: unchanged, except Sa2VA's
    `<|im_end|>` removed and stripped."""
    if fam.answer == "boxed":
        found = _BOXED.search(text)
        if found:
            return found.group(1)
        return text.split("</think>")[-1].strip() if "</think>" in text else text
    if fam.answer == "after-think":
        return text.split("</think>")[-1].strip() if "</think>" in text else text
    if fam.name == "sa2va":
        return text.replace("<|im_end|>", "").strip()
    return text


# --------------------------------------------------------------------------- packed videos


def pack_video(frames: Sequence[ImagePart], fps: float, directory: Path) -> Path:
    """The frames as one H.264 mp4 at `fps` (every frame kept, in order), named by the digest
    of the frames' bytes and the rate, so the same sequence is written once. Odd sizes are
    padded by one edge pixel (H.264 4:2:0 needs even sizes)."""
    digest = hashlib.sha256(f"{fps:g}".encode())
    for frame in frames:
        data = frame.data if frame.data is not None else Path(str(frame.path)).read_bytes()
        digest.update(hashlib.sha256(data).digest())
    target = directory / f"{digest.hexdigest()[:24]}.mp4"
    if target.exists():
        return target
    from omnieval.models.hf.messages import decode_image

    arrays = [_even(decode_image(f)) for f in frames]
    directory.mkdir(parents=True, exist_ok=True)
    # a private temporary name: trials packing the same frames at once each write their own,
    # and the last rename wins with identical bytes
    handle, name = tempfile.mkstemp(prefix=".tmp-", suffix=".mp4", dir=directory)
    os.close(handle)
    partial = Path(name)
    try:
        _write_mp4(partial, arrays, fps)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _even(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def _write_mp4(path: Path, arrays: Sequence[np.ndarray], fps: float) -> None:
    import av

    height, width = arrays[0].shape[:2]
    rate = Fraction(fps).limit_denominator(1000)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast"}
        for i, array in enumerate(arrays):
            if array.shape[:2] != (height, width):
                raise ValueError(
                    f"frame {i} is {array.shape[1]}x{array.shape[0]}, frame 0 is "
                    f"{width}x{height}: a packed video needs one frame size"
                )
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
