"""OpenAI video generation (Sora 2) through the `openai` SDK's videos API; also the client of
`omnieval serve`'s video endpoint, which speaks the same protocol.

Wire (SDK calls): `videos.create(model, prompt, seconds, size, input_reference=<image file>)`
-> a `video` object with `id` and `status` (`queued`, `in_progress`, `completed`, `failed`);
`videos.retrieve(id)` polls it; `videos.download_content(id, variant="video")` fetches the mp4.
A failed job's `error.code` / `error.message` is the provider's reason; moderation codes make
the trial a refusal. The first frame is letterboxed (white) to exactly the requested size, as
the API requires (upstream resizes and pads the same way, in memory).
"""

from __future__ import annotations

import warnings
from typing import Any

from omnieval import registry
from omnieval.models.base import PermanentModelError, PreflightError
from omnieval.models.video.hosted import HostedVideoGenerator
from omnieval.models.video.media import fitted_png
from omnieval.models.video.spec import VideoSpec, job_failed, refusal, video_response
from omnieval.types import Modality, Response

#: what each model accepts (OpenAI's docs and upstream's `_get_model_constraints`)
SORA_LIMITS: dict[str, dict[str, list[str]]] = {
    "sora-2": {"seconds": ["4", "8", "12"], "sizes": ["1280x720", "720x1280"]},
    "sora-2-pro": {
        "seconds": ["4", "8", "12"],
        "sizes": ["1280x720", "720x1280", "1024x1792", "1792x1024"],
    },
}
DEFAULT_SECONDS = "8"
DEFAULT_SIZE = "1280x720"
_REFUSAL_CODES = ("moderation", "content_policy", "safety", "policy_violation")


def _is_refusal(code: str, message: str) -> bool:
    text = f"{code} {message}".lower()
    return any(word in text for word in _REFUSAL_CODES)


def nearest_seconds(duration_s: float | None, allowed: list[str] | None) -> str:
    if duration_s is None:
        return DEFAULT_SECONDS if not allowed or DEFAULT_SECONDS in allowed else allowed[0]
    if not allowed:
        return f"{duration_s:g}"
    return min(allowed, key=lambda s: (abs(float(s) - duration_s), -float(s)))


def nearest_size(resolution: tuple[int, int] | None, allowed: list[str] | None) -> str:
    if resolution is None:
        return DEFAULT_SIZE if not allowed or DEFAULT_SIZE in allowed else allowed[0]
    asked = f"{resolution[0]}x{resolution[1]}"
    if not allowed or asked in allowed:
        return asked
    ratio = resolution[0] / resolution[1]

    def distance(size: str) -> tuple[float, float]:
        w, h = (int(v) for v in size.split("x"))
        return abs(w / h - ratio), abs(w * h - resolution[0] * resolution[1])

    return min(allowed, key=distance)


def _served_meta(video: Any) -> dict[str, Any]:
    """What the server reported: its `seconds`, plus, from `omnieval serve`, the hosted
    generator's own artifact metadata (`omnieval_meta`) under `served`."""
    meta: dict[str, Any] = {"provider_seconds": getattr(video, "seconds", None)}
    served = (getattr(video, "model_extra", None) or {}).get("omnieval_meta")
    if isinstance(served, dict):
        meta["served"] = served
        for key in ("fps", "width", "height", "frames", "duration_s"):
            if served.get(key) is not None:
                meta.setdefault(key, served[key])
    return meta


@registry.models.register("openai-video")
class SoraVideo(HostedVideoGenerator):
    """OpenAI's `/v1/videos` API (or any server speaking it, such as `omnieval serve`).

    Arguments: `model` (`sora-2`, `sora-2-pro`, or a served alias); `api_key`; `base_url`
    (default OpenAI's); `seconds` / `sizes`: the accepted values (default: the model's, from
    `SORA_LIMITS`; `[]` = send what the request asks); `send_extras`: also send `seed`, `fps` and
    `negative_prompt` as form fields (understood by `omnieval serve`, not by OpenAI);
    `timeout_s`: per HTTP call; plus the polling settings of `VideoGenerator`.
    """

    name = "openai-video"
    refusal_words = _REFUSAL_CODES

    def __init__(
        self,
        model: str = "sora-2",
        api_key: str | None = None,
        base_url: str | None = None,
        seconds: list[str] | None = None,
        sizes: list[str] | None = None,
        send_extras: bool = False,
        timeout_s: float = 120.0,
        poll_interval_s: float = 10.0,
        max_poll_interval_s: float = 30.0,
        poll_timeout_s: float = 1800.0,
        max_concurrency: int = 4,
    ) -> None:
        polling = (poll_interval_s, max_poll_interval_s, poll_timeout_s, max_concurrency)
        super().__init__(model, api_key, base_url, timeout_s, *polling)
        limits = SORA_LIMITS.get(model, {})
        self.seconds = [str(s) for s in seconds] if seconds is not None else limits.get("seconds")
        self.sizes = [str(s) for s in sizes] if sizes is not None else limits.get("sizes")
        self.send_extras = send_extras

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "extras": self.send_extras}

    def _new_client(self) -> Any:
        try:
            import openai
        except ImportError as err:  # pragma: no cover - openai is a test dependency
            raise PreflightError("the openai-video provider needs `pip install openai`") from err
        if self.base_url and "api.openai.com" not in self.base_url:
            # the SDK warns that OpenAI's own Sora API shuts down; other servers speaking
            # the protocol (omnieval serve) are not concerned
            warnings.filterwarnings(
                "ignore", message="The Sora API is scheduled", category=DeprecationWarning
            )
        return self._sdk_client(openai.AsyncOpenAI)

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        if self.base_url is None and not self._api_key:
            raise PreflightError("openai-video needs api_key (OPENAI_API_KEY) or a base_url")
        self.client()

    async def _submit(self, spec: VideoSpec) -> tuple[str, dict[str, Any]]:
        seconds = nearest_seconds(spec.duration_s, self.seconds)
        size = nearest_size(spec.resolution, self.sizes)
        width, height = (int(v) for v in size.split("x"))
        image = fitted_png(spec.image, width, height)
        settings: dict[str, Any] = {"duration_s": float(seconds), "resolution": size}
        extra_body: dict[str, Any] = {}
        ignored: list[str] = []
        for key, value in (
            ("seed", spec.seed),
            ("fps", spec.fps),
            ("negative_prompt", spec.negative_prompt),
        ):
            if value is None:
                continue
            if self.send_extras:
                extra_body[key] = value
                settings[key] = value
            else:
                ignored.append(key)
        if ignored:
            settings["ignored"] = ignored
        try:
            video = await self.client().videos.create(
                model=self.model,
                prompt=spec.prompt,
                seconds=seconds,
                size=size,
                input_reference=("first_frame.png", image, "image/png"),
                extra_body=extra_body or None,
            )
        except Exception as err:
            raise self._error(err, "create") from None
        return str(video.id), settings

    async def _status(
        self, provider_id: str, settings: dict[str, Any], submitted_at: float | None
    ) -> Response | None:
        client = self.client()
        try:
            video = await client.videos.retrieve(provider_id)
        except Exception as err:
            raise self._error(err, f"retrieve {provider_id}") from None
        status = str(video.status)
        if status in ("queued", "in_progress"):
            return None
        if status == "failed":
            error = getattr(video, "error", None)
            code = str(getattr(error, "code", "") or "")
            message = str(getattr(error, "message", "") or "no reason given")
            if _is_refusal(code, message):
                return refusal(self.name, f"{code}: {message}" if code else message)
            return job_failed(self.name, f"{code}: {message}" if code else message)
        if status != "completed":
            raise PermanentModelError(f"{self.name}: video {provider_id} has status {status!r}")
        try:
            content = await client.videos.download_content(provider_id, variant="video")
            data = content.content if hasattr(content, "content") else await content.aread()
        except Exception as err:
            raise self._error(err, f"download {provider_id}") from None
        return video_response(
            bytes(data),
            provider=self.name,
            model=str(getattr(video, "model", None) or self.model),
            job_id=provider_id,
            submitted_at=submitted_at,
            settings=settings,
            extra_meta=_served_meta(video),
        )
