"""SAM 2 video segmentation from `transformers` (`Sam2VideoModel`): a box in, masks out.

`Sam2VideoSegmenter.segment(frames, box, prompt_frame)` prompts SAM 2 with one box on one frame
and propagates the object through the whole sequence (forward from the prompt frame, then
backward when the prompt is not the first frame), returning one boolean mask per frame at the
frame's own size.

Pre- and post-processing are done here with torch alone, as `Sam2VideoProcessor` does them
(resize to the model's square `image_size` bilinearly, scale to 0..1, ImageNet mean and std;
box corners scaled to that square and given the labels 2 and 3; mask logits resized back
bilinearly and thresholded at 0): the processor classes need torchvision, which this
project's environment cannot load.

torch and transformers are imported lazily (the `hf` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DTYPES = ("float32", "bfloat16", "float16")


class Sam2VideoSegmenter:
    """A loaded `Sam2VideoModel` and the torch settings it runs with."""

    def __init__(self, model: Any, device: str = "cpu", dtype: str = "float32") -> None:
        import torch

        if dtype not in DTYPES:
            raise ValueError(f"SAM 2 dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        self.torch = torch
        self.device = device
        self.dtype = getattr(torch, dtype)
        self.model = model.to(device=device, dtype=self.dtype).eval()
        self.image_size = int(model.config.image_size)

    @classmethod
    def load(cls, path: str, device: str = "cpu", dtype: str = "float32") -> Sam2VideoSegmenter:
        """A checkpoint directory (or a hub id already in the local cache) of `Sam2VideoModel`,
        e.g. `facebook/sam2.1-hiera-tiny`."""
        from omnieval.models.hf.provider import import_backends

        _, transformers = import_backends()
        try:
            model = transformers.Sam2VideoModel.from_pretrained(path)
        except OSError as err:
            raise ValueError(
                f"SAM 2 checkpoint {path!r} cannot be read: {err}. Give a local directory, or "
                "download the hub id first (`hf download facebook/sam2.1-hiera-tiny`) while online"
            ) from err
        return cls(model, device=device, dtype=dtype)

    def segment(
        self,
        frames: Sequence[np.ndarray],
        box: tuple[float, float, float, float],
        prompt_frame: int = 0,
    ) -> list[np.ndarray]:
        """One [H, W] boolean mask per frame for the object inside `box` (pixels of the
        prompt frame) on frame `prompt_frame`. Every frame must have the same size."""
        if not frames:
            return []
        if not 0 <= prompt_frame < len(frames):
            raise ValueError(f"prompt frame {prompt_frame} is outside the {len(frames)} frames")
        height, width = frames[0].shape[:2]
        for i, frame in enumerate(frames):
            if frame.shape[:2] != (height, width):
                raise ValueError(
                    f"frame {i} is {frame.shape[1]}x{frame.shape[0]}, frame 0 is "
                    f"{width}x{height}: SAM 2 tracks one frame size per sequence"
                )
        torch = self.torch
        from transformers import Sam2VideoInferenceSession

        with torch.inference_mode():
            session = Sam2VideoInferenceSession(
                video=self._pixels(frames),
                video_height=height,
                video_width=width,
                inference_device=self.device,
                inference_state_device=self.device,
                video_storage_device=self.device,
                dtype=self.dtype,
            )
            obj_idx = session.obj_id_to_idx(1)
            session.add_point_inputs(obj_idx, prompt_frame, self._box_prompt(box, width, height))
            session.obj_with_new_inputs = [1]
            self.model(inference_session=session, frame_idx=prompt_frame)
            logits: dict[int, Any] = {}
            for out in self.model.propagate_in_video_iterator(session, prompt_frame):
                logits[int(out.frame_idx)] = out.pred_masks
            if prompt_frame > 0:
                for out in self.model.propagate_in_video_iterator(
                    session, prompt_frame, reverse=True
                ):
                    logits.setdefault(int(out.frame_idx), out.pred_masks)
            return [self._mask(logits.get(i), height, width) for i in range(len(frames))]

    def _pixels(self, frames: Sequence[np.ndarray]) -> Any:
        torch = self.torch
        stacked = torch.from_numpy(np.stack([np.asarray(f, dtype=np.uint8) for f in frames]))
        video = stacked.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        size = (self.image_size, self.image_size)
        video = torch.nn.functional.interpolate(
            video, size=size, mode="bilinear", align_corners=False
        )
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return ((video - mean) / std).to(device=self.device, dtype=self.dtype)

    def _box_prompt(
        self, box: tuple[float, float, float, float], width: int, height: int
    ) -> dict[str, Any]:
        torch = self.torch
        x0, y0, x1, y1 = box
        sx, sy = self.image_size / width, self.image_size / height
        corners = torch.tensor([[x0 * sx, y0 * sy], [x1 * sx, y1 * sy]], dtype=torch.float32)
        return {
            "point_coords": corners.view(1, 1, 2, 2),
            "point_labels": torch.tensor([[[2, 3]]], dtype=torch.int32),
        }

    def _mask(self, logits: Any, height: int, width: int) -> np.ndarray:
        if logits is None:  # a frame the propagation never reached: nothing predicted
            return np.zeros((height, width), dtype=bool)
        torch = self.torch
        resized = torch.nn.functional.interpolate(
            logits.to(torch.float32), size=(height, width), mode="bilinear", align_corners=False
        )
        return np.asarray(resized[0, 0].cpu().numpy() > 0.0)
