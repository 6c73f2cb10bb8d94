"""Google Veo through `google-genai` long-running operations, on Vertex AI.

google-genai 3.x sends `generate_videos` only in Vertex AI mode (in Gemini Developer API mode it
raises "only supported in ... Agent Platform mode"), so this provider uses Vertex: an API key
(Vertex express mode) or a project + location with application-default credentials.

Wire: `models.generate_videos(model, source=GenerateVideosSource(prompt, image), config)` posts
`.../publishers/google/models/<model>:predictLongRunning` and returns an operation `name`;
`operations.get(operation)` posts `...:fetchPredictOperation {"operationName": name}` until
`done`; the finished operation carries the video inline (`bytesBase64Encoded`; no
`output_gcs_uri` is sent). A done operation with `error` is a failed job (its message); one whose
videos were all filtered (`raiMediaFilteredCount` > 0, no video) is a content-policy refusal
with `raiMediaFilteredReasons`. The first frame is padded (white) to the chosen aspect ratio,
as upstream does.
"""

from __future__ import annotations

import contextlib
from typing import Any

from omnieval import registry
from omnieval.media.encode import encode_png
from omnieval.models.base import (
    ModelUnreachableError,
    PermanentModelError,
    PreflightError,
    TransientModelError,
)
from omnieval.models.video.base import ContentRefused
from omnieval.models.video.hosted import HostedVideoGenerator
from omnieval.models.video.media import decode_image, image_size, letterbox
from omnieval.models.video.spec import VideoSpec, job_failed, refusal, video_response
from omnieval.types import Modality, Response

DURATIONS = (4, 6, 8)
ASPECTS = ("16:9", "9:16")


def veo_aspect(width: int, height: int) -> str:
    """Upstream's rule: landscape and square inputs take 16:9, portrait 9:16."""
    return "9:16" if width < height * 0.9 else "16:9"


def pad_to_aspect(data: bytes, name: str, aspect: str) -> bytes:
    image = decode_image(data, name)
    h, w = image.shape[:2]
    ratio = 16 / 9 if aspect == "16:9" else 9 / 16
    if abs(w / h - ratio) < 0.01:
        return encode_png(image)
    if w / h > ratio:
        width, height = w, round(w / ratio)
    else:
        width, height = round(h * ratio), h
    return encode_png(letterbox(image, width, height))


@registry.models.register("veo")
class VeoVideo(HostedVideoGenerator):
    """Veo through the Gemini API.

    Arguments: `model` (`veo-2.0-generate-001`, `veo-3.0-generate-001`, ...); `api_key` (a
    Vertex AI express-mode key), or `project` + `location` (application-default credentials);
    `base_url` (default Google's); `api_version` (default the SDK's); `resolution`
    (`720p` / `1080p`, Veo 3 only; default: not sent); `generate_audio` (Veo 3; default not
    sent); `person_generation`; `timeout_s`; the polling settings of `VideoGenerator`.
    """

    name = "veo"

    def __init__(
        self,
        model: str = "veo-3.0-generate-001",
        api_key: str | None = None,
        base_url: str | None = None,
        project: str | None = None,
        location: str | None = None,
        api_version: str | None = None,
        resolution: str | None = None,
        generate_audio: bool | None = None,
        person_generation: str | None = None,
        timeout_s: float = 120.0,
        poll_interval_s: float = 10.0,
        max_poll_interval_s: float = 30.0,
        poll_timeout_s: float = 1800.0,
        max_concurrency: int = 4,
    ) -> None:
        polling = (poll_interval_s, max_poll_interval_s, poll_timeout_s, max_concurrency)
        super().__init__(model, api_key, base_url, timeout_s, *polling)
        self.api_version = api_version
        if not api_key and not project:
            raise ValueError("veo needs api_key (Vertex AI express mode) or project + location")
        self.project = project
        self.location = location
        self.resolution = resolution
        self.generate_audio = generate_audio
        self.person_generation = person_generation
        self._types: Any = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            **super().fingerprint(),
            "resolution": self.resolution,
            "generate_audio": self.generate_audio,
        }

    def client(self) -> tuple[Any, Any]:
        if self._client is None:
            try:
                from google import genai
                from google.genai import types
            except ImportError as err:
                raise PreflightError(
                    "the veo provider needs google-genai: pip install 'omnieval[gemini]'"
                ) from err
            options = types.HttpOptions(
                base_url=self.base_url,
                api_version=self.api_version,
                timeout=int(self.timeout_s * 1000),
            )
            if self._api_key:
                self._client = genai.Client(
                    vertexai=True, api_key=self._api_key, http_options=options
                )
            else:
                self._client = genai.Client(
                    vertexai=True,
                    project=self.project,
                    location=self.location,
                    http_options=options,
                )
            self._types = types
        return self._client, self._types

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        try:
            self.client()
        except PreflightError:
            raise
        except Exception as err:  # missing credentials surface when the client is built
            raise PreflightError(f"veo cannot build its client: {err}") from None

    async def _submit(self, spec: VideoSpec) -> tuple[str, dict[str, Any]]:
        client, types = self.client()
        aspect = veo_aspect(*(spec.resolution or image_size(spec.image)))
        duration = (
            8
            if spec.duration_s is None
            else min(DURATIONS, key=lambda d: (abs(d - spec.duration_s), -d))  # type: ignore[operator]
        )
        settings: dict[str, Any] = {"duration_s": float(duration), "aspect_ratio": aspect}
        config: dict[str, Any] = {"aspect_ratio": aspect, "duration_seconds": duration}
        for key, value in (
            ("seed", spec.seed),
            ("negative_prompt", spec.negative_prompt),
            ("resolution", self.resolution),
            ("generate_audio", self.generate_audio),
            ("person_generation", self.person_generation),
        ):
            if value is not None:
                config[key] = value
                settings[key] = value
        if spec.fps is not None:
            settings["ignored"] = ["fps"]
        image = types.Image(
            image_bytes=pad_to_aspect(spec.image.data, spec.image.name, aspect),
            mime_type="image/png",
        )
        try:
            operation = await client.aio.models.generate_videos(
                model=self.model,
                source=types.GenerateVideosSource(prompt=spec.prompt, image=image),
                config=types.GenerateVideosConfig(**config),
            )
        except Exception as err:
            raise self._error(err, "generate_videos") from None
        if not operation.name:
            raise PermanentModelError("veo: generate_videos returned an operation without a name")
        return str(operation.name), settings

    async def _status(
        self, provider_id: str, settings: dict[str, Any], submitted_at: float | None
    ) -> Response | None:
        client, types = self.client()
        try:
            operation = await client.aio.operations.get(
                types.GenerateVideosOperation(name=provider_id)
            )
        except Exception as err:
            raise self._error(err, f"operation {provider_id}") from None
        if not operation.done:
            return None
        if operation.error:
            error = dict(operation.error)
            return job_failed(self.name, str(error.get("message") or error))
        result = operation.response or operation.result
        videos = list(getattr(result, "generated_videos", None) or [])
        if not videos:
            reasons = list(getattr(result, "rai_media_filtered_reasons", None) or [])
            if reasons or getattr(result, "rai_media_filtered_count", None):
                return refusal(self.name, "; ".join(reasons) or "filtered by responsible-AI checks")
            return job_failed(self.name, "the operation finished without a video")
        video = videos[0].video
        data = getattr(video, "video_bytes", None)
        if not data:
            raise PermanentModelError(
                f"veo: operation {provider_id} returned no inline video "
                f"(uri {getattr(video, 'uri', None)!r}); omnieval does not read Cloud Storage"
            )
        return video_response(
            bytes(data),
            provider=self.name,
            model=self.model,
            job_id=provider_id,
            submitted_at=submitted_at,
            settings=settings,
        )

    def _error(self, err: Exception, what: str) -> Exception:
        code = getattr(err, "code", None)
        message = getattr(err, "message", None) or str(err)
        names = {cls.__name__ for cls in type(err).__mro__}
        if isinstance(code, int):
            if code in (408, 429) or code >= 500:
                return TransientModelError(f"veo {what}: HTTP {code}: {message}")
            text = str(message).lower()
            if any(w in text for w in ("safety", "policy", "responsible ai", "blocked")):
                return ContentRefused(self.name, f"HTTP {code}: {message}")
            return PermanentModelError(f"veo {what}: HTTP {code}: {message}")
        if names & {
            "ConnectError",
            "TimeoutException",
            "NetworkError",
            "RemoteProtocolError",
            "ClientConnectionError",
            "ServerTimeoutError",
            "TimeoutError",
        }:
            return ModelUnreachableError(f"veo {what}: {type(err).__name__}: {message}")
        return PermanentModelError(f"veo {what}: {type(err).__name__}: {message}")

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(AttributeError):
                await self._client.aio.aclose()
            self._client = None
