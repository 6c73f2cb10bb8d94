"""Loopback fakes of the video-generation APIs, on one aiohttp server on 127.0.0.1.

Each speaks its provider's wire protocol, as the real SDKs send and parse it:

- OpenAI videos (base `<url>/v1`): `POST /v1/videos` (multipart: prompt, model, seconds, size,
  input_reference), `GET /v1/videos/{id}`, `GET /v1/videos/{id}/content`;
- Runway (base `<url>`): `POST /v1/image_to_video`, `GET /v1/tasks/{id}`, video at `/files/{id}`;
- Luma (base `<url>/dream-machine/v1`): `POST /generations`, `GET /generations/{id}`;
- Veo on Vertex AI (base `<url>`): `POST /v1beta1/[projects/P/locations/L/]publishers/google/
  models/{model}:predictLongRunning`, `POST .../{model}:fetchPredictOperation` with
  `{"operationName": ...}`; the finished operation carries the video inline (base64).

Behaviour: a job finishes `job_s` seconds after its submission (or on `release()` when `job_s`
is None). Prompts steer outcomes: `REFUSE` -> the job ends refused by the provider's moderation
(each API's own shape), `FAIL` -> it fails for another reason, `BLOCK` -> the submit itself is
rejected (HTTP 400, moderation). `script[kind]` (kind `submit`, `poll` or `download`) lists
HTTP statuses for the next requests of that kind (`0` = stall for `stall_s`, then answer).
Counters: `submits[prompt]`, `polls[id]`, `downloads[id]`; `bodies` records each submit.
A finished job serves `videos[prompt]` when given (real videos), else `fake_video(prompt)`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.loopback import HOST, LoopbackConfig, LoopbackServer


def fake_video(prompt: str) -> bytes:
    """The bytes every fake serves for a prompt (an mp4 header + a digest of the prompt)."""
    return b"\x00\x00\x00\x18ftypmp42" + hashlib.sha256(prompt.encode()).digest() * 8


@dataclass
class FakeJob:
    api: str
    prompt: str
    started: float
    body: dict[str, Any]


class VideoAPIFake(LoopbackServer):
    def __init__(
        self,
        job_s: float | None = 0.0,
        script: dict[str, list[int]] | None = None,
        stall_s: float = 3.0,
        videos: dict[str, bytes] | None = None,
    ) -> None:
        super().__init__(LoopbackConfig())
        self.videos = dict(videos or {})  # prompt -> the video served for it
        self.job_s = job_s
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.stall_s = stall_s
        self.jobs: dict[str, FakeJob] = {}
        self.submits: Counter[str] = Counter()
        self.polls: Counter[str] = Counter()
        self.downloads: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self._released = False

    def __enter__(self) -> VideoAPIFake:
        self.start()
        return self

    @property
    def root(self) -> str:
        return f"http://{HOST}:{self.port}"

    def submits_ids(self) -> set[str]:
        """Every job id handed out (Veo's as the operation's last path segment)."""
        with self.lock:
            return set(self.jobs) | {
                f"projects/p/locations/us-central1/publishers/google/models/"
                f"{job.body.get('model')}/operations/{job_id}"
                for job_id, job in self.jobs.items()
                if job.api == "veo"
            }

    def release(self) -> None:
        with self.lock:
            self._released = True

    # ------------------------------------------------------------------ plumbing

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_post("/v1/videos", self.openai_create)
        app.router.add_get("/v1/videos/{id}", self.openai_get)
        app.router.add_get("/v1/videos/{id}/content", self.openai_content)
        app.router.add_post("/v1/image_to_video", self.runway_create)
        app.router.add_get("/v1/tasks/{id}", self.runway_get)
        app.router.add_get("/files/{id}", self.file)
        app.router.add_post("/dream-machine/v1/generations", self.luma_create)
        app.router.add_get("/dream-machine/v1/generations/{id}", self.luma_get)
        app.router.add_post("/dream-machine/v1/generations/video", self.luma_create)
        app.router.add_post("/v1beta1/{tail:.*}", self.veo)
        return app

    async def _scripted(self, kind: str) -> int | None:
        with self.lock:
            queue = self.script.get(kind)
            status = queue.pop(0) if queue else None
        if status == 0:
            await asyncio.sleep(self.stall_s)
            return None
        return status

    def _new(self, api: str, prompt: str, body: dict[str, Any]) -> str:
        job_id = f"{api}-{uuid.uuid4().hex[:12]}"
        with self.lock:
            self.jobs[job_id] = FakeJob(api, prompt, time.monotonic(), body)
            self.submits[prompt] += 1
            self.bodies.append({"api": api, **body})
        return job_id

    def _state(self, job_id: str) -> tuple[FakeJob | None, str]:
        """(job, "running" | "done" | "refused" | "failed")."""
        with self.lock:
            self.polls[job_id] += 1
            job = self.jobs.get(job_id)
            released = self._released
        if job is None:
            return None, "missing"
        done = released if self.job_s is None else time.monotonic() - job.started >= self.job_s
        if not done:
            return job, "running"
        if "REFUSE" in job.prompt:
            return job, "refused"
        if "FAIL" in job.prompt:
            return job, "failed"
        return job, "done"

    def _video(self, job_id: str) -> bytes | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None:
                self.downloads[job_id] += 1
        if job is None:
            return None
        return self.videos.get(job.prompt) or fake_video(job.prompt)

    @staticmethod
    def _error(status: int, message: str, code: str | None = None) -> web.Response:
        return web.json_response(
            {"error": {"message": message, "type": "invalid_request_error", "code": code}},
            status=status,
        )

    # ------------------------------------------------------------------ OpenAI videos

    def _openai_video(self, job_id: str, job: FakeJob, state: str) -> dict[str, Any]:
        status = {"running": "in_progress", "done": "completed"}.get(state, "failed")
        error = None
        if state == "refused":
            error = {"code": "moderation_blocked", "message": "Your request was blocked."}
        elif state == "failed":
            error = {"code": "internal_error", "message": "the renderer crashed"}
        return {
            "id": job_id,
            "object": "video",
            "model": job.body.get("model", "sora-2"),
            "status": status,
            "progress": 100 if state != "running" else 40,
            "created_at": int(time.time()),
            "completed_at": None,
            "expires_at": None,
            "prompt": job.prompt,
            "seconds": job.body.get("seconds", "8"),
            "size": job.body.get("size", "1280x720"),
            "remixed_from_video_id": None,
            "error": error,
        }

    async def openai_create(self, request: web.Request) -> web.Response:
        status = await self._scripted("submit")
        if status is not None:
            return self._error(status, f"scripted {status}")
        form = await request.post()
        body: dict[str, Any] = {}
        for key, value in form.items():
            if hasattr(value, "file"):
                body[key] = {"filename": value.filename, "bytes": value.file.read()}
            else:
                body[key] = str(value)
        prompt = body.get("prompt", "")
        if "BLOCK" in prompt:
            return self._error(
                400, "Your request was blocked by our moderation system.", "moderation_blocked"
            )
        job_id = self._new("openai", prompt, body)
        job, _ = self._state(job_id)
        assert job is not None
        return web.json_response(self._openai_video(job_id, job, "running"))

    async def openai_get(self, request: web.Request) -> web.Response:
        status = await self._scripted("poll")
        if status is not None:
            return self._error(status, f"scripted {status}")
        job_id = request.match_info["id"]
        job, state = self._state(job_id)
        if job is None:
            return self._error(404, f"Video with id '{job_id}' not found.")
        return web.json_response(self._openai_video(job_id, job, state))

    async def openai_content(self, request: web.Request) -> web.Response:
        status = await self._scripted("download")
        if status is not None:
            return self._error(status, f"scripted {status}")
        data = self._video(request.match_info["id"])
        if data is None:
            return self._error(404, "no such video")
        return web.Response(body=data, content_type="video/mp4")

    # ------------------------------------------------------------------ Runway

    # ------------------------------------------------------------------ JSON APIs (Runway, Luma)

    async def _json_submit(
        self, request: web.Request, prompt_field: str, error_key: str, blocked: str
    ) -> tuple[str, dict[str, Any]] | web.Response:
        """A submit's prompt and body, or the error response: a scripted status, or `blocked`
        (400) for a prompt holding BLOCK. Errors are JSON `{error_key: message}`."""
        status = await self._scripted("submit")
        if status is not None:
            return web.json_response({error_key: f"scripted {status}"}, status=status)
        body = await request.json()
        prompt = str(body.get(prompt_field, ""))
        if "BLOCK" in prompt:
            return web.json_response({error_key: blocked}, status=400)
        return prompt, body

    async def _json_poll(
        self, request: web.Request, error_key: str, missing: str
    ) -> tuple[str, FakeJob, str] | web.Response:
        """A poll's job id, job and state, or the error response: a scripted status, or
        `missing` (404) for an unknown id."""
        status = await self._scripted("poll")
        if status is not None:
            return web.json_response({error_key: f"scripted {status}"}, status=status)
        job_id = request.match_info["id"]
        job, state = self._state(job_id)
        if job is None:
            return web.json_response({error_key: missing}, status=404)
        return job_id, job, state

    async def runway_create(self, request: web.Request) -> web.Response:
        blocked = "Input failed content moderation (SAFETY.INPUT.TEXT)."
        submitted = await self._json_submit(request, "promptText", "error", blocked)
        if isinstance(submitted, web.Response):
            return submitted
        prompt, body = submitted
        return web.json_response({"id": self._new("runway", prompt, body)})

    async def runway_get(self, request: web.Request) -> web.Response:
        polled = await self._json_poll(request, "error", "Task not found.")
        if isinstance(polled, web.Response):
            return polled
        job_id, _, state = polled
        task: dict[str, Any] = {"id": job_id, "createdAt": "2026-01-01T00:00:00Z"}
        if state == "running":
            task.update(status="RUNNING", progress=0.5)
        elif state == "done":
            task.update(status="SUCCEEDED", output=[f"{self.root}/files/{job_id}"])
        elif state == "refused":
            task.update(
                status="FAILED",
                failure="The output was flagged by content moderation.",
                failureCode="SAFETY.OUTPUT.VIDEO",
            )
        else:
            task.update(
                status="FAILED", failure="An internal error occurred.", failureCode="INTERNAL"
            )
        return web.json_response(task)

    async def file(self, request: web.Request) -> web.Response:
        status = await self._scripted("download")
        if status is not None:
            return web.Response(status=status, text=f"scripted {status}")
        data = self._video(request.match_info["id"])
        if data is None:
            return web.Response(status=404, text="expired")
        return web.Response(body=data, content_type="video/mp4")

    # ------------------------------------------------------------------ Luma

    def _luma(self, job_id: str, job: FakeJob, state: str) -> dict[str, Any]:
        generation: dict[str, Any] = {
            "id": job_id,
            "generation_type": "video",
            "model": job.body.get("model"),
            "created_at": "2026-01-01T00:00:00Z",
            "assets": None,
            "failure_reason": None,
            "state": {"running": "dreaming", "done": "completed"}.get(state, "failed"),
        }
        if state == "done":
            generation["assets"] = {"video": f"{self.root}/files/{job_id}"}
        elif state == "refused":
            generation["failure_reason"] = (
                "400: prompt not allowed because advanced moderation failed"
            )
        elif state == "failed":
            generation["failure_reason"] = "500: generation failed"
        return generation

    async def luma_create(self, request: web.Request) -> web.Response:
        blocked = "400: prompt not allowed because advanced moderation failed"
        submitted = await self._json_submit(request, "prompt", "detail", blocked)
        if isinstance(submitted, web.Response):
            return submitted
        prompt, body = submitted
        job_id = self._new("luma", prompt, body)
        job, _ = self._state(job_id)
        assert job is not None
        return web.json_response(self._luma(job_id, job, "running"), status=201)

    async def luma_get(self, request: web.Request) -> web.Response:
        polled = await self._json_poll(request, "detail", "Generation not found")
        if isinstance(polled, web.Response):
            return polled
        return web.json_response(self._luma(*polled))

    # ------------------------------------------------------------------ Veo (Vertex AI)

    @staticmethod
    def _google_error(status: int, message: str) -> web.Response:
        reason = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
        return web.json_response(
            {
                "error": {
                    "code": status,
                    "message": message,
                    "status": reason.get(status, "UNAVAILABLE"),
                }
            },
            status=status,
        )

    async def veo(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        resource, _, call = tail.rpartition(":")
        if "/publishers/google/models/" not in f"/{resource}":
            return self._google_error(404, f"unknown resource {resource}")
        if call == "predictLongRunning":
            return await self._veo_create(resource, await request.json())
        if call == "fetchPredictOperation":
            return await self._veo_get(str((await request.json()).get("operationName", "")))
        return self._google_error(404, f"unknown call {call}")

    async def _veo_create(self, resource: str, body: dict[str, Any]) -> web.Response:
        status = await self._scripted("submit")
        if status is not None:
            return self._google_error(status, f"scripted {status}")
        model = resource.rsplit("/", 1)[-1]
        instance = body["instances"][0]
        prompt = str(instance.get("prompt", ""))
        if "BLOCK" in prompt:
            return self._google_error(
                400,
                "The prompt could not be submitted: it violates the usage guidelines "
                "(responsible AI safety filter).",
            )
        image = instance.get("image") or {}
        record = {
            "model": model,
            **body,
            "image_bytes": base64.b64decode(image.get("bytesBase64Encoded", "")),
        }
        job_id = self._new("veo", prompt, record)
        name = (
            f"projects/p/locations/us-central1/publishers/google/models/{model}/operations/{job_id}"
        )
        return web.json_response({"name": name})

    async def _veo_get(self, name: str) -> web.Response:
        status = await self._scripted("poll")
        if status is not None:
            return self._google_error(status, f"scripted {status}")
        job_id = name.rsplit("/", 1)[-1]
        job, state = self._state(job_id)
        if job is None:
            return self._google_error(404, f"operation {name} not found")
        if state == "running":
            return web.json_response({"name": name, "done": False})
        if state == "failed":
            return web.json_response(
                {"name": name, "done": True, "error": {"code": 13, "message": "internal error"}}
            )
        response: dict[str, Any] = {
            "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
        }
        if state == "refused":
            response["raiMediaFilteredCount"] = 1
            response["raiMediaFilteredReasons"] = [
                "The video was filtered by our responsible AI safety filters."
            ]
        else:
            data = self._video(job_id) or b""
            response["videos"] = [
                {"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": "video/mp4"}
            ]
        return web.json_response({"name": name, "done": True, "response": response})


def submitted_json(fake: VideoAPIFake) -> str:
    """The recorded submit bodies as JSON (bytes shown by length), for failure messages."""

    def clean(value: Any) -> Any:
        if isinstance(value, bytes):
            return f"<{len(value)} bytes>"
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return json.dumps([clean(b) for b in fake.bodies], indent=1, default=str)


def s3_uri_uploader(data: bytes, name: str, sha256: str) -> str:
    """A Luma uploader that makes a common mistake: an object-store URI, not a public URL."""
    return f"s3://frames/{sha256}.png"
