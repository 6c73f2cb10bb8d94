"""`sa2va`: ByteDance Sa2VA checkpoints through their own code (`trust_remote_code`).

UNTESTED HERE: the checkpoints are hub downloads of several GB and need a GPU; this machine
has neither. The code path follows upstream's evaluation (dyn-bench `run_qa_task` /
`run_mask_task`) call for call:

```python
model = AutoModel.from_pretrained(path, torch_dtype=torch.bfloat16, low_cpu_mem_usage=True,
                                  attn_implementation="flash_attention_2" or "eager",
                                  trust_remote_code=True).eval().cuda()
tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True, use_fast=False)
#   (Sa2VA-Qwen2_5-VL / Sa2VA-Qwen3-VL: processor = AutoProcessor.from_pretrained(path, ...))
out = model.predict_forward(video=[PIL RGB frames], text="<image>" + question, past_text="",
                            mask_prompts=None, tokenizer=tokenizer)   # or processor=processor
answer = out["prediction"].replace("<|im_end|>", "").strip()
masks = out["prediction_masks"]  # per [SEG] token: an array [frames, H, W]
```

One Sa2VA checkpoint answers both kinds of task: it declares `output="masks"` and
`also_produces={"text"}`. With `task: auto` (default) a request whose
`metadata["spatial"]["kind"]` is `mask` gets the first [SEG] object's masks as artifacts (plus the
text), any other request a text answer; `task: qa` / `task: mask` force one kind (needed behind
`omnieval serve`, where request metadata does not travel).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np

from omnieval import registry
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.models.masks.encoding import png_masks
from omnieval.types import ImagePart, Modality, Request, Response

DTYPES = ("bfloat16", "float16", "float32")


@registry.models.register("sa2va")
class Sa2VA(Model):
    """A Sa2VA checkpoint (see the module docstring; untested here).

    `model_path`: a local checkpoint directory or a cached hub id (`ByteDance/Sa2VA-4B`);
    `task`: `auto` (by the request's spatial kind), `qa` (text) or `mask` (mask artifacts);
    `text_input`: `tokenizer` for the InternVL-based checkpoints (Sa2VA-1B/4B/8B,
    Sa2VA-InternVL3-*), `processor` for Sa2VA-Qwen2_5-VL-* and Sa2VA-Qwen3-VL-*; `device`,
    `dtype`, `use_flash_attn`.
    """

    name = "sa2va"

    def __init__(
        self,
        model_path: str,
        task: Literal["auto", "qa", "mask"] = "auto",
        text_input: Literal["tokenizer", "processor"] = "tokenizer",
        device: str = "cuda",
        dtype: str = "bfloat16",
        use_flash_attn: bool = True,
        object_name: str = "obj1",
    ) -> None:
        if task not in ("auto", "qa", "mask"):
            raise ValueError(f"sa2va task must be auto, qa or mask, not {task!r}")
        if text_input not in ("tokenizer", "processor"):
            raise ValueError(f"sa2va text_input must be tokenizer or processor, not {text_input!r}")
        if dtype not in DTYPES:
            raise ValueError(f"sa2va dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        self.model_path = model_path
        self.task = task
        self.text_input = text_input
        self.device = device
        self.dtype = dtype
        self.use_flash_attn = use_flash_attn
        self.object_name = object_name
        self.capabilities = ModelCapabilities(
            inputs=frozenset({Modality.TEXT, Modality.IMAGE}),
            output="text" if task == "qa" else "masks",
            also_produces=frozenset({"text"}) if task != "qa" else frozenset(),
            max_concurrency=1,
        )
        self._torch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sa2va")
        self._loaded: tuple[Any, dict[str, Any]] | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "model": self.model_path,
            "task": self.task,
            "dtype": self.dtype,
        }

    def _load(self) -> tuple[Any, dict[str, Any]]:
        if self._loaded is not None:
            return self._loaded
        from omnieval.models.hf.provider import import_backends

        torch, transformers = import_backends()
        attn = "eager"
        if self.use_flash_attn:
            try:
                import flash_attn  # noqa: F401

                attn = "flash_attention_2"
            except ImportError:
                attn = "eager"  # as upstream: fall back when flash-attn is not installed
        model = transformers.AutoModel.from_pretrained(
            self.model_path,
            torch_dtype=getattr(torch, self.dtype),
            low_cpu_mem_usage=True,
            attn_implementation=attn,
            trust_remote_code=True,
        ).eval()
        model = model.to(self.device)
        if self.text_input == "processor":
            text = {
                "processor": transformers.AutoProcessor.from_pretrained(
                    self.model_path, trust_remote_code=True
                )
            }
        else:
            text = {
                "tokenizer": transformers.AutoTokenizer.from_pretrained(
                    self.model_path, trust_remote_code=True, use_fast=False
                )
            }
        self._loaded = (model, text)
        return self._loaded

    def _predict(self, frames: list[np.ndarray], question: str) -> dict[str, Any]:
        import torch
        from PIL import Image

        model, text_input = self._load()
        images = [Image.fromarray(f) for f in frames]
        with torch.inference_mode():
            out = model.predict_forward(
                video=images,
                text=f"<image>{question}",
                past_text="",
                mask_prompts=None,
                **text_input,
            )
        return dict(out)

    async def generate(self, request: Request) -> Response:
        from omnieval.models.masks.pipeline import decode_frames

        parts = [p for p in request.parts if isinstance(p, ImagePart)]
        if not parts:
            raise PermanentModelError("sa2va needs the frames as images; the request has none")
        frames = await asyncio.to_thread(decode_frames, parts)
        loop = asyncio.get_running_loop()
        out = await loop.run_in_executor(self._torch, self._predict, frames, request.text())
        answer = str(out.get("prediction", "")).replace("<|im_end|>", "").strip()
        spatial = request.metadata.get("spatial")
        kind = spatial.get("kind") if isinstance(spatial, dict) else None
        if self.task == "qa" or (self.task == "auto" and kind != "mask"):
            return Response(text=answer)
        obj = str(
            (spatial.get("object") if isinstance(spatial, dict) else None) or self.object_name
        )
        predicted = out.get("prediction_masks") or []
        if predicted:
            stack = np.asarray(predicted[0])
            masks = [stack[i] > 0.5 for i in range(min(len(stack), len(frames)))]
        else:
            masks = []
        # frames past the model's masks (or every frame, with no [SEG] token) are empty
        masks += [np.zeros(f.shape[:2], dtype=bool) for f in frames[len(masks) :]]
        return Response(text=answer, artifacts=png_masks(obj, masks))

    async def close(self) -> None:
        self._torch.shutdown(wait=False)
