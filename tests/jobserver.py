"""A toy video-generation provider on 127.0.0.1 and the `jobs` model that drives it.

Server (`JobServer`, a `LoopbackServer` with two more routes):
- `POST /v1/jobs` `{"prompt": ...}` -> `{"id": "job-N"}`; counts submits per prompt;
- `GET /v1/jobs/{id}` -> `{"status": "running"}` until the job is done, then
  `{"status": "succeeded", "text": ..., "video_b64": ...}`; `{"status": "failed", "error": ...}`
  for prompts containing "fail"; scripted 503s (`poll_script`) and 404 for unknown ids.
A job is done `job_s` seconds after its submit, or when `release()` is called (`job_s=None`).

Model (`ToyJobsModel`): `capabilities.jobs`; `submit` and `poll` speak that protocol; HTTP 5xx
becomes `TransientModelError`, 4xx `PermanentModelError`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from omnieval.models.base import (
    Model,
    ModelCapabilities,
    PermanentModelError,
    TransientModelError,
)
from omnieval.types import Artifact, Request, Response, TrialStatus
from tests.loopback import LoopbackConfig, LoopbackServer


def video_bytes(prompt: str) -> bytes:
    return hashlib.sha256(prompt.encode()).digest() * 64


class JobServer(LoopbackServer):
    def __init__(self, job_s: float | None = 0.2, poll_script: list[int] | None = None) -> None:
        super().__init__(LoopbackConfig())
        self.job_s = job_s
        self.poll_script = list(poll_script or [])
        self.jobs: dict[str, tuple[str, float]] = {}
        self.submits: Counter[str] = Counter()
        self.polls: Counter[str] = Counter()
        self.released = threading.Event()

    def __enter__(self) -> JobServer:
        self.start()
        return self

    def release(self) -> None:
        self.released.set()

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_post("/v1/jobs", self.submit)
        app.router.add_get("/v1/jobs/{job_id}", self.status)
        return app

    async def submit(self, request: web.Request) -> web.Response:
        prompt = str((await request.json())["prompt"])
        with self.lock:
            job_id = f"job-{len(self.jobs) + 1}"
            self.jobs[job_id] = (prompt, time.monotonic())
            self.submits[prompt] += 1
        return web.json_response({"id": job_id})

    async def status(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        with self.lock:
            self.polls[job_id] += 1
            scripted = self.poll_script.pop(0) if self.poll_script else 200
            job = self.jobs.get(job_id)
        if scripted != 200:
            return web.json_response(
                {"error": {"message": f"scripted {scripted}"}}, status=scripted
            )
        if job is None:
            return web.json_response({"error": {"message": f"no job {job_id}"}}, status=404)
        prompt, started = job
        done = (
            self.released.is_set()
            if self.job_s is None
            else time.monotonic() - started >= self.job_s
        )
        if not done:
            return web.json_response({"status": "running"})
        if "fail" in prompt:
            return web.json_response({"status": "failed", "error": "content policy"})
        video = base64.b64encode(video_bytes(prompt)).decode()
        return web.json_response({"status": "succeeded", "text": prompt, "video_b64": video})


class ToyJobsModel(Model):
    name = "toy-jobs"
    capabilities = ModelCapabilities(output="video", jobs=True)

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "model": "toy-video-1"}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def _call(self, method: str, url: str, body: Any = None) -> Any:
        try:
            async with self._client().request(method, url, json=body) as reply:
                text = await reply.text()
                status = reply.status
        except aiohttp.ClientError as err:
            raise TransientModelError(f"{url}: {err}") from None
        if status >= 500:
            raise TransientModelError(f"HTTP {status} from {url}: {text}")
        if status >= 400:
            raise PermanentModelError(f"HTTP {status} from {url}: {text}")
        return json.loads(text)

    async def generate(self, request: Request) -> Response:
        raise PermanentModelError("toy-jobs only runs as a job (submit / poll)")

    async def submit(self, request: Request) -> str:
        reply = await self._call("POST", f"{self.base_url}/jobs", {"prompt": request.text()})
        return str(reply["id"])

    async def poll(self, job_id: str) -> Response | None:
        reply = await self._call("GET", f"{self.base_url}/jobs/{job_id}")
        if reply["status"] == "running":
            return None
        if reply["status"] == "failed":
            return Response(status=TrialStatus.FAILED, error=str(reply["error"]))
        video = base64.b64decode(reply["video_b64"])
        artifact = Artifact(name="video.mp4", kind="video", mime="video/mp4", data=video)
        return Response(text=str(reply["text"]), artifacts=(artifact,))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
