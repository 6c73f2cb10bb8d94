"""`omnieval serve`'s video-generation endpoint: OpenAI's videos API over any video generator.

Any model whose output is a video (a `diffusers-i2v` pipeline on a GPU box, a reference model,
or an API provider behind a gateway) is served with the same protocol as OpenAI's `/v1/videos`,
so the `openai-video` provider (and the `openai` SDK) reach it unchanged:

- `POST /v1/videos` (multipart form): `prompt` (required), `input_reference` (the first frame,
  required), `model` (must be the served alias when given), `seconds` (duration), `size`
  ("WxH"), and the omnieval extensions `seed`, `fps`, `negative_prompt`. Answers a `video`
  object `{"id", "object": "video", "status": "queued", ...}` at once; generation runs in the
  background (at most the model's `max_concurrency` at a time).
- `GET /v1/videos/{id}`: the object, `status` `queued` / `in_progress` / `completed` / `failed`;
  a failed job has `error: {"code", "message"}` (`moderation_blocked` for a content-policy
  refusal, `generation_failed` otherwise). A completed one also carries `omnieval_meta`, the
  generator's artifact metadata (fps, size, frames, timings).
- `GET /v1/videos/{id}/content[?variant=video]`: the mp4 bytes.
- `DELETE /v1/videos/{id}`: forget the job and its file.

Jobs live in the server's memory and its media directory: a restarted server answers 404 for
the ids it had, and the client then fails the trial (the next run submits it again).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.requests import Request as HttpRequest

from omnieval.models.base import Model
from omnieval.models.serve.decode import RequestError
from omnieval.types import GenerationParams, ImagePart, Request, TextPart

if TYPE_CHECKING:
    from omnieval.models.serve.served_model import ServedModel

log = logging.getLogger("omnieval.serve")

_FIELDS = ("prompt", "model", "seconds", "size", "seed", "fps", "negative_prompt")
MAX_JOBS = 1000  # finished jobs kept (oldest forgotten first)


@dataclass
class VideoJob:
    id: str
    prompt: str
    seconds: str | None
    size: str | None
    created_at: int = field(default_factory=lambda: int(time.time()))
    status: str = "queued"
    completed_at: int | None = None
    error: dict[str, str] | None = None
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def payload(self, model: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "video",
            "model": model,
            "status": self.status,
            "progress": 100 if self.status in ("completed", "failed") else 0,
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "expires_at": None,
            "prompt": self.prompt,
            "seconds": self.seconds,
            "size": self.size,
            "remixed_from_video_id": None,
            "error": self.error,
        }
        if self.meta:
            body["omnieval_meta"] = self.meta
        return body


class VideoJobs:
    """The server's video jobs: submission, background generation, lookup."""

    def __init__(self, served: ServedModel) -> None:
        self.served = served
        self.jobs: dict[str, VideoJob] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None

    def model(self) -> Model:
        self.served.require_batcher()  # 503 while loading or after a failed load
        assert self.served.model is not None
        model = self.served.model
        if model.capabilities.output != "video":
            raise RequestError(
                f"model {self.served.options.alias!r} does not generate videos "
                f"(its output is {model.capabilities.output!r})",
                status=400,
                code="unsupported_model",
            )
        return model

    def start(self, job: VideoJob, request: Request, model: Model) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, model.capabilities.max_concurrency))
        self.jobs[job.id] = job
        task = asyncio.get_running_loop().create_task(self._run(job, request, model))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self._forget_old()

    async def _run(self, job: VideoJob, request: Request, model: Model) -> None:
        assert self._slots is not None
        async with self._slots:
            job.status = "in_progress"
            try:
                response = await model.generate(request)
                if response.failed:
                    refused = response.finish_reason == "content_filter"
                    job.error = {
                        "code": "moderation_blocked" if refused else "generation_failed",
                        "message": response.error or "the generator failed",
                    }
                else:
                    job.path, job.meta = await asyncio.to_thread(self._store, job.id, response)
            except Exception as err:  # a generator's error fails this job, not the server
                log.warning("video job %s failed: %s: %s", job.id, type(err).__name__, err)
                job.error = {"code": "generation_failed", "message": f"{type(err).__name__}: {err}"}
            job.status = "failed" if job.error else "completed"
            job.completed_at = int(time.time())

    def _store(self, job_id: str, response: Any) -> tuple[Path, dict[str, Any]]:
        videos = [a for a in response.artifacts if a.kind == "video"]
        if not videos:
            raise RuntimeError("the generator returned no video artifact")
        artifact = videos[0]
        data = artifact.data if artifact.data is not None else Path(artifact.source).read_bytes()
        folder = self.served.media_root / "videos"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{job_id}.mp4"
        path.write_bytes(data)
        return path, dict(artifact.meta)

    def _forget_old(self) -> None:
        finished = [j for j in self.jobs.values() if j.status in ("completed", "failed")]
        for job in finished[: max(0, len(finished) - MAX_JOBS)]:
            self.forget(job.id)

    def forget(self, job_id: str) -> bool:
        job = self.jobs.pop(job_id, None)
        if job is None:
            return False
        if job.path is not None:
            job.path.unlink(missing_ok=True)
        return True

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _build_request(fields: dict[str, str], image: bytes, mime: str) -> Request:
    prompt = fields.get("prompt", "").strip()
    if not prompt:
        raise RequestError("'prompt' is required", param="prompt")
    extra: dict[str, Any] = {}
    seed: int | None = None
    try:
        if fields.get("seconds"):
            extra["duration"] = float(fields["seconds"])
        if fields.get("size"):
            extra["resolution"] = fields["size"]
        if fields.get("fps"):
            extra["fps"] = int(fields["fps"])
        if fields.get("seed"):
            seed = int(fields["seed"])
            extra["seed"] = seed
    except ValueError as err:
        raise RequestError(f"bad video setting: {err}", param="seconds") from None
    if fields.get("negative_prompt"):
        extra["negative_prompt"] = fields["negative_prompt"]
    return Request(
        parts=(ImagePart(data=image, mime=mime), TextPart(text=prompt)),
        generation=GenerationParams(seed=seed, extra=extra),
    )


def add_video_routes(app: FastAPI, served: ServedModel) -> VideoJobs:
    """Mount the `/v1/videos` routes on `app` (see the module doc)."""
    from omnieval.models.serve.responses import (
        error_response as _error,
    )
    from omnieval.models.serve.responses import (
        request_error_response as _request_error,
    )
    from omnieval.models.serve.responses import (
        unknown_model_response as _unknown_model,
    )

    jobs = VideoJobs(served)
    app.state.video_jobs = jobs
    alias = served.options.alias

    def missing(path: str, job_id: str) -> Response:
        return _error(path, 404, f"Video with id '{job_id}' not found.", code="not_found")

    @app.post("/v1/videos")
    async def create_video(request: HttpRequest) -> Response:
        path = request.url.path
        try:
            model = jobs.model()
            if not request.headers.get("content-type", "").startswith("multipart/form-data"):
                raise RequestError(
                    "send a multipart form with the first frame as 'input_reference'",
                    param="input_reference",
                )
            async with request.form(max_files=1, max_fields=32) as form:
                fields = {k: str(v) for k, v in form.items() if k in _FIELDS and isinstance(v, str)}
                upload = form.get("input_reference")
                if not isinstance(upload, UploadFile):
                    raise RequestError(
                        "'input_reference' (the first frame, an image file) is required",
                        param="input_reference",
                    )
                image = await upload.read()
                mime = upload.content_type or "image/png"
            if fields.get("model") and fields["model"] != alias:
                return _unknown_model(path, fields["model"], alias)
            generation_request = _build_request(fields, image, mime)
        except RequestError as err:
            return _request_error(path, err)
        job = VideoJob(
            id=f"video_{uuid.uuid4().hex}",
            prompt=fields["prompt"],
            seconds=fields.get("seconds"),
            size=fields.get("size"),
        )
        jobs.start(job, generation_request, model)
        return JSONResponse(job.payload(alias))

    @app.get("/v1/videos/{job_id}")
    async def get_video(job_id: str, request: HttpRequest) -> Response:
        job = jobs.jobs.get(job_id)
        if job is None:
            return missing(request.url.path, job_id)
        return JSONResponse(job.payload(alias))

    @app.get("/v1/videos/{job_id}/content")
    async def video_content(job_id: str, request: HttpRequest) -> Response:
        job = jobs.jobs.get(job_id)
        if job is None:
            return missing(request.url.path, job_id)
        variant = request.query_params.get("variant", "video")
        if variant != "video":
            return _error(
                request.url.path,
                400,
                f"variant {variant!r} is not available",
                code="invalid_variant",
            )
        if job.status != "completed" or job.path is None:
            return _error(
                request.url.path, 409, f"video {job_id} is {job.status}", code="video_not_ready"
            )
        return FileResponse(job.path, media_type="video/mp4")

    @app.delete("/v1/videos/{job_id}")
    async def delete_video(job_id: str, request: HttpRequest) -> Response:
        if not jobs.forget(job_id):
            return missing(request.url.path, job_id)
        return JSONResponse({"id": job_id, "object": "video.deleted", "deleted": True})

    return jobs
