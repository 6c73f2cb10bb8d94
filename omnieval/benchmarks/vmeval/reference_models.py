"""Reference video generators for the vmeval tasks: `oracle-video`, `still` and `wrong-move`.

They give the verifier and the judge the three cases to tell apart:

- `oracle-video`: the question's `ground_truth.mp4` (a generated task without one: its
  solution rendered); reads the target;
- `still`: the first frame held for `duration` seconds (default 2) at the requested fps
  (default 8);
- `wrong-move`: a legal but wrong move of a generated task, rendered as cleanly as the solution
  (from its `question_metadata.json`); reads the target.

Each answers with one artifact `video.mp4` (kind `video`, `video/mp4`) whose `meta` holds the
provider, model and timings, the shape every video generator returns (HANDOFF-vmeval.md).
They live in the benchmark package because they draw its puzzles.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omnieval import registry
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.types import Artifact, ImagePart, Modality, Request, Response, VideoTarget

_INPUTS = frozenset({Modality.TEXT, Modality.IMAGE})
DEFAULT_FPS = 8


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def video_response(model: str, data: bytes, started: float, meta: dict[str, Any]) -> Response:
    submitted = meta.pop("submitted_at")
    elapsed = time.perf_counter() - started
    artifact = Artifact(
        name="video.mp4",
        kind="video",
        mime="video/mp4",
        data=data,
        meta={
            "provider": model,
            "model": model,
            "job_id": None,
            "submitted_at": submitted,
            "finished_at": _now(),
            "generation_s": round(elapsed, 4),
            **meta,
        },
    )
    return Response(artifacts=(artifact,), latency_s=elapsed)


def _encode(frames: list[Any], fps: int) -> bytes:
    from omnieval.benchmarks.vmeval.video import write_video

    with tempfile.TemporaryDirectory(prefix="omnieval-vmeval-") as tmp:
        path = write_video(Path(tmp) / "video.mp4", frames, fps=fps)
        return path.read_bytes()


def _question(request: Request, model: str) -> tuple[str, dict[str, Any]]:
    if request.reference_answer is None:
        raise PermanentModelError(f"{model} was given no target: it only works inside a run")
    try:
        data = json.loads(request.reference_answer)
        domain, question = str(data["domain"]), data["question"]
    except (ValueError, KeyError, TypeError) as err:
        raise PermanentModelError(f"{model} needs a vmeval task's reference answer: {err}") from err
    from omnieval.benchmarks.vmeval.verify import verifiable

    if not verifiable(question):
        raise PermanentModelError(
            f"{model} only renders omnieval's generated tasks; this {domain} question has no "
            "generator metadata"
        )
    return domain, question


@registry.models.register("oracle-video")
class OracleVideo(Model):
    """Answers with the ground-truth solution video (a plumbing check, like `oracle`)."""

    name = "oracle-video"
    capabilities = ModelCapabilities(
        inputs=_INPUTS, output="video", max_concurrency=8, reads_target=True
    )

    async def generate(self, request: Request) -> Response:
        started, submitted = time.perf_counter(), _now()
        target = request.target
        if isinstance(target, VideoTarget) and target.reference_video is not None:
            data = await asyncio.to_thread(Path(target.reference_video).read_bytes)
            return video_response(self.name, data, started, {"submitted_at": submitted})
        domain, question = _question(request, self.name)
        from omnieval.benchmarks.vmeval.domains import DOMAINS
        from omnieval.benchmarks.vmeval.synth import FPS

        task = DOMAINS[domain]
        frames = task.frames(question, task.solution(question))
        data = await asyncio.to_thread(_encode, frames, FPS)
        return video_response(self.name, data, started, {"submitted_at": submitted})


@registry.models.register("still")
class StillVideo(Model):
    """The first frame, unchanged, for the whole video: never solves anything."""

    name = "still"
    capabilities = ModelCapabilities(inputs=_INPUTS, output="video", max_concurrency=8)

    def __init__(self, duration: float = 2.0, fps: int = DEFAULT_FPS) -> None:
        self.duration, self.fps = float(duration), int(fps)

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "duration": self.duration, "fps": self.fps}

    async def generate(self, request: Request) -> Response:
        started, submitted = time.perf_counter(), _now()
        images = [p for p in request.parts if isinstance(p, ImagePart) and p.path is not None]
        if not images:
            raise PermanentModelError("still needs a first-frame image in the request")
        extra = request.generation.extra
        fps = int(extra.get("fps") or self.fps)
        duration = float(self.duration)
        count = max(2, round(duration * fps))

        def render() -> bytes:
            import numpy as np
            from PIL import Image

            assert images[0].path is not None
            with Image.open(images[0].path) as image:
                rgb = np.asarray(image.convert("RGB"))
            h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2  # H.264 wants even sizes
            return _encode([rgb[:h, :w]] * count, fps)

        data = await asyncio.to_thread(render)
        meta = {"submitted_at": submitted, "fps": float(fps), "frames": count}
        return video_response(self.name, data, started, meta)


@registry.models.register("wrong-move")
class WrongMove(Model):
    """A legal but wrong move of a generated task, rendered as cleanly as the solution."""

    name = "wrong-move"
    capabilities = ModelCapabilities(
        inputs=_INPUTS, output="video", max_concurrency=8, reads_target=True
    )

    async def generate(self, request: Request) -> Response:
        started, submitted = time.perf_counter(), _now()
        domain, question = _question(request, self.name)
        from omnieval.benchmarks.vmeval.domains import DOMAINS
        from omnieval.benchmarks.vmeval.synth import FPS

        task = DOMAINS[domain]
        frames = task.frames(question, task.wrong(question))
        data = await asyncio.to_thread(_encode, frames, FPS)
        return video_response(self.name, data, started, {"submitted_at": submitted})
