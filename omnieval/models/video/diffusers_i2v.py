"""Open image-to-video models through `diffusers` pipelines, run in this process.

Each family has its documented defaults (model card / diffusers docs, and upstream VMEvalKit's
wrappers): frame count, export fps, guidance, steps and output size.

| family | pipeline | frames | fps | guidance | steps | size (WxH) |
|---|---|---|---|---|---|---|
| `ltx-video` | LTXImageToVideoPipeline | 161 (8k+1) | 24 | 3.0 | 50 | 704x480 |
| `ltx-2` | LTX2ImageToVideoPipeline | 121 (8k+1) | 24 | 3.0 | 30 | 768x512 |
| `hunyuan-video-i2v` | HunyuanVideoImageToVideoPipeline | 129 (4k+1) | 24 | 1.0 | 50 | 1280x720 |
| `sana-video` | SanaImageToVideoPipeline | 81 (4k+1) | 16 | 4.5 | 50 | 832x480 |
| `cogvideox-i2v` | CogVideoXImageToVideoPipeline | 49 (fixed) | 8 | 6.0 | 50 | 720x480 |
| `cogvideox1.5-i2v` | CogVideoXImageToVideoPipeline | 81 (16k+1) | 16 | 6.0 | 50 | 1360x768 |
| `wan-i2v` | WanImageToVideoPipeline | 81 (4k+1) | 16 | 5.0 | 50 | ~480x832, image aspect |
| `wan-i2v-720p` | WanImageToVideoPipeline | 81 (4k+1) | 16 | 5.0 | 50 | ~720x1280, image aspect |
| `wan2.2-i2v` | WanImageToVideoPipeline | 81 (4k+1) | 16 | 3.5 (+3.5 low-noise) | 40 | ~720x1280 |
| `wan2.2-ti2v` | WanImageToVideoPipeline | 121 (4k+1) | 24 | 5.0 | 50 | ~704x1280 |
| `svd` | StableVideoDiffusionPipeline | 25 | 7 | 1.0 -> 3.0 | 25 | 1024x576, no prompt |

The request's `resolution` replaces the size (rounded down to the family's multiple) and its
`fps` the export rate; `duration` sets the frame count only with `follow_duration: true`
(frames = duration x fps, rounded to the family's rule), since these models are trained on one
length. SVD takes no prompt. What was ignored is listed in the artifact's `meta.request`.
The first frame is letterboxed (white) to the output size; the input file is never touched.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omnieval import registry
from omnieval.models.base import (
    Model,
    ModelCapabilities,
    PermanentModelError,
    PreflightError,
)
from omnieval.models.video.media import decode_image, frames_to_mp4, letterbox
from omnieval.models.video.spec import VideoSpec, video_response
from omnieval.types import Modality, Request, Response


@dataclass(frozen=True)
class Family:
    """One pipeline family's documented defaults."""

    pipeline: str
    num_frames: int
    fps: int
    guidance_scale: float
    steps: int
    size: tuple[int, int]  # (width, height); for `by_area` families, the area to keep
    frame_step: int = 1  # valid frame counts are frame_step * k + 1 (1: any count)
    fixed_frames: bool = False
    multiple: int = 16  # width and height are multiples of this
    by_area: bool = False  # size follows the image's aspect ratio at the given area
    uses_prompt: bool = True
    frame_rate_arg: bool = False  # the pipeline takes the fps as `frame_rate` (LTX)
    extra: dict[str, Any] = field(default_factory=dict)


FAMILIES: dict[str, Family] = {
    "ltx-video": Family(
        "LTXImageToVideoPipeline",
        161,
        24,
        3.0,
        50,
        (704, 480),
        frame_step=8,
        multiple=32,
        frame_rate_arg=True,
    ),
    "ltx-2": Family(
        "LTX2ImageToVideoPipeline",
        121,
        24,
        3.0,
        30,
        (768, 512),
        frame_step=8,
        multiple=32,
        frame_rate_arg=True,
    ),
    "hunyuan-video-i2v": Family(
        "HunyuanVideoImageToVideoPipeline", 129, 24, 1.0, 50, (1280, 720), frame_step=4
    ),
    "sana-video": Family("SanaImageToVideoPipeline", 81, 16, 4.5, 50, (832, 480), frame_step=4),
    "cogvideox-i2v": Family(
        "CogVideoXImageToVideoPipeline", 49, 8, 6.0, 50, (720, 480), fixed_frames=True
    ),
    "cogvideox1.5-i2v": Family(
        "CogVideoXImageToVideoPipeline", 81, 16, 6.0, 50, (1360, 768), frame_step=16
    ),
    "wan-i2v": Family(
        "WanImageToVideoPipeline", 81, 16, 5.0, 50, (832, 480), frame_step=4, by_area=True
    ),
    "wan-i2v-720p": Family(
        "WanImageToVideoPipeline", 81, 16, 5.0, 50, (1280, 720), frame_step=4, by_area=True
    ),
    "wan2.2-i2v": Family(
        "WanImageToVideoPipeline",
        81,
        16,
        3.5,
        40,
        (1280, 720),
        frame_step=4,
        by_area=True,
        extra={"guidance_scale_2": 3.5},
    ),
    "wan2.2-ti2v": Family(
        "WanImageToVideoPipeline",
        121,
        24,
        5.0,
        50,
        (1280, 704),
        frame_step=4,
        by_area=True,
        multiple=32,
    ),
    "svd": Family(
        "StableVideoDiffusionPipeline",
        25,
        7,
        3.0,
        25,
        (1024, 576),
        multiple=8,
        uses_prompt=False,
        extra={
            "min_guidance_scale": 1.0,
            "motion_bucket_id": 127,
            "noise_aug_strength": 0.02,
            "decode_chunk_size": 8,
        },
    ),
}


def valid_frames(frames: int, step: int) -> int:
    """The nearest count of the form step * k + 1 (at least step + 1)."""
    if step <= 1:
        return max(1, frames)
    return max(1, round((frames - 1) / step)) * step + 1


def area_size(image_w: int, image_h: int, area: int, multiple: int) -> tuple[int, int]:
    """Upstream's Wan rule: keep the image's aspect ratio at about `area` pixels."""
    aspect = image_h / image_w
    height = max(multiple, round(math.sqrt(area * aspect)) // multiple * multiple)
    width = max(multiple, round(math.sqrt(area / aspect)) // multiple * multiple)
    return width, height


@dataclass(frozen=True)
class Plan:
    """What one pipeline call will be given, and what is recorded about it."""

    kwargs: dict[str, Any]
    fps: int
    size: tuple[int, int]
    recorded: dict[str, Any]


def plan_call(
    family: Family,
    spec: VideoSpec,
    image_size: tuple[int, int],
    overrides: dict[str, Any],
    follow_duration: bool,
) -> Plan:
    """The pipeline keyword arguments for a request (no image: the caller adds it)."""
    fps = spec.fps or int(overrides.get("fps", family.fps))
    frames = int(overrides.get("num_frames", family.num_frames))
    ignored: list[str] = []
    if spec.duration_s is not None:
        if follow_duration and not family.fixed_frames:
            frames = valid_frames(round(spec.duration_s * fps), family.frame_step)
        else:
            ignored.append("duration")
    if spec.resolution is not None:
        width, height = (
            max(family.multiple, v // family.multiple * family.multiple) for v in spec.resolution
        )
    elif family.by_area:
        area = family.size[0] * family.size[1]
        width, height = area_size(image_size[0], image_size[1], area, family.multiple)
    else:
        width, height = family.size
    kwargs: dict[str, Any] = {
        "height": height,
        "width": width,
        "num_frames": frames,
        "num_inference_steps": int(overrides.get("num_inference_steps", family.steps)),
        "output_type": "np",
    }
    guidance = float(overrides.get("guidance_scale", family.guidance_scale))
    if family.pipeline == "StableVideoDiffusionPipeline":
        kwargs["max_guidance_scale"] = guidance
        kwargs["fps"] = fps
        if spec.negative_prompt is not None:
            ignored.append("negative_prompt")
        ignored.append("prompt")
    else:
        kwargs["guidance_scale"] = guidance
        kwargs["prompt"] = spec.prompt
        if spec.negative_prompt is not None:
            kwargs["negative_prompt"] = spec.negative_prompt
    if family.frame_rate_arg:
        kwargs["frame_rate"] = fps
    for key, value in family.extra.items():
        kwargs[key] = overrides.get(key, value)
    recorded: dict[str, Any] = {
        "fps": fps,
        "resolution": f"{width}x{height}",
        "num_frames": frames,
        "num_inference_steps": kwargs["num_inference_steps"],
        "guidance_scale": guidance,
        "seed": spec.seed,
    }
    if ignored:
        recorded["ignored"] = ignored
    return Plan(kwargs, fps, (width, height), recorded)


@registry.models.register("diffusers-i2v")
class DiffusersImageToVideo(Model):
    """A diffusers image-to-video pipeline loaded from `model_path` (a hub id or a directory).

    Arguments: `family` (a key of `FAMILIES`); `model_path`; `device` (`cpu`, `cuda`, ...);
    `dtype` (`float32`, `float16`, `bfloat16`); `overrides` (`num_frames`, `fps`,
    `guidance_scale`, `num_inference_steps`, and family extras such as `motion_bucket_id`);
    `follow_duration`; `cpu_offload` (enable_model_cpu_offload on a GPU box).
    """

    name = "diffusers-i2v"

    def __init__(
        self,
        family: str,
        model_path: str,
        device: str = "cpu",
        dtype: str = "float32",
        overrides: dict[str, Any] | None = None,
        follow_duration: bool = False,
        cpu_offload: bool = False,
    ) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown diffusers family {family!r}; known: {sorted(FAMILIES)}")
        if dtype not in ("float32", "float16", "bfloat16"):
            raise ValueError(f"dtype must be float32, float16 or bfloat16, not {dtype!r}")
        self.family_name = family
        self.family = FAMILIES[family]
        self.model_path = model_path
        self.device = device
        self.dtype = dtype
        self.overrides = dict(overrides or {})
        self.follow_duration = follow_duration
        self.cpu_offload = cpu_offload
        self.capabilities = ModelCapabilities(
            inputs=frozenset({Modality.TEXT, Modality.IMAGE}), output="video", max_concurrency=1
        )
        self._pipe: Any = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"DiffusersImageToVideo(family={self.family_name!r}, model_path={self.model_path!r})"

    def fingerprint(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "family": self.family_name,
            "model": self.model_path,
            "dtype": self.dtype,
            "overrides": self.overrides,
            "follow_duration": self.follow_duration,
        }

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        try:
            import diffusers  # noqa: F401
            import torch  # noqa: F401
        except ImportError as err:
            raise PreflightError(
                f"diffusers-i2v needs torch and diffusers: pip install 'omnieval[video]' "
                f"(and torch): {err}"
            ) from None

    def load(self) -> Any:
        """Build the pipeline (once); called in a worker thread."""
        if self._pipe is None:
            import diffusers
            import torch

            cls = getattr(diffusers, self.family.pipeline)
            pipe = cls.from_pretrained(self.model_path, torch_dtype=getattr(torch, self.dtype))
            if self.cpu_offload:
                pipe.enable_model_cpu_offload()
            else:
                pipe = pipe.to(self.device)
            pipe.set_progress_bar_config(disable=True)
            self._pipe = pipe
        return self._pipe

    async def generate(self, request: Request) -> Response:
        spec = VideoSpec.from_request(request)
        image = decode_image(spec.image.data, spec.image.name)
        plan = plan_call(
            self.family,
            spec,
            (image.shape[1], image.shape[0]),
            self.overrides,
            self.follow_duration,
        )
        started = time.time()
        async with self._lock:  # one generation at a time on this device
            frames = await asyncio.to_thread(self._run, image, spec.seed, plan)
        data = await asyncio.to_thread(frames_to_mp4, frames, plan.fps)
        return video_response(
            data,
            provider=self.name,
            model=self.model_path,
            job_id=f"local-{int(started * 1000)}",
            submitted_at=started,
            settings=plan.recorded,
        )

    def _run(self, image: np.ndarray, seed: int | None, plan: Plan) -> list[np.ndarray]:
        import torch
        from PIL import Image

        try:
            pipe = self.load()
        except (OSError, ValueError) as err:
            raise PermanentModelError(
                f"cannot load {self.family.pipeline} from {self.model_path!r}: {err}"
            ) from None
        width, height = plan.size
        conditioning = Image.fromarray(letterbox(image, width, height))
        generator = None
        if seed is not None:
            generator = torch.Generator(device="cpu").manual_seed(int(seed))
        try:
            with torch.inference_mode():
                output = pipe(image=conditioning, generator=generator, **plan.kwargs)
        except (ValueError, TypeError) as err:
            raise PermanentModelError(f"{self.family.pipeline} rejected the call: {err}") from None
        video = np.asarray(output.frames[0])
        if video.dtype != np.uint8:
            video = (np.clip(video, 0.0, 1.0) * 255).round().astype(np.uint8)
        return [np.ascontiguousarray(frame[..., :3]) for frame in video]

    async def close(self) -> None:
        self._pipe = None
