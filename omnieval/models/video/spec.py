"""What a video-generation request asks for, and how a generated video is answered.

Request (built by the task, HANDOFF-vmeval.md section 1): the first frame as the first
`ImagePart`, the instruction as the `TextPart`s, and the clip settings in
`GenerationParams.extra`:

    duration: float       seconds of video (providers round to the durations they accept;
                          `duration_s` is accepted too)
    fps: int              frames per second (local pipelines; APIs record what they deliver)
    resolution: "WxH"     e.g. "1280x720"; APIs map it to their nearest size or aspect ratio
    seed: int             also taken from `GenerationParams.seed`; `extra.seed` wins
    negative_prompt: str  where the provider has one

A key a provider cannot honour is recorded as such in the artifact metadata, never silently
dropped: `meta["request"]["ignored"]` lists it.

Response: one artifact `video.mp4` (kind `video`, mime `video/mp4`) whose `meta` carries
`provider`, `model`, `job_id`, `submitted_at` / `finished_at` (ISO 8601 UTC), `generation_s`
(wall-clock seconds from submission to the finished download), `request` (the settings actually
sent: `duration_s`, `resolution` or `aspect_ratio`, `seed`, ...) and, read from the video
itself, `fps`, `width`, `height`, `frames`, `duration_s` (absent when the bytes do not decode).
A provider's content-policy refusal is a failed Response whose error
starts with `refused by <provider>:` followed by the provider's own reason, and whose
`finish_reason` is `content_filter`.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import av

from omnieval.models.base import PermanentModelError
from omnieval.types import Artifact, ImagePart, Request, Response, TrialStatus

EXTRA_KEYS = ("duration", "duration_s", "fps", "resolution", "seed", "negative_prompt")
_RESOLUTION = re.compile(r"^\s*(\d+)\s*[xX*:]\s*(\d+)\s*$")
VIDEO_NAME = "video.mp4"
REFUSAL_FINISH = "content_filter"


def parse_resolution(value: Any) -> tuple[int, int]:
    """(width, height) from "1280x720" (also "1280*720", "1280:720") or a [w, h] pair."""
    if isinstance(value, list | tuple) and len(value) == 2:
        width, height = int(value[0]), int(value[1])
    else:
        match = _RESOLUTION.match(str(value))
        if match is None:
            raise PermanentModelError(
                f"resolution {value!r} is not WIDTHxHEIGHT (for example 1280x720)"
            )
        width, height = int(match.group(1)), int(match.group(2))
    if width <= 0 or height <= 0:
        raise PermanentModelError(f"resolution {value!r} must be positive")
    return width, height


@dataclass(frozen=True)
class FirstFrame:
    """The conditioning image: its bytes, mime type and a name for uploads."""

    data: bytes
    mime: str
    name: str


@dataclass(frozen=True)
class VideoSpec:
    """A request read for a video generator (settings None = the provider's default)."""

    prompt: str
    image: FirstFrame
    duration_s: float | None = None
    fps: int | None = None
    resolution: tuple[int, int] | None = None
    seed: int | None = None
    negative_prompt: str | None = None
    unknown: tuple[str, ...] = field(default=())

    @classmethod
    def from_request(cls, request: Request) -> VideoSpec:
        images = [p for p in request.parts if isinstance(p, ImagePart)]
        if not images:
            raise PermanentModelError(
                "a video generator needs the first frame as an image part; the request has none"
            )
        image = _first_frame(images[0])
        prompt = request.text().strip()
        if not prompt:
            raise PermanentModelError("a video generator needs a text prompt; the request has none")
        extra = dict(request.generation.extra)
        try:
            duration = extra.get("duration", extra.get("duration_s"))
            fps = extra.get("fps")
            seed = extra.get("seed", request.generation.seed)
            spec = cls(
                prompt=prompt,
                image=image,
                duration_s=None if duration is None else float(duration),
                fps=None if fps is None else int(fps),
                resolution=(
                    None
                    if extra.get("resolution") is None
                    else parse_resolution(extra["resolution"])
                ),
                seed=None if seed is None else int(seed),
                negative_prompt=extra.get("negative_prompt"),
                unknown=tuple(sorted(k for k in extra if k not in EXTRA_KEYS)),
            )
        except (TypeError, ValueError) as err:
            raise PermanentModelError(f"bad video generation settings {extra}: {err}") from None
        if spec.duration_s is not None and spec.duration_s <= 0:
            raise PermanentModelError(f"duration_s must be positive, not {spec.duration_s}")
        if spec.fps is not None and spec.fps <= 0:
            raise PermanentModelError(f"fps must be positive, not {spec.fps}")
        return spec


def _first_frame(part: ImagePart) -> FirstFrame:
    if part.data is not None:
        return FirstFrame(part.data, part.mime or "image/png", "first_frame.png")
    if part.path is None:
        raise PermanentModelError("the first-frame image part has neither a path nor bytes")
    path = Path(part.path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise PermanentModelError(
            f"cannot read the first frame {path}: {err.strerror or err}"
        ) from None
    mime = part.mime or "image/png"
    if path.suffix.lower() in (".jpg", ".jpeg"):
        mime = "image/jpeg"
    elif path.suffix.lower() == ".webp":
        mime = "image/webp"
    return FirstFrame(data, mime, path.name)


def iso_utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="milliseconds")


def describe_video(video: bytes | Path | None) -> dict[str, Any]:
    """fps, width, height, frames and duration_s read from the video's container ({} when it
    does not decode)."""
    if video is None:
        return {}
    try:
        handle = io.BytesIO(video) if isinstance(video, bytes) else str(video)
        with av.open(handle, mode="r") as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            frames = stream.frames or sum(1 for packet in container.demux(stream) if packet.size)
            fps = float(rate) if rate else None
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif fps:
                duration = frames / fps
            return {
                "fps": fps,
                "width": int(stream.codec_context.width),
                "height": int(stream.codec_context.height),
                "frames": int(frames),
                "duration_s": None if duration is None else round(duration, 3),
            }
    except (av.error.FFmpegError, IndexError, ValueError, OSError):
        return {}


def video_response(
    data: bytes | None = None,
    *,
    source: Path | None = None,
    provider: str,
    model: str,
    job_id: str,
    submitted_at: float | None,
    settings: dict[str, Any],
    extra_meta: dict[str, Any] | None = None,
) -> Response:
    """The OK Response carrying one generated video (bytes in flight, or a file written)."""
    if data is None and source is None:
        raise ValueError("a video response needs the bytes or a file")
    finished = time.time()
    meta: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "job_id": job_id,
        "submitted_at": None if submitted_at is None else iso_utc(submitted_at),
        "finished_at": iso_utc(finished),
        "generation_s": None if submitted_at is None else round(finished - submitted_at, 3),
        "request": settings,
        **(extra_meta or {}),
        **describe_video(data if data is not None else source),  # read from the video wins
    }
    artifact = Artifact(
        name=VIDEO_NAME, kind="video", mime="video/mp4", data=data, source=source, meta=meta
    )
    latency = 0.0 if submitted_at is None else max(0.0, finished - submitted_at)
    return Response(artifacts=(artifact,), latency_s=latency, finish_reason="stop")


def refusal(provider: str, reason: str) -> Response:
    """A content-policy refusal: a failed trial carrying the provider's own reason."""
    return Response(
        status=TrialStatus.FAILED,
        error=f"refused by {provider}: {reason or 'no reason given'}",
        finish_reason=REFUSAL_FINISH,
    )


def job_failed(provider: str, reason: str) -> Response:
    """A job the provider reports as failed for another reason than a refusal."""
    return Response(status=TrialStatus.FAILED, error=f"{provider} job failed: {reason}")
