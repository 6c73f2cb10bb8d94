"""Luma Dream Machine (Ray 2) through the `lumaai` SDK.

Wire: `generations.create(model, prompt, keyframes={"frame0": {"type": "image", "url": ...}},
aspect_ratio, duration, resolution, loop)` -> a generation with `id` and `state`;
`generations.get(id)` -> `state` `queued` / `dreaming` / `completed` (with `assets.video`) /
`failed` (with `failure_reason`). A failure reason that mentions moderation or policy is a
content-policy refusal.

Luma reads the first frame from a public URL. Give one of:
- `image_url_template`: a URL with `{sha256}` (and optionally `{name}`), for frames you have
  already published (for example a bucket synced from the question directory);
- `uploader`: `"module:function"`, called as `function(data: bytes, name: str, sha256: str)`
  and returning the URL (for example one that puts the bytes into an object store and returns a
  presigned GET URL). Nothing is uploaded anywhere by default.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from omnieval import registry
from omnieval.models.base import PermanentModelError, PreflightError
from omnieval.models.video.hosted import HostedVideoGenerator
from omnieval.models.video.media import image_size
from omnieval.models.video.spec import FirstFrame, VideoSpec, job_failed, refusal
from omnieval.types import Modality, Response

ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"]
DURATIONS = ["5s", "9s"]
_RUNNING = {"queued", "dreaming"}
_REFUSAL_WORDS = ("moderation", "content policy", "safety")

Uploader = Callable[[bytes, str, str], Any]


def nearest_aspect(width: int, height: int) -> str:
    target = width / height
    return min(
        ASPECT_RATIOS, key=lambda r: abs(int(r.split(":")[0]) / int(r.split(":")[1]) - target)
    )


def load_uploader(spec: str) -> Uploader:
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(f"uploader {spec!r} must be 'module:function'")
    try:
        found = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"uploader {spec!r} cannot be loaded: {err}") from None
    if not callable(found):
        raise ValueError(f"uploader {spec!r} is not callable")
    return found


@registry.models.register("luma")
class LumaVideo(HostedVideoGenerator):
    """Luma's Dream Machine API.

    Arguments: `model` (`ray-2`, `ray-flash-2`); `api_key` (LUMA_API_KEY); `base_url` (default
    Luma's); `image_url_template` or `uploader` (see the module doc; one is required);
    `aspect_ratio` (default: nearest to the requested resolution, else to the first frame);
    `resolution` (`540p`, `720p`, `1080p`; default 720p); `loop`; `timeout_s`; polling settings.
    """

    name = "luma"
    refusal_words = _REFUSAL_WORDS

    def __init__(
        self,
        model: str = "ray-2",
        api_key: str | None = None,
        base_url: str | None = None,
        image_url_template: str | None = None,
        uploader: str | Uploader | None = None,
        aspect_ratio: str | None = None,
        resolution: str = "720p",
        loop: bool = False,
        timeout_s: float = 120.0,
        poll_interval_s: float = 5.0,
        max_poll_interval_s: float = 30.0,
        poll_timeout_s: float = 1800.0,
        max_concurrency: int = 4,
    ) -> None:
        polling = (poll_interval_s, max_poll_interval_s, poll_timeout_s, max_concurrency)
        super().__init__(model, api_key, base_url, timeout_s, *polling)
        if image_url_template is None and uploader is None:
            raise ValueError(
                "luma reads the first frame from a public URL: give image_url_template "
                "(with {sha256}) or uploader ('module:function' returning a URL)"
            )
        if image_url_template is not None and "{sha256}" not in image_url_template:
            raise ValueError("image_url_template must contain {sha256}")
        if aspect_ratio is not None and aspect_ratio not in ASPECT_RATIOS:
            raise ValueError(f"aspect_ratio must be one of {ASPECT_RATIOS}")
        self.image_url_template = image_url_template
        self.uploader: Uploader | None = (
            load_uploader(uploader) if isinstance(uploader, str) else uploader
        )
        self.aspect_ratio = aspect_ratio
        self.resolution = resolution
        self.loop = loop

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "resolution": self.resolution, "loop": self.loop}

    def _new_client(self) -> Any:
        try:
            import lumaai
        except ImportError as err:
            raise PreflightError(
                "the luma provider needs the lumaai SDK: pip install 'omnieval[video]'"
            ) from err
        return self._sdk_client(lumaai.AsyncLumaAI, key_argument="auth_token")

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        if not self._api_key:
            raise PreflightError("luma needs api_key (LUMA_API_KEY)")
        self.client()

    async def image_url(self, frame: FirstFrame) -> str:
        digest = hashlib.sha256(frame.data).hexdigest()
        if self.image_url_template is not None:
            return self.image_url_template.format(sha256=digest, name=frame.name)
        assert self.uploader is not None
        try:
            url = self.uploader(frame.data, frame.name, digest)
            if inspect.isawaitable(url):
                url = await url
        except Exception as err:
            raise PermanentModelError(
                f"luma: the uploader failed for {frame.name}: {type(err).__name__}: {err}"
            ) from None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PermanentModelError(f"luma: the uploader returned {url!r}, not a URL")
        return url

    async def _submit(self, spec: VideoSpec) -> tuple[str, dict[str, Any]]:
        if self.aspect_ratio is not None:
            aspect = self.aspect_ratio
        else:
            aspect = nearest_aspect(*(spec.resolution or image_size(spec.image)))
        duration = "5s" if spec.duration_s is None or spec.duration_s < 7 else "9s"
        url = await self.image_url(spec.image)
        settings: dict[str, Any] = {
            "duration_s": float(duration[:-1]),
            "aspect_ratio": aspect,
            "resolution": self.resolution,
        }
        ignored = [k for k in ("fps", "seed", "negative_prompt") if getattr(spec, k) is not None]
        if ignored:
            settings["ignored"] = ignored
        try:
            generation = await self.client().generations.create(
                model=self.model,
                prompt=spec.prompt,
                keyframes={"frame0": {"type": "image", "url": url}},
                aspect_ratio=aspect,
                duration=duration,
                resolution=self.resolution,
                loop=self.loop,
            )
        except Exception as err:
            raise self._error(err, "create") from None
        if not generation.id:
            raise PermanentModelError("luma: the create call returned no generation id")
        return str(generation.id), settings

    async def _status(
        self, provider_id: str, settings: dict[str, Any], submitted_at: float | None
    ) -> Response | None:
        try:
            generation = await self.client().generations.get(provider_id)
        except Exception as err:
            raise self._error(err, f"generation {provider_id}") from None
        state = str(generation.state)
        if state in _RUNNING:
            return None
        if state == "failed":
            reason = str(generation.failure_reason or "no reason given")
            if any(word in reason.lower() for word in _REFUSAL_WORDS):
                return refusal(self.name, reason)
            return job_failed(self.name, reason)
        video = getattr(generation.assets, "video", None) if generation.assets else None
        if state != "completed" or not video:
            raise PermanentModelError(
                f"{self.name}: generation {provider_id} ended as {state!r} without a video"
            )
        return await self._downloaded_response(
            str(video),
            provider_id=provider_id,
            model=str(generation.model or self.model),
            settings=settings,
            submitted_at=submitted_at,
        )
