"""Benchmarks and models registered for Core v2 tests (importable in subprocesses too).

- `test-masks`: a task whose output is per-frame masks; `test-masker` draws them (as PNG bytes,
  one per frame, deterministic per sample) with a small delay so a run can be killed mid-way.
- `test-refine`: a choice task whose answers need a judge when the rules cannot read them; the
  `test-judge` model answers with the letter it finds spelled out, and counts its calls in a
  file named by `calls_file` (one line per call), across processes.
- `test-scores`: a task whose scores are NaN, numpy numbers or an exception, by sample.
- `test-one-at-a-time`: declares `max_concurrency=1` and records the highest concurrency it saw.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, Task
from omnieval.models.base import Model, ModelCapabilities
from omnieval.scoring.extractors import extract_choice
from omnieval.scoring.judging import JudgeClient
from omnieval.scoring.metrics import accuracy
from omnieval.types import (
    Artifact,
    ChoiceTarget,
    Extraction,
    MasksTarget,
    MetricKind,
    MetricSpec,
    Modality,
    Request,
    Response,
    Sample,
    Score,
    TextPart,
    TrialContext,
)

ALL = frozenset(Modality)
FRAMES = 3


def png_bytes(width: int, height: int, value: int) -> bytes:
    """A greyscale PNG of one value (a mask frame)."""
    raw = b"".join(b"\x00" + bytes([value]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def mask_value(sample_id: str, frame: int) -> int:
    return hashlib.sha256(f"{sample_id}/{frame}".encode()).digest()[0]


# --------------------------------------------------------------------------- masks


class MaskTask(Task):
    name = "test-masks/seg"
    output_kind = "masks"
    metrics = (MetricSpec(name="frames_right", kind=MetricKind.BOUNDED, low=0.0, high=1.0),)

    def __init__(self, root: Path, n: int) -> None:
        self.root = root
        self.n = n

    def samples(self) -> Sequence[Sample]:
        found = []
        for i in range(self.n):
            sid = f"m{i:03d}"
            paths = []
            for frame in range(FRAMES):
                path = self.root / sid / f"{frame:05d}.png"
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(png_bytes(4, 4, mask_value(sid, frame)))
                paths.append(path)
            found.append(
                Sample(
                    id=sid,
                    task=self.name,
                    parts=(TextPart(text=f"segment the object in clip {sid}"),),
                    target=MasksTarget(paths=tuple(paths)),
                )
            )
        return found

    def build_request(self, sample: Sample, condition: str) -> Request:
        return Request(parts=sample.parts, metadata={"sample": sample.id})

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        return Extraction(value=[a.sha256 for a in response.artifacts], rule="artifacts")

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        assert isinstance(ctx.target, MasksTarget)
        truth = [hashlib.sha256(p.read_bytes()).hexdigest() for p in ctx.target.paths]
        got = list(extraction.value or [])
        right = sum(1 for a, b in zip(truth, got, strict=False) if a == b)
        return Score(values={"frames_right": right / len(truth)})


@registry.benchmarks.register("test-masks")
class MaskBenchmark(Benchmark):
    name = "test-masks"

    def __init__(self, data_dir: str, n: int = 6) -> None:
        self._task = MaskTask(Path(data_dir), n)

    def tasks(self) -> list[Task]:
        return [self._task]


@registry.models.register("test-masker")
class Masker(Model):
    """Draws the right mask for every frame (the sample id rides in the request metadata)."""

    name = "test-masker"
    capabilities = ModelCapabilities(inputs=ALL, output="masks", max_concurrency=4)

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    async def generate(self, request: Request) -> Response:
        await asyncio.sleep(self.delay_s)
        sid = str(request.metadata["sample"])
        artifacts = tuple(
            Artifact(
                name=f"{frame:05d}.png",
                kind="mask",
                mime="image/png",
                data=png_bytes(4, 4, mask_value(sid, frame)),
            )
            for frame in range(FRAMES)
        )
        return Response(text=f"{FRAMES} masks", artifacts=artifacts)


# --------------------------------------------------------------------------- judged refine


class RefineTask(Task):
    """Rules read a letter; an answer spelled out ("the second one") needs the judge."""

    name = "test-refine/qa"
    version = "1"

    def __init__(self, n: int, prompt_version: str) -> None:
        self.n = n
        self.prompt_version = prompt_version

    def samples(self) -> Sequence[Sample]:
        return [
            Sample(
                id=f"r{i:03d}",
                task=self.name,
                parts=(),
                target=ChoiceTarget(answer="ABCD"[i % 4], options=("w", "x", "y", "z")),
            )
            for i in range(self.n)
        ]

    def build_request(self, sample: Sample, condition: str) -> Request:
        assert isinstance(sample.target, ChoiceTarget)
        lines = "\n".join(f"{k}. {o}" for k, o in zip("ABCD", sample.target.options, strict=True))
        return Request(parts=(TextPart(text=f"Question {sample.id}\n{lines}"),))

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        return extract_choice(response.text, ("A", "B", "C", "D"), ())

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        assert isinstance(ctx.target, ChoiceTarget)
        return Score(values=accuracy(extraction, ctx.target))

    async def evaluate(
        self, ctx: TrialContext, response: Response, judges: JudgeClient
    ) -> tuple[Extraction, Score]:
        extraction = self.extract(ctx, response)
        if not extraction.ok:
            ask = Request(parts=(TextPart(text=f"Which letter does this mean? {response.text}"),))
            verdict = await judges.ask("refine", ctx.trial.key, ask, self.prompt_version)
            if verdict.failed:
                raise RuntimeError(f"judge failed: {verdict.error}")
            extraction = Extraction(
                value=(verdict.text or "").strip(), rule="refine", detail=verdict.text
            )
        return extraction, self.score(ctx, extraction)

    def scoring_fingerprint(self) -> dict[str, Any]:
        return {"refine_prompt": self.prompt_version}


@registry.benchmarks.register("test-refine")
class RefineBenchmark(Benchmark):
    name = "test-refine"

    def __init__(self, n: int = 20, prompt_version: str = "1") -> None:
        self._task = RefineTask(n, prompt_version)

    def tasks(self) -> list[Task]:
        return [self._task]


@registry.models.register("test-speller")
class Speller(Model):
    """Answers half the questions with a letter and half spelled out ("option number 2")."""

    name = "test-speller"
    capabilities = ModelCapabilities(inputs=ALL, max_concurrency=8)

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    async def generate(self, request: Request) -> Response:
        await asyncio.sleep(self.delay_s)
        sample_id = request.text().split()[1]
        number = int(sample_id[1:])
        if number % 2:
            return Response(text=f"For {sample_id} I would go with option number {number % 4 + 1}")
        return Response(text="ABCD"[number % 4])


@registry.models.register("test-judge")
class CountingJudge(Model):
    """Reads "option number k" and answers its letter; appends one line per call to a file
    (and, with `pids_file`, the id of the process that answered to that one)."""

    name = "test-judge"
    capabilities = ModelCapabilities(inputs=ALL, max_concurrency=4)

    def __init__(
        self,
        calls_file: str,
        delay_s: float = 0.0,
        api_key: str | None = None,
        pids_file: str | None = None,
    ) -> None:
        if api_key is not None and api_key != os.environ.get("TEST_JUDGE_KEY"):
            raise ValueError("test-judge: wrong api_key")
        self.calls_file = calls_file
        self.delay_s = delay_s
        self.pids_file = pids_file

    async def generate(self, request: Request) -> Response:
        await asyncio.sleep(self.delay_s)
        if self.pids_file is not None:
            with open(self.pids_file, "a", encoding="utf-8") as out:
                out.write(f"{os.getpid()}\n")
        with open(self.calls_file, "a", encoding="utf-8") as out:
            out.write(request.text() + "\n")
            out.flush()
            os.fsync(out.fileno())
        text = request.text()
        digit = next((c for c in reversed(text) if c.isdigit()), "1")
        return Response(text="ABCD"[int(digit) - 1])

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name}


# --------------------------------------------------------------------------- odd scores


class OddScores(Task):
    name = "test-scores/odd"
    metrics = (MetricSpec(name="accuracy"),)

    def samples(self) -> Sequence[Sample]:
        return [
            Sample(
                id=f"s{i}",
                task=self.name,
                parts=(),
                target=ChoiceTarget(answer="A", options=("a", "b")),
                metadata={"mode": mode},
            )
            for i, mode in enumerate(["numpy", "nan", "inf", "raise", "plain", "numpy"])
        ]

    def build_request(self, sample: Sample, condition: str) -> Request:
        return Request(parts=(TextPart(text=f"{sample.id}\nA. a\nB. b"),))

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        return Extraction(value=response.text, rule="raw")

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        mode = ctx.sample.metadata["mode"]
        if mode == "raise":
            raise ZeroDivisionError("the metric divided by zero")
        if mode == "nan":
            return Score(values={"accuracy": float("nan")})
        if mode == "inf":
            return Score(values={"accuracy": np.float32("inf")})
        if mode == "numpy":
            return Score(values={"accuracy": np.float64(1.0)})
        return Score(values={"accuracy": 1.0})


@registry.benchmarks.register("test-scores")
class OddScoresBenchmark(Benchmark):
    name = "test-scores"

    def tasks(self) -> list[Task]:
        return [OddScores()]


@registry.models.register("test-one-at-a-time")
class OneAtATime(Model):
    """Declares max_concurrency=1; writes the highest concurrency it saw to `seen_file`."""

    name = "test-one-at-a-time"
    capabilities = ModelCapabilities(inputs=ALL, max_concurrency=1)

    def __init__(self, seen_file: str) -> None:
        self.seen_file = seen_file
        self.active = 0
        self.highest = 0

    async def generate(self, request: Request) -> Response:
        self.active += 1
        self.highest = max(self.highest, self.active)
        try:
            await asyncio.sleep(0.002)
        finally:
            self.active -= 1
        Path(self.seen_file).write_text(json.dumps({"highest": self.highest}))
        return Response(text="A")


# --------------------------------------------------------------------------- heavy scoring


class HeavyScoring(Task):
    """Scoring that blocks (a mask metric, a video verifier): it must run off the event loop."""

    name = "test-heavy/blocking"
    heavy_scoring = True

    def samples(self) -> Sequence[Sample]:
        return [
            Sample(
                id=f"h{i}",
                task=self.name,
                parts=(),
                target=ChoiceTarget(answer="A", options=("a", "b")),
            )
            for i in range(4)
        ]

    def build_request(self, sample: Sample, condition: str) -> Request:
        return Request(parts=(TextPart(text=f"{sample.id}\nA. a\nB. b"),))

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        import threading
        import time

        time.sleep(0.05)  # blocking work: would stall every other trial on the loop
        return Extraction(value=response.text, rule="raw", detail=threading.current_thread().name)

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        assert isinstance(ctx.target, ChoiceTarget)
        return Score(values=accuracy(extraction, ctx.target))


@registry.benchmarks.register("test-heavy")
class HeavyBenchmark(Benchmark):
    name = "test-heavy"

    def tasks(self) -> list[Task]:
        return [HeavyScoring()]
