"""`omnieval serve`'s `/v1/videos` endpoint hosting a video generator, reached by the
`openai-video` provider (the openai SDK), and the catalogue of upstream's model names."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from omnieval import registry
from omnieval.config import load_aliases, resolve_model
from omnieval.media.encode import encode_png
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.models.serve import BackgroundServer, build_model
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.models.video.base import VideoGenerator
from omnieval.models.video.diffusers_i2v import DiffusersImageToVideo
from omnieval.models.video.media import decode_image, frames_to_mp4
from omnieval.models.video.sora import SoraVideo
from omnieval.models.video.spec import VideoSpec, refusal, video_response
from omnieval.types import GenerationParams, ImagePart, Modality, Request, Response, TextPart

# upstream vmevalkit/runner/MODEL_CATALOG.py at Video-Reason/VMEvalKit@ae2e8dc, every key
UPSTREAM_NAMES = (
    "luma-ray-2", "luma-ray-flash-2", "veo-2", "veo-2.0-generate", "veo-3.0-generate",
    "veo-3.0-fast-generate", "veo-3.1-generate", "runway-gen4-turbo", "runway-gen4-aleph",
    "runway-gen3a-turbo", "openai-sora-2", "openai-sora-2-pro", "ltx-video",
    "ltx-video-13b-distilled", "LTX-2", "hunyuan-video-i2v", "videocrafter2-512",
    "dynamicrafter-512", "dynamicrafter-256", "dynamicrafter-1024", "morphic-frames-to-video",
    "svd", "sana", "wan-2.1-i2v-480p", "wan-2.1-i2v-720p", "wan-2.2-i2v-a14b", "wan-2.2-ti2v-5b",
    "cogvideox-5b-i2v", "cogvideox1.5-5b-i2v", "sana-video-2b-480p",
)  # fmt: skip


class SlideModel(Model):
    """A cheap local video generator: the first frame sliding right by one pixel per frame, at
    the requested fps and duration; prompts with REFUSE are refused, BROKEN raises."""

    name = "test-slide"
    capabilities = ModelCapabilities(
        inputs=frozenset({Modality.TEXT, Modality.IMAGE}), output="video", max_concurrency=2
    )

    def __init__(self) -> None:
        self.seen: list[VideoSpec] = []

    async def generate(self, request: Request) -> Response:
        spec = VideoSpec.from_request(request)
        self.seen.append(spec)
        if "REFUSE" in spec.prompt:
            return refusal(self.name, "this generator does not draw that")
        if "BROKEN" in spec.prompt:
            raise PermanentModelError("the generator crashed")
        image = decode_image(spec.image.data)
        fps = spec.fps or 8
        count = max(2, round((spec.duration_s or 1.0) * fps))
        frames = [np.roll(image, i, axis=1) for i in range(count)]
        return video_response(
            frames_to_mp4(frames, fps),
            provider=self.name,
            model="slide-1",
            job_id=None,
            submitted_at=None,
            settings={"fps": fps},
        )


class TextModel(Model):
    name = "test-text"

    async def generate(self, request: Request) -> Response:
        return Response(text="a")


@pytest.fixture(scope="module")
def slide() -> SlideModel:
    return SlideModel()


@pytest.fixture(scope="module")
def server(slide: SlideModel) -> Iterator[BackgroundServer]:
    app = create_app(slide, ServeOptions(alias="slide", api_key="serve-key"))
    with BackgroundServer(app) as running:
        yield running


def first_frame() -> bytes:
    image = np.full((32, 48, 3), 240, np.uint8)
    image[8:20, 4:16] = (20, 20, 200)
    return encode_png(image)


def video_request(prompt: str, **extra: Any) -> Request:
    return Request(
        parts=(ImagePart(data=first_frame()), TextPart(text=prompt)),
        generation=GenerationParams(seed=11, extra={"duration": 0.5, **extra}),
    )


def client(server: BackgroundServer, **kwargs: Any) -> SoraVideo:
    settings = {
        "model": "slide",
        "api_key": "serve-key",
        "base_url": f"{server.url}/v1",
        "seconds": [],
        "sizes": [],
        "send_extras": True,
        "poll_interval_s": 0.02,
        "max_poll_interval_s": 0.05,
        **kwargs,
    }
    return SoraVideo(**settings)


def generate(model: VideoGenerator, request: Request) -> Response:
    async def scenario() -> Response:
        try:
            return await model.generate(request)
        finally:
            await model.close()

    return asyncio.run(scenario())


def decoded(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_a_served_generator_is_reached_by_the_openai_video_client(
    server: BackgroundServer, slide: SlideModel
) -> None:
    response = generate(client(server), video_request("slide it", fps=10, resolution="48x32"))
    assert response.status.value == "ok", response.error
    [artifact] = response.artifacts
    frames = decoded(artifact.data or b"")
    assert len(frames) == 5 and frames[0].shape == (32, 48, 3)  # 0.5 s at 10 fps, 48x32
    spec = slide.seen[-1]
    assert (spec.seed, spec.fps, spec.duration_s, spec.resolution) == (11, 10, 0.5, (48, 32))
    assert spec.prompt == "slide it"
    meta = artifact.meta
    assert meta["provider"] == "openai-video" and meta["model"] == "slide"
    assert meta["served"]["provider"] == "test-slide" and meta["served"]["model"] == "slide-1"
    assert (meta["fps"], meta["frames"], meta["width"], meta["height"]) == (10.0, 5, 48, 32)


def test_a_served_refusal_reaches_the_client_as_a_refusal(server: BackgroundServer) -> None:
    response = generate(client(server), video_request("REFUSE this"))
    assert response.failed and response.finish_reason == "content_filter"
    assert response.error.startswith("refused by openai-video: moderation_blocked: ")
    assert "this generator does not draw that" in response.error


def test_a_generator_error_is_a_failed_job_naming_it(server: BackgroundServer) -> None:
    response = generate(client(server), video_request("BROKEN"))
    assert response.failed and "the generator crashed" in str(response.error)


def test_the_video_endpoint_checks_key_model_and_input(server: BackgroundServer) -> None:
    files = {"input_reference": ("f.png", first_frame(), "image/png")}
    auth = {"Authorization": "Bearer serve-key"}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.post("/v1/videos", data={"prompt": "x"}, files=files).status_code == 401
        wrong = http.post(
            "/v1/videos", data={"prompt": "x", "model": "other"}, files=files, headers=auth
        )
        assert wrong.status_code == 404 and "slide" in wrong.json()["error"]["message"]
        no_image = http.post("/v1/videos", data={"prompt": "x"}, headers=auth)
        assert no_image.status_code == 400
        bad = http.post("/v1/videos", data={"prompt": "x", "seconds": "many"}, files=files,
                        headers=auth)  # fmt: skip
        assert bad.status_code == 400
        assert http.get("/v1/videos/video_nope", headers=auth).status_code == 404
        created = http.post("/v1/videos", data={"prompt": "del"}, files=files, headers=auth)
        job = created.json()["id"]
        assert http.delete(f"/v1/videos/{job}", headers=auth).json()["deleted"] is True
        assert http.get(f"/v1/videos/{job}", headers=auth).status_code == 404


def test_a_model_that_does_not_make_videos_is_refused_by_the_endpoint() -> None:
    with (
        BackgroundServer(create_app(TextModel(), ServeOptions(alias="t"))) as running,
        httpx.Client(base_url=running.url, timeout=10) as http,
    ):
        reply = http.post(
            "/v1/videos",
            data={"prompt": "x"},
            files={"input_reference": ("f.png", first_frame(), "image/png")},
        )
    assert reply.status_code == 400 and "does not generate videos" in reply.text


# --------------------------------------------------------------------------- catalogue


def test_the_catalogue_maps_every_upstream_model_name_to_a_provider() -> None:
    env = {
        name: f"https://x.example/{name}"
        for name in (
            "LUMA_IMAGE_URL_TEMPLATE", "VIDEOCRAFTER2_URL", "DYNAMICRAFTER_256_URL",
            "DYNAMICRAFTER_512_URL", "DYNAMICRAFTER_1024_URL", "MORPHIC_URL",
        )
    }  # fmt: skip
    env["LUMA_IMAGE_URL_TEMPLATE"] += "/{sha256}.png"
    env.update(LUMA_API_KEY="l", VERTEX_API_KEY="v", RUNWAYML_API_SECRET="r", OPENAI_API_KEY="o")
    aliases = load_aliases(Path("vmeval"), env)
    providers = {}
    for name in UPSTREAM_NAMES:
        assert name in aliases, name
        spec = resolve_model(name, aliases)
        assert spec.provider in registry.models, (name, spec.provider)
        model = build_model(spec)  # builds without network or weights
        assert model.capabilities.output == "video", name
        providers[name] = spec.provider
        asyncio.run(model.close())
    assert set(providers.values()) == {"luma", "veo", "runway", "openai-video", "diffusers-i2v"}
    assert resolve_model("cogvideox-5b-i2v", aliases).init_args["family"] == "cogvideox-i2v"
    assert resolve_model("openai-sora-2-pro", aliases).init_args["model"] == "sora-2-pro"


def test_a_catalogue_alias_whose_key_is_unset_fails_only_when_used() -> None:
    aliases = load_aliases(Path("vmeval"), {k: v for k, v in os.environ.items() if k == "PATH"})
    assert resolve_model("svd", aliases).provider == "diffusers-i2v"
    with pytest.raises(Exception, match="RUNWAYML_API_SECRET"):
        resolve_model("runway-gen4-turbo", aliases)


def test_the_diffusers_provider_is_registered_and_names_unknown_families() -> None:
    assert registry.models.get("diffusers-i2v") is DiffusersImageToVideo
    with pytest.raises(ValueError, match="known: "):
        DiffusersImageToVideo(family="nope", model_path="x")
