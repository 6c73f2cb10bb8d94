"""The common shape of API video generators: submit a job, poll it, download the video.

`VideoGenerator` subclasses implement `_submit(spec) -> (provider job id, settings sent)` and
`_status(provider id, settings, submitted_at) -> Response | None`. The runner drives them through
`submit` / `poll` (capability `jobs`), journaling the job id the moment it exists
(omnieval/runner/jobs.py), so a killed run polls its jobs on resume instead of paying twice;
`generate` runs the same submit-and-poll loop in-process (for `omnieval serve` and the API).

The journaled job id carries what the job needs to be described after a restart: the provider's
id, the settings sent and the submission time, as `<provider id>|<compact JSON>`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from omnieval.models.base import (
    JobPolling,
    Model,
    ModelCapabilities,
    ModelUnreachableError,
    PermanentModelError,
    TransientModelError,
)
from omnieval.models.video.spec import REFUSAL_FINISH, VideoSpec
from omnieval.types import Modality, Request, Response, TrialStatus

_SEP = "|"
MAX_POLL_ERRORS = 10  # transient poll errors in a row before `generate` gives up


class ContentRefused(PermanentModelError):
    """The provider refused the request on content-policy grounds: the message reads
    `refused by <provider>: <the provider's reason>`."""

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"refused by {provider}: {reason}")


def refused_response(err: ContentRefused) -> Response:
    return Response(status=TrialStatus.FAILED, error=str(err), finish_reason=REFUSAL_FINISH)


def encode_job(provider_id: str, settings: dict[str, Any], submitted_at: float) -> str:
    payload = {"s": settings, "t": round(submitted_at, 3)}
    return f"{provider_id}{_SEP}{json.dumps(payload, sort_keys=True, separators=(',', ':'))}"


def decode_job(job_id: str) -> tuple[str, dict[str, Any], float | None]:
    """(provider id, settings, submitted_at) of a journaled job id (a bare id is accepted)."""
    provider_id, sep, rest = job_id.partition(_SEP)
    if not sep:
        return job_id, {}, None
    try:
        payload = json.loads(rest)
        return provider_id, dict(payload.get("s") or {}), payload.get("t")
    except (json.JSONDecodeError, AttributeError, TypeError):
        return provider_id, {}, None


class VideoGenerator(Model):
    """A first-frame + prompt -> video API behind submit / poll."""

    name = "video"

    def __init__(
        self,
        model: str,
        poll_interval_s: float = 5.0,
        max_poll_interval_s: float = 30.0,
        poll_timeout_s: float = 1800.0,
        max_concurrency: int = 4,
    ) -> None:
        if poll_interval_s <= 0 or max_poll_interval_s <= 0:
            raise ValueError("poll intervals must be positive")
        if poll_timeout_s <= 0:
            raise ValueError(f"poll_timeout_s must be positive, not {poll_timeout_s}")
        self.model = model
        self.polling = JobPolling(
            poll_interval_s=float(poll_interval_s),
            max_poll_interval_s=float(max(max_poll_interval_s, poll_interval_s)),
            timeout_s=float(poll_timeout_s),
        )
        self.capabilities = ModelCapabilities(
            inputs=frozenset({Modality.TEXT, Modality.IMAGE}),
            output="video",
            jobs=True,
            max_concurrency=max_concurrency,
        )

    # ------------------------------------------------------------------ to implement

    async def _submit(self, spec: VideoSpec) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    async def _status(
        self, provider_id: str, settings: dict[str, Any], submitted_at: float | None
    ) -> Response | None:
        raise NotImplementedError

    # ------------------------------------------------------------------ Model

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "model": self.model}

    def job_polling(self) -> JobPolling:
        return self.polling

    async def submit(self, request: Request) -> str:
        spec = VideoSpec.from_request(request)
        submitted_at = time.time()
        provider_id, settings = await self._submit(spec)
        if spec.unknown:
            settings = {
                **settings,
                "ignored": sorted({*settings.get("ignored", ()), *spec.unknown}),
            }
        return encode_job(provider_id, settings, submitted_at)

    async def poll(self, job_id: str) -> Response | None:
        provider_id, settings, submitted_at = decode_job(job_id)
        return await self._status(provider_id, settings, submitted_at)

    async def generate(self, request: Request) -> Response:
        """Submit and poll in-process (no journal): backoff x1.5 up to the cap, transient poll
        errors retried (up to `MAX_POLL_ERRORS` in a row), then a timeout. A transient submit
        error is raised for the caller's retry policy."""
        try:
            job = await self.submit(request)
        except ContentRefused as err:
            return refused_response(err)
        started = time.monotonic()
        interval = self.polling.poll_interval_s
        errors = 0
        while True:
            try:
                response = await self.poll(job)
            except TransientModelError:
                errors += 1
                if errors >= MAX_POLL_ERRORS:
                    raise
                response = None
            else:
                errors = 0
            if response is not None:
                return response
            limit = self.polling.timeout_s
            if limit is not None and time.monotonic() - started >= limit:
                raise PermanentModelError(
                    f"{self.name} job {decode_job(job)[0]} did not finish within {limit:g} s"
                )
            await asyncio.sleep(interval)
            interval = min(self.polling.max_poll_interval_s, interval * 1.5)


# --------------------------------------------------------------------------- SDK errors


def sdk_error(provider: str, err: BaseException, what: str) -> Exception:
    """Our error for an exception of a Stainless-generated SDK (openai, runwayml, lumaai):
    connection problems and timeouts are transient (unreachable), 408 / 409 / 429 / 5xx are
    transient with their Retry-After, other 4xx are permanent with the provider's message."""
    names = {cls.__name__ for cls in type(err).__mro__}
    status = getattr(err, "status_code", None)
    message = _message(err)
    if (
        "APITimeoutError" in names
        or "APIConnectionError" in names
        or isinstance(err, asyncio.TimeoutError | ConnectionError)
    ):
        return ModelUnreachableError(f"{provider} {what}: {type(err).__name__}: {message}")
    if isinstance(status, int):
        if status in (408, 409, 429) or status >= 500:
            return TransientModelError(
                f"{provider} {what}: HTTP {status}: {message}", _retry_after(err)
            )
        return PermanentModelError(f"{provider} {what}: HTTP {status}: {message}")
    return PermanentModelError(f"{provider} {what}: {type(err).__name__}: {message}")


def _message(err: BaseException) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(err)


def _retry_after(err: BaseException) -> float | None:
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None
