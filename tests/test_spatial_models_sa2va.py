"""The `sa2va` adapter's code path, run against a stand-in checkpoint with remote code.

The real Sa2VA cannot run here (GPU, multi-GB hub download): this test loads, through the same
`AutoModel.from_pretrained(..., trust_remote_code=True)` call, a local checkpoint whose remote
code implements Sa2VA's `predict_forward(video, text, past_text, mask_prompts, tokenizer |
processor)` contract (masks = the frames' bright red pixels). It checks omnieval's side: the
call upstream makes, the answer cleaning, and the masks turned into one artifact per frame."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from omnieval.media.encode import encode_png  # noqa: E402
from omnieval.models.masks.sa2va import Sa2VA  # noqa: E402
from omnieval.types import ImagePart, Request, TextPart  # noqa: E402
from tests.hf_tiny import byte_bpe_tokenizer  # noqa: E402

REMOTE_CODE = """
import numpy as np
import torch
from transformers import PretrainedConfig, PreTrainedModel


class StandInSa2VAConfig(PretrainedConfig):
    model_type = "standin_sa2va"


class StandInSa2VA(PreTrainedModel):
    config_class = StandInSa2VAConfig

    def __init__(self, config):
        super().__init__(config)
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.calls = []
        self.post_init()

    def predict_forward(self, video, text, past_text, mask_prompts, tokenizer=None,
                        processor=None):
        self.calls.append({"frames": len(video), "text": text, "past_text": past_text,
                           "mask_prompts": mask_prompts, "tokenizer": tokenizer is not None,
                           "processor": processor is not None,
                           "mode": video[0].mode})
        red = np.stack([np.asarray(im)[..., 0] > 150 for im in video]).astype(np.float32)
        return {"prediction": " It is the red one. [SEG]<|im_end|>",
                "prediction_masks": [red[:-1]]}  # one frame short: the adapter pads it
"""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("standin-sa2va")
    (directory / "modeling_standin.py").write_text(REMOTE_CODE, encoding="utf-8")
    config = {
        "model_type": "standin_sa2va",
        "architectures": ["StandInSa2VA"],
        "auto_map": {
            "AutoConfig": "modeling_standin.StandInSa2VAConfig",
            "AutoModel": "modeling_standin.StandInSa2VA",
        },
    }
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


@pytest.fixture(autouse=True)
def modules_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Remote code is copied into transformers' modules cache: keep it out of the home dir."""
    import transformers.dynamic_module_utils as dynamic

    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "modules"))


def _save_weights(directory: Path) -> None:
    if (directory / "model.safetensors").exists():
        return
    config = transformers.AutoConfig.from_pretrained(str(directory), trust_remote_code=True)
    model = transformers.AutoModel.from_config(config, trust_remote_code=True)
    model.save_pretrained(directory)
    byte_bpe_tokenizer(("<|im_end|>",)).save_pretrained(directory)


def _frames(directory: Path, n: int = 3) -> list[Path]:
    paths = []
    for i in range(n):
        image = np.full((20, 30, 3), 60, dtype=np.uint8)
        image[4:10, 2 + 4 * i : 8 + 4 * i] = (240, 10, 10)
        path = directory / f"f{i}.png"
        path.write_bytes(encode_png(image))
        paths.append(path)
    return paths


def _png(data: bytes) -> np.ndarray:
    import av

    with av.open(io.BytesIO(data)) as container:
        return np.asarray(next(container.decode(video=0)).to_ndarray(format="gray"))


def test_sa2va_adapter_makes_upstreams_call_and_returns_masks_per_frame(
    checkpoint: Path, tmp_path: Path
) -> None:
    _save_weights(checkpoint)
    paths = _frames(tmp_path)
    question = "Segment the object nearest to the camera."
    model = Sa2VA(str(checkpoint), device="cpu", dtype="float32", use_flash_attn=False)
    assert model.capabilities.produces("masks") and model.capabilities.produces("text")
    parts = (*(ImagePart(path=p) for p in paths), TextPart(text=question))
    mask_request = Request(
        parts=parts, metadata={"spatial": {"kind": "mask", "frames": 3, "object": "obj2"}}
    )

    async def run() -> None:
        try:
            masks = await model.generate(mask_request)
            assert masks.text == "It is the red one. [SEG]"
            assert [a.name for a in masks.artifacts] == [
                f"masks/obj2/{i:05d}.png" for i in range(3)
            ]
            for i, artifact in enumerate(masks.artifacts[:2]):
                assert artifact.data is not None
                expected = np.zeros((20, 30), dtype=bool)
                expected[4:10, 2 + 4 * i : 8 + 4 * i] = True
                assert np.array_equal(_png(artifact.data) > 0, expected)
            last = masks.artifacts[2].data
            assert last is not None and not _png(last).any()  # past the model's masks: empty
            qa = await model.generate(Request(parts=parts))  # no spatial kind: a text answer
            assert qa.text == "It is the red one. [SEG]" and qa.artifacts == ()
        finally:
            await model.close()

    asyncio.run(run())
    loaded, text_input = model._loaded or (None, {})
    assert set(text_input) == {"tokenizer"}
    call = loaded.calls[0]
    assert call == {
        "frames": 3,
        "text": "<image>" + question,
        "past_text": "",
        "mask_prompts": None,
        "tokenizer": True,
        "processor": False,
        "mode": "RGB",
    }
    # the Qwen-based checkpoints take a processor instead of a tokenizer
    qwen = Sa2VA(str(checkpoint), task="qa", text_input="processor", device="cpu",
                 dtype="float32", use_flash_attn=False)  # fmt: skip
    assert qwen.capabilities.output == "text"
    answer = asyncio.run(qwen.generate(mask_request))
    assert answer.artifacts == ()  # task: qa answers text even to a mask request
    assert qwen._loaded is not None and qwen._loaded[0].calls[0]["processor"] is True
    asyncio.run(qwen.close())
