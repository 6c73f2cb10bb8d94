"""Runway image-to-video through the `runwayml` SDK.

Wire: `image_to_video.create(model, prompt_image, prompt_text, ratio, duration, seed)` -> a task
id; `tasks.retrieve(id)` -> `status` `PENDING` / `THROTTLED` / `RUNNING` / `SUCCEEDED` (with
`output` = video URLs) / `FAILED` (with `failure` and `failureCode`) / `CANCELLED`; the video is
downloaded from `output[0]`. The first frame goes inline as a base64 data URI (Runway accepts
them; no public URL is needed), letterboxed (white) to the chosen ratio's pixels. A
`failureCode` starting with `SAFETY` is a content-policy refusal.
"""

from __future__ import annotations

from typing import Any

from omnieval import registry
from omnieval.models.base import PermanentModelError, PreflightError
from omnieval.models.video.hosted import HostedVideoGenerator
from omnieval.models.video.media import data_uri, fitted_png, image_size
from omnieval.models.video.spec import VideoSpec, job_failed, refusal
from omnieval.types import Modality, Response

_GEN4_RATIOS = ["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"]
#: durations and output ratios per model (upstream's `_get_model_constraints`)
RUNWAY_LIMITS: dict[str, dict[str, list[Any]]] = {
    "gen4_turbo": {"durations": [5, 10], "ratios": _GEN4_RATIOS},
    "gen4_aleph": {"durations": [5], "ratios": _GEN4_RATIOS},
    "gen3a_turbo": {"durations": [5, 10], "ratios": ["1280:768", "768:1280"]},
}
_RUNNING = {"PENDING", "THROTTLED", "RUNNING"}


def best_ratio(width: int, height: int, ratios: list[str]) -> str:
    """The supported ratio closest to width/height (square inputs take a square ratio)."""
    target = width / height

    def distance(ratio: str) -> float:
        w, h = (int(v) for v in ratio.split(":"))
        return abs(w / h - target)

    return min(ratios, key=distance)


def nearest_duration(duration_s: float | None, durations: list[int]) -> int:
    if duration_s is None:
        return durations[0]
    return min(durations, key=lambda d: (abs(d - duration_s), -d))


@registry.models.register("runway")
class RunwayVideo(HostedVideoGenerator):
    """Runway's image-to-video API.

    Arguments: `model` (`gen4_turbo`, `gen4_aleph`, `gen3a_turbo`); `api_key`
    (RUNWAYML_API_SECRET); `base_url` (default Runway's); `ratios` / `durations` override the
    model's accepted values; `timeout_s` per HTTP call; the polling settings of `VideoGenerator`.
    """

    name = "runway"
    refusal_words = ("moderation", "safety")

    def __init__(
        self,
        model: str = "gen4_turbo",
        api_key: str | None = None,
        base_url: str | None = None,
        ratios: list[str] | None = None,
        durations: list[int] | None = None,
        timeout_s: float = 120.0,
        poll_interval_s: float = 5.0,
        max_poll_interval_s: float = 30.0,
        poll_timeout_s: float = 1800.0,
        max_concurrency: int = 4,
    ) -> None:
        polling = (poll_interval_s, max_poll_interval_s, poll_timeout_s, max_concurrency)
        super().__init__(model, api_key, base_url, timeout_s, *polling)
        limits = RUNWAY_LIMITS.get(model, RUNWAY_LIMITS["gen4_turbo"])
        self.ratios = list(ratios or limits["ratios"])
        self.durations = [int(d) for d in (durations or limits["durations"])]

    def _new_client(self) -> Any:
        try:
            import runwayml
        except ImportError as err:
            raise PreflightError(
                "the runway provider needs the runwayml SDK: pip install 'omnieval[video]'"
            ) from err
        return self._sdk_client(runwayml.AsyncRunwayML)

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        if not self._api_key:
            raise PreflightError("runway needs api_key (RUNWAYML_API_SECRET)")
        self.client()

    async def _submit(self, spec: VideoSpec) -> tuple[str, dict[str, Any]]:
        width, height = spec.resolution or image_size(spec.image)
        ratio = best_ratio(width, height, self.ratios)
        duration = nearest_duration(spec.duration_s, self.durations)
        pixels_w, pixels_h = (int(v) for v in ratio.split(":"))
        image = data_uri(fitted_png(spec.image, pixels_w, pixels_h), "image/png")
        settings: dict[str, Any] = {"duration_s": float(duration), "ratio": ratio}
        body: dict[str, Any] = {
            "model": self.model,
            "prompt_image": image,
            "prompt_text": spec.prompt,
            "ratio": ratio,
            "duration": duration,
        }
        if spec.seed is not None:
            body["seed"] = spec.seed
            settings["seed"] = spec.seed
        ignored = [k for k in ("fps", "negative_prompt") if getattr(spec, k) is not None]
        if ignored:
            settings["ignored"] = ignored
        try:
            task = await self.client().image_to_video.create(**body)
        except Exception as err:
            raise self._error(err, "image_to_video") from None
        return str(task.id), settings

    async def _status(
        self, provider_id: str, settings: dict[str, Any], submitted_at: float | None
    ) -> Response | None:
        try:
            task = await self.client().tasks.retrieve(provider_id)
        except Exception as err:
            raise self._error(err, f"task {provider_id}") from None
        status = str(task.status)
        if status in _RUNNING:
            return None
        if status == "FAILED":
            # the SDK's polling wrapper keeps unknown fields under their wire names
            code = str(
                getattr(task, "failure_code", None) or getattr(task, "failureCode", None) or ""
            )
            reason = str(getattr(task, "failure", None) or "no reason given")
            text = f"{code}: {reason}" if code else reason
            return (
                refusal(self.name, text)
                if code.startswith("SAFETY")
                else job_failed(self.name, text)
            )
        if status == "CANCELLED":
            return job_failed(self.name, "the task was cancelled")
        if status != "SUCCEEDED" or not getattr(task, "output", None):
            raise PermanentModelError(f"{self.name}: task {provider_id} ended as {status!r}")
        return await self._downloaded_response(
            str(task.output[0]),
            provider_id=provider_id,
            model=self.model,
            settings=settings,
            submitted_at=submitted_at,
        )
