"""The mask-model path: grounding boxes parsed, SAM 2 (tiny random weights, built offline)
turning a box into masks over every frame, and the composed `grounded-sam2` model served by a
real `omnieval serve` process, its masks read back through the artifacts extension."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from omnieval.media.encode import encode_png  # noqa: E402
from omnieval.models.masks.boxes import (  # noqa: E402
    BoxParseError,
    ParsedBox,
    parse_boxes,
    to_pixels,
)
from omnieval.models.masks.pipeline import GroundedSam2  # noqa: E402
from omnieval.models.masks.sam2 import Sam2VideoSegmenter  # noqa: E402
from omnieval.models.openai_provider import OpenAIChat  # noqa: E402
from omnieval.types import ImagePart, Request, TextPart  # noqa: E402
from tests.loopback import LoopbackConfig, LoopbackServer  # noqa: E402
from tests.sam2_tiny import IMAGE_SIZE, save_tiny_sam2, tiny_sam2  # noqa: E402
from tests.served import omnieval_serve  # noqa: E402

H, W, N_FRAMES = 60, 80, 5
QUESTION = "Segment the red cube nearest to the camera."
GROUNDING_REPLY = '```json\n[{"bbox_2d": [20, 12, 44, 36], "label": "red cube"}]\n```'


def _frames(directory: Path, n: int = N_FRAMES, height: int = H, width: int = W) -> list[Path]:
    """A red square moving right over a grey floor, one PNG per frame."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        image = np.full((height, width, 3), 90, dtype=np.uint8)
        x = 20 + 3 * i
        image[12:36, x : x + 24] = (220, 30, 30)
        path = directory / f"frame_{i:04d}.png"
        path.write_bytes(encode_png(image))
        paths.append(path)
    return paths


def _decode_png(data: bytes) -> np.ndarray:
    import av

    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="gray"))


@pytest.fixture(scope="module")
def sam2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_sam2(tmp_path_factory.mktemp("sam2-tiny"))


@pytest.fixture
def grounding() -> Iterator[LoopbackServer]:
    with LoopbackServer(LoopbackConfig(reply=GROUNDING_REPLY)) as server:
        yield server


# --------------------------------------------------------------------------- boxes


def test_boxes_in_every_grounding_convention() -> None:
    qwen25 = parse_boxes(GROUNDING_REPLY)
    assert qwen25 == [ParsedBox(20, 12, 44, 36, label="red cube")]
    tokens = parse_boxes("the cube <|box_start|>(250,200),(550,600)<|box_end|>")
    assert tokens[0].grid == "token"
    assert to_pixels(tokens[0], W, H) == pytest.approx((20.0, 12.0, 44.0, 36.0))
    assert parse_boxes('{"bbox": [0.25, 0.2, 0.55, 0.6]}')[0].x1 == 0.55
    assert to_pixels(parse_boxes("[0.25, 0.2, 0.55, 0.6]")[0], W, H) == pytest.approx(
        (20.0, 12.0, 44.0, 36.0)
    )
    # numbers past the frame but within 1000: Qwen3-VL's 0..1000 grid
    assert to_pixels(ParsedBox(250, 200, 550, 600), W, H) == pytest.approx((20, 12, 44, 36))
    # swapped corners are ordered, outside values clipped; explicit grids are obeyed
    assert to_pixels(ParsedBox(44, 36, -5, 12), W, H, "pixels") == (0.0, 12.0, 44.0, 36.0)
    assert to_pixels(ParsedBox(500, 500, 1000, 1000), W, H, "norm1000") == (40, 30, 80, 60)
    several = parse_boxes('[{"bbox_2d": [1, 2, 3, 4]}, {"bbox_2d": [5, 6, 7, 8]}]')
    assert [b.x0 for b in several] == [1, 5]
    with pytest.raises(BoxParseError, match=r"no bounding box.*I cannot see it"):
        parse_boxes("I cannot see it")
    with pytest.raises(ValueError, match="box coords must be one of"):
        to_pixels(qwen25[0], W, H, "percent")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- SAM 2


def test_sam2_masks_every_frame_at_its_size_from_any_prompt_frame(tmp_path: Path) -> None:
    from omnieval.models.hf.messages import decode_image

    frames = [decode_image(ImagePart(path=p)) for p in _frames(tmp_path)]
    segmenter = Sam2VideoSegmenter(tiny_sam2())
    assert segmenter.image_size == IMAGE_SIZE
    prompt = segmenter._box_prompt((20, 12, 44, 36), W, H)
    scale_x, scale_y = IMAGE_SIZE / W, IMAGE_SIZE / H
    expected = [20 * scale_x, 12 * scale_y, 44 * scale_x, 36 * scale_y]
    assert prompt["point_coords"][0, 0].flatten().tolist() == pytest.approx(expected)
    assert prompt["point_labels"].tolist() == [[[2, 3]]]  # SAM 2's box-corner labels
    results = {}
    for prompt_frame in (0, 2, N_FRAMES - 1):  # forward, both ways, backward only
        masks = segmenter.segment(frames, (20, 12, 44, 36), prompt_frame)
        assert len(masks) == N_FRAMES
        assert all(m.shape == (H, W) and m.dtype == bool for m in masks)
        results[prompt_frame] = masks
    again = segmenter.segment(frames, (20, 12, 44, 36), 2)  # deterministic on CPU
    assert all(np.array_equal(a, b) for a, b in zip(results[2], again, strict=True))
    with pytest.raises(ValueError, match="frame 1 is 40x30, frame 0 is 80x60"):
        segmenter.segment([frames[0], frames[1][:30, :40]], (1, 1, 5, 5))
    with pytest.raises(ValueError, match="prompt frame 7 is outside the 5 frames"):
        segmenter.segment(frames, (1, 1, 5, 5), 7)


# --------------------------------------------------------------------------- the pipeline


def _request(paths: list[Path], obj: str | None = None) -> Request:
    metadata = {"spatial": {"kind": "mask", "frames": len(paths), "object": obj}} if obj else {}
    return Request(
        parts=(*(ImagePart(path=p) for p in paths), TextPart(text=QUESTION)), metadata=metadata
    )


def test_pipeline_grounds_on_the_prompt_frame_and_masks_every_frame(
    tmp_path: Path, sam2_dir: Path, grounding: LoopbackServer
) -> None:
    paths = _frames(tmp_path / "frames")
    model = GroundedSam2(
        grounding={"provider": "openai", "init_args": {"model": "qwen", "base_url": grounding.url}},
        sam2_path=str(sam2_dir),
        prompt_frame="middle",
    )
    assert model.capabilities.output == "masks"

    async def run() -> None:
        try:
            response = await model.generate(_request(paths, obj="obj3"))
            assert [a.name for a in response.artifacts] == [
                f"masks/obj3/{i:05d}.png" for i in range(N_FRAMES)
            ]
            for i, artifact in enumerate(response.artifacts):
                assert artifact.kind == "mask" and artifact.meta["frame"] == i
                assert artifact.data is not None and _decode_png(artifact.data).shape == (H, W)
            summary = json.loads(response.text or "")
            assert summary["box"] == [20, 12, 44, 36] and summary["prompt_frame"] == 2
            # the grounding model saw exactly the middle frame and the question
            body = grounding.bodies[-1]
            content = body["messages"][-1]["content"]
            images = [p for p in content if p["type"] == "image_url"]
            texts = " ".join(p["text"] for p in content if p["type"] == "text")
            assert len(images) == 1 and QUESTION in texts
            sent = images[0]["image_url"]["url"].split(",", 1)[1]
            import base64

            assert base64.b64decode(sent) == paths[2].read_bytes()
            # no box in the answer: empty masks on every frame, said in the text
            grounding.config.reply = "There is no such object."
            empty = await model.generate(_request(paths))
            assert json.loads(empty.text or "")["box"] is None
            assert empty.artifacts[0].name == "masks/obj1/00000.png"
            assert all(
                a.data is not None and not _decode_png(a.data).any() for a in empty.artifacts
            )
        finally:
            await model.close()

    asyncio.run(run())


def test_pipeline_refuses_requests_without_frames(
    sam2_dir: Path, grounding: LoopbackServer
) -> None:
    from omnieval.models.base import PermanentModelError

    model = GroundedSam2(
        grounding={"provider": "openai", "init_args": {"model": "q", "base_url": grounding.url}},
        sam2_path=str(sam2_dir),
    )
    with pytest.raises(PermanentModelError, match="needs the frames as images"):
        asyncio.run(model.generate(Request(parts=(TextPart(text=QUESTION),))))
    with pytest.raises(ValueError, match="grounding_prompt must contain"):
        GroundedSam2(grounding="random", sam2_path=str(sam2_dir), grounding_prompt="box?")


# --------------------------------------------------------------------------- omnieval serve


def test_sam2_pipeline_runs_end_to_end_through_omnieval_serve(
    tmp_path: Path, sam2_dir: Path, grounding: LoopbackServer, subprocess_env: dict[str, str]
) -> None:
    """Acceptance: tiny random-weight SAM 2 behind a real `omnieval serve` process returns a
    mask of the frame's size for every frame, through the `omnieval_artifacts` extension."""
    models_file = tmp_path / "models.yaml"
    models_file.write_text(
        "models:\n"
        "  sam2-pipeline:\n"
        "    provider: grounded-sam2\n"
        "    init_args:\n"
        f"      sam2_path: {sam2_dir}\n"
        "      grounding:\n"
        "        provider: openai\n"
        f"        init_args: {{model: qwen2.5-vl, base_url: '{grounding.url}'}}\n",
        encoding="utf-8",
    )
    env = {**subprocess_env, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, env["PYTHONPATH"]])
    paths = _frames(tmp_path / "frames", n=6, height=48, width=64)
    args = ["--model", "sam2-pipeline", "--models-file", str(models_file)]
    with omnieval_serve(args, env, tmp_path, timeout_s=120) as url:
        client = OpenAIChat(model="sam2-pipeline", base_url=f"{url}/v1", timeout_s=120)

        async def ask() -> list:
            try:
                for _ in range(600):  # the model loads after the server starts
                    reply = await client.http.get(f"{url}/health", timeout_s=5)
                    if reply.status == 200:
                        break
                    await asyncio.sleep(0.1)
                response = await client.generate(_request(paths))
                return list(response.artifacts)
            finally:
                await client.close()

        artifacts = asyncio.run(ask())
    assert [a.name for a in artifacts] == [f"masks/obj1/{i:05d}.png" for i in range(6)]
    for artifact in artifacts:
        assert artifact.data is not None and artifact.mime == "image/png"
        assert artifact.sha256 == hashlib.sha256(artifact.data).hexdigest()  # checked on receipt
        mask = _decode_png(artifact.data)
        assert mask.shape == (48, 64)
        assert set(np.unique(mask)) <= {0, 255}
        assert artifact.meta["size"] == [48, 64]
    assert len(grounding.bodies) == 1  # one grounding call per request
