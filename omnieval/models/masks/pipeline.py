"""`grounded-sam2`: a composed mask model, grounding chat model -> box -> SAM 2 -> masks.

For a request made of frames (image parts, in order) and a referring text ("segment the object
nearest the camera"):

1. the grounding model (any chat provider: Qwen2.5-VL behind vLLM or `omnieval serve` through
   `openai`, a local `hf` model, ...) is shown one frame (`prompt_frame`) and the text, and
   asked for the object's bounding box; its answer is parsed (`boxes.parse_boxes`);
2. SAM 2 (`Sam2VideoModel` from transformers, `sam2_path`) segments the object from that box
   and propagates it over every frame;
3. the masks come back as artifacts, one PNG per frame (`encoding.png_masks`), named for the
   object the request asks about (`request.metadata["spatial"]["object"]`, else
   `object_name`); the text answer is a JSON line with the grounding answer and the box.

An answer with no box gives empty masks on every frame (the model found nothing) and says so in
the text. Served with `omnieval serve`, the masks travel in the `omnieval_artifacts` field.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np

from omnieval import registry
from omnieval.config import load_aliases, load_environment, resolve_model
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError, PreflightError
from omnieval.models.masks.boxes import COORDS, BoxCoords, BoxParseError, parse_boxes, to_pixels
from omnieval.models.masks.encoding import png_masks
from omnieval.models.masks.sam2 import DTYPES, Sam2VideoSegmenter
from omnieval.types import (
    GenerationParams,
    ImagePart,
    Modality,
    Request,
    Response,
    TextPart,
)

DEFAULT_GROUNDING_PROMPT = (
    "{question}\n\nFind the one object this refers to in the image. Answer only with its "
    'bounding box as JSON: [{{"bbox_2d": [x1, y1, x2, y2], "label": "<object>"}}], in pixels '
    "of this image."
)


def build_inner_model(spec: str | Mapping[str, Any], models_file: str | None = None) -> Model:
    """A model another model composes (the grounding model here, the answering model of
    `spatial-family`) from an alias (of `models_file`) or an inline `{provider, init_args}`
    mapping, built as a run would build it."""
    aliases = load_aliases(Path(models_file) if models_file else None, load_environment(None))
    resolved = resolve_model(spec if isinstance(spec, str) else dict(spec), aliases)
    factory = registry.models.get(resolved.provider)
    built = factory(**resolved.init_args)
    if not isinstance(built, Model):
        raise ValueError(f"provider {resolved.provider!r} built no Model")
    return built


@registry.models.register("grounded-sam2")
class GroundedSam2(Model):
    """Grounding model + SAM 2 video propagation (see the module docstring and
    docs/spatial-models.md, "Mask models").

    `grounding`: the grounding model (an alias or `{provider, init_args}`; `models_file` to
    resolve aliases); `sam2_path`: a `Sam2VideoModel` checkpoint directory (or a cached hub id,
    e.g. `facebook/sam2.1-hiera-tiny`); `device`, `dtype`: where SAM 2 runs;
    `prompt_frame`: the frame shown to the grounding model (`first`, `middle` or an index);
    `box_coords`: the grid of the grounding model's numbers (`auto`, `pixels`, `norm1000`,
    `norm1`); `grounding_prompt`: the grounding text, with `{question}`.
    """

    name = "grounded-sam2"

    def __init__(
        self,
        grounding: str | Mapping[str, Any],
        sam2_path: str,
        device: str = "cpu",
        dtype: str = "float32",
        prompt_frame: int | Literal["first", "middle"] = "first",
        box_coords: BoxCoords = "auto",
        grounding_prompt: str = DEFAULT_GROUNDING_PROMPT,
        grounding_max_tokens: int = 256,
        object_name: str = "obj1",
        models_file: str | None = None,
        max_concurrency: int = 1,
    ) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        if box_coords not in COORDS:
            raise ValueError(f"box_coords must be one of {', '.join(COORDS)}, not {box_coords!r}")
        if not (prompt_frame in ("first", "middle") or isinstance(prompt_frame, int)):
            raise ValueError(
                f"prompt_frame must be first, middle or an index, not {prompt_frame!r}"
            )
        if "{question}" not in grounding_prompt:
            raise ValueError("grounding_prompt must contain {question}")
        self.grounding = build_inner_model(grounding, models_file)
        self.sam2_path = sam2_path
        self.device = device
        self.dtype = dtype
        self.prompt_frame = prompt_frame
        self.box_coords: BoxCoords = box_coords
        self.grounding_prompt = grounding_prompt
        self.grounding_max_tokens = grounding_max_tokens
        self.object_name = object_name
        self.capabilities = ModelCapabilities(
            inputs=frozenset({Modality.TEXT, Modality.IMAGE}),
            output="masks",
            max_concurrency=max_concurrency,
        )
        # all torch work on one thread: SAM 2 loads there on first use, the loop stays free
        self._torch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grounded-sam2")
        self._segmenter: Sam2VideoSegmenter | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "grounding": self.grounding.fingerprint(),
            "sam2": self.sam2_path,
            "dtype": self.dtype,
            "prompt_frame": self.prompt_frame,
            "box_coords": self.box_coords,
            "grounding_prompt": self.grounding_prompt,
        }

    def _load(self) -> Sam2VideoSegmenter:
        if self._segmenter is None:
            self._segmenter = Sam2VideoSegmenter.load(self.sam2_path, self.device, self.dtype)
        return self._segmenter

    async def load(self) -> None:
        """Load SAM 2 now rather than on the first request."""
        await asyncio.get_running_loop().run_in_executor(self._torch, self._load)

    def _frame_index(self, n: int) -> int:
        if self.prompt_frame == "first":
            return 0
        if self.prompt_frame == "middle":
            return n // 2
        index = int(self.prompt_frame)
        return min(max(index, 0), n - 1)

    async def generate(self, request: Request) -> Response:
        frames = [p for p in request.parts if isinstance(p, ImagePart)]
        if not frames:
            raise PermanentModelError(
                "grounded-sam2 needs the frames as images (image parts, in order); the request "
                "has none"
            )
        question = request.text().strip()
        if not question:
            raise PermanentModelError("grounded-sam2 needs a text saying which object to segment")
        spatial = request.metadata.get("spatial")
        obj = spatial.get("object") if isinstance(spatial, dict) else None
        obj = str(obj or self.object_name)
        arrays = await asyncio.to_thread(decode_frames, frames)
        k = self._frame_index(len(frames))
        grounding_request = Request(
            parts=(frames[k], TextPart(text=self.grounding_prompt.format(question=question))),
            generation=GenerationParams(
                temperature=0.0, max_tokens=self.grounding_max_tokens, seed=request.generation.seed
            ),
        )
        answer = await self.grounding.generate(grounding_request)
        if answer.failed:
            raise PermanentModelError(f"the grounding model failed: {answer.error}")
        text = answer.text or ""
        height, width = arrays[k].shape[:2]
        try:
            box: tuple[float, float, float, float] | None = to_pixels(
                parse_boxes(text)[0], width, height, self.box_coords
            )
        except BoxParseError:
            box = None
        loop = asyncio.get_running_loop()
        masks = await loop.run_in_executor(self._torch, self._segment, arrays, box, k)
        summary = {
            "grounding": text,
            "box": None if box is None else [round(v, 2) for v in box],
            "prompt_frame": k,
            "object": obj,
        }
        return Response(
            text=json.dumps(summary, ensure_ascii=False),
            artifacts=png_masks(obj, masks),
            latency_s=answer.latency_s,
        )

    def _segment(
        self,
        frames: Sequence[np.ndarray],
        box: tuple[float, float, float, float] | None,
        prompt_frame: int,
    ) -> list[np.ndarray]:
        if box is None or box[2] <= box[0] or box[3] <= box[1]:
            return [np.zeros(f.shape[:2], dtype=bool) for f in frames]
        try:
            return self._load().segment(frames, box, prompt_frame)
        except ValueError as err:
            raise PermanentModelError(f"SAM 2: {err}") from None

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        await self.grounding.preflight(frozenset({Modality.TEXT, Modality.IMAGE}))
        try:
            await self.load()
        except (ImportError, ValueError) as err:
            raise PreflightError(f"grounded-sam2: SAM 2 cannot load: {err}") from None

    async def close(self) -> None:
        await self.grounding.close()
        self._torch.shutdown(wait=False)


def decode_frames(frames: Sequence[ImagePart]) -> list[np.ndarray]:
    from omnieval.models.hf.messages import decode_image

    out: list[np.ndarray] = []
    for i, part in enumerate(frames):
        try:
            out.append(decode_image(part))
        except Exception as err:
            where = part.path or f"frame {i} (in-memory)"
            raise PermanentModelError(f"frame {i} ({where}) cannot be decoded: {err}") from None
    return out
