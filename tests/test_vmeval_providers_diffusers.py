"""Open image-to-video models through diffusers: a tiny random-weight Stable Video Diffusion
pipeline built offline (tests/video_tiny.py) runs end to end, directly and behind
`omnieval serve`; every family's documented defaults map to the right pipeline arguments."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from omnieval.media.encode import encode_png
from omnieval.models.base import PermanentModelError
from omnieval.models.serve import BackgroundServer
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.models.video.diffusers_i2v import (
    FAMILIES,
    DiffusersImageToVideo,
    area_size,
    plan_call,
    valid_frames,
)
from omnieval.models.video.sora import SoraVideo
from omnieval.models.video.spec import FirstFrame, VideoSpec
from omnieval.types import GenerationParams, ImagePart, Request, Response, TextPart
from tests.video_tiny import save_tiny_svd

TINY = {"num_frames": 3, "num_inference_steps": 1, "decode_chunk_size": 3}


@pytest.fixture(scope="module")
def svd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DiffusersImageToVideo]:
    import torch

    # a tiny model on a shared 2-core machine: one thread is ~10x faster than torch's default
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = save_tiny_svd(tmp_path_factory.mktemp("tiny-svd") / "svd")
        yield DiffusersImageToVideo(family="svd", model_path=str(path), overrides=TINY)
    finally:
        torch.set_num_threads(threads)


def frame_png() -> bytes:
    image = np.full((40, 56, 3), 250, np.uint8)
    image[5:25, 30:50] = (10, 120, 10)
    return encode_png(image)


def svd_request(prompt: str = "push the green block") -> Request:
    return Request(
        parts=(ImagePart(data=frame_png()), TextPart(text=prompt)),
        generation=GenerationParams(
            seed=5, extra={"duration": 8.0, "resolution": "32x32", "seed": 5}
        ),
    )


def decoded(data: bytes) -> tuple[list[np.ndarray], float]:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return frames, float(stream.average_rate or 0)


def test_a_tiny_svd_pipeline_generates_a_video_directly_and_behind_serve(
    svd: DiffusersImageToVideo,
) -> None:
    direct = asyncio.run(svd.generate(svd_request()))
    assert direct.status.value == "ok", direct.error
    [artifact] = direct.artifacts
    frames, fps = decoded(artifact.data or b"")
    assert len(frames) == 3 and frames[0].shape == (32, 32, 3) and fps == 7.0
    meta = artifact.meta
    assert meta["provider"] == "diffusers-i2v" and meta["model"] == svd.model_path
    assert meta["request"]["num_frames"] == 3 and meta["request"]["seed"] == 5
    assert sorted(meta["request"]["ignored"]) == ["duration", "prompt"]  # SVD takes no prompt

    # the same generator hosted by `omnieval serve`, reached by the openai-video client
    app = create_app(svd, ServeOptions(alias="svd-tiny"))
    with BackgroundServer(app) as server:
        client = SoraVideo(
            model="svd-tiny",
            base_url=f"{server.url}/v1",
            seconds=[],
            sizes=[],
            send_extras=True,
            poll_interval_s=0.2,
        )

        async def remote() -> Response:
            try:
                return await client.generate(svd_request())
            finally:
                await client.close()

        served = asyncio.run(remote())
    assert served.status.value == "ok", served.error
    served_frames, _ = decoded(served.artifacts[0].data or b"")
    assert len(served_frames) == 3
    # same seed, same pipeline: the served video shows the same frames (up to H.264 noise)
    difference = np.abs(np.stack(served_frames).astype(int) - np.stack(frames).astype(int))
    assert difference.mean() < 2.0
    assert served.artifacts[0].meta["served"]["request"]["seed"] == 5


# --------------------------------------------------------------------------- config mapping


def spec(**settings: Any) -> VideoSpec:
    return VideoSpec(
        prompt="solve", image=FirstFrame(frame_png(), "image/png", "first_frame.png"), **settings
    )


def test_each_family_gets_its_documented_defaults() -> None:
    expected = {  # frames, fps, guidance, steps, (w, h) for a 4:3 first frame
        "ltx-video": (161, 24, 3.0, 50, (704, 480)),
        "ltx-2": (121, 24, 3.0, 30, (768, 512)),
        "hunyuan-video-i2v": (129, 24, 1.0, 50, (1280, 720)),
        "sana-video": (81, 16, 4.5, 50, (832, 480)),
        "cogvideox-i2v": (49, 8, 6.0, 50, (720, 480)),
        "cogvideox1.5-i2v": (81, 16, 6.0, 50, (1360, 768)),
        "wan-i2v": (81, 16, 5.0, 50, (720, 544)),
        "wan-i2v-720p": (81, 16, 5.0, 50, (1104, 816)),
        "wan2.2-i2v": (81, 16, 3.5, 40, (1104, 816)),
        "wan2.2-ti2v": (121, 24, 5.0, 50, (1088, 800)),
        "svd": (25, 7, 3.0, 25, (1024, 576)),
    }
    assert set(expected) == set(FAMILIES)
    for name, (frames, fps, guidance, steps, size) in expected.items():
        plan = plan_call(FAMILIES[name], spec(), (640, 480), {}, follow_duration=False)
        args = plan.kwargs
        assert (args["num_frames"], plan.fps, args["num_inference_steps"]) == (frames, fps, steps)
        assert (args["width"], args["height"]) == size, name
        guidance_arg = "max_guidance_scale" if name == "svd" else "guidance_scale"
        assert args[guidance_arg] == guidance, name
        assert args["output_type"] == "np"
        assert ("prompt" in args) is (name != "svd"), name
        assert ("frame_rate" in args) is name.startswith("ltx"), name


def test_family_specific_arguments() -> None:
    svd_args = plan_call(FAMILIES["svd"], spec(), (640, 480), {}, False).kwargs
    assert {k: svd_args[k] for k in ("min_guidance_scale", "motion_bucket_id", "fps")} == {
        "min_guidance_scale": 1.0,
        "motion_bucket_id": 127,
        "fps": 7,
    }
    wan22 = plan_call(FAMILIES["wan2.2-i2v"], spec(), (640, 480), {}, False).kwargs
    assert wan22["guidance_scale_2"] == 3.5
    cog = plan_call(FAMILIES["cogvideox-i2v"], spec(negative_prompt="blur"), (640, 480), {}, False)
    assert cog.kwargs["negative_prompt"] == "blur"


def test_duration_sets_the_frame_count_only_when_asked_and_by_the_family_rule() -> None:
    ltx = FAMILIES["ltx-video"]
    plain = plan_call(ltx, spec(duration_s=2.0), (640, 480), {}, follow_duration=False)
    assert plain.kwargs["num_frames"] == 161 and plain.recorded["ignored"] == ["duration"]
    follow = plan_call(ltx, spec(duration_s=2.0), (640, 480), {}, follow_duration=True)
    assert follow.kwargs["num_frames"] == 49  # 48 frames at 24 fps -> 8k+1
    wan = plan_call(FAMILIES["wan-i2v"], spec(duration_s=3.0, fps=10), (640, 480), {}, True)
    assert wan.kwargs["num_frames"] == 29 and wan.fps == 10  # 30 -> 4k+1
    cog = plan_call(FAMILIES["cogvideox-i2v"], spec(duration_s=2.0), (640, 480), {}, True)
    assert cog.kwargs["num_frames"] == 49  # CogVideoX 1.0 only makes 49 frames
    assert valid_frames(100, 16) == 97 and valid_frames(5, 1) == 5


def test_resolution_and_overrides_replace_the_defaults() -> None:
    ltx = plan_call(
        FAMILIES["ltx-video"],
        spec(resolution=(1000, 500)),
        (640, 480),
        {"num_inference_steps": 8, "guidance_scale": 1.5},
        False,
    )
    assert (ltx.kwargs["width"], ltx.kwargs["height"]) == (992, 480)  # multiples of 32
    assert ltx.kwargs["num_inference_steps"] == 8 and ltx.kwargs["guidance_scale"] == 1.5
    assert ltx.recorded["resolution"] == "992x480"
    # upstream's Wan rule: sqrt(area x aspect) rounded down to 16s; a portrait frame stays one
    assert area_size(480, 640, 480 * 832, 16) == (544, 720)


def test_missing_checkpoints_fail_the_trial_with_the_path(tmp_path: Path) -> None:
    model = DiffusersImageToVideo(family="svd", model_path=str(tmp_path / "absent"))
    with pytest.raises(PermanentModelError, match="cannot load StableVideoDiffusionPipeline"):
        asyncio.run(model.generate(svd_request()))
