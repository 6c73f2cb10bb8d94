"""A video-generation task and the toy jobs model (tests/jobserver.py) as run plugins, so a real
`omnieval run` subprocess drives provider jobs (run with the repository root on sys.path)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, Task
from omnieval.types import (
    Extraction,
    MetricSpec,
    Request,
    Response,
    Sample,
    Score,
    TextPart,
    TrialContext,
    VideoTarget,
)
from tests.jobserver import ToyJobsModel, video_bytes

registry.models.register("test-toy-jobs")(ToyJobsModel)


class VideoTask(Task):
    name = "test-video/gen"
    output_kind = "video"
    metrics = (MetricSpec(name="right_video"),)

    def __init__(self, n: int) -> None:
        self.n = n

    def samples(self) -> Sequence[Sample]:
        return [
            Sample(id=f"v{i}", task=self.name, parts=(), target=VideoTarget())
            for i in range(self.n)
        ]

    def build_request(self, sample: Sample, condition: str) -> Request:
        return Request(parts=(TextPart(text=f"a video of puzzle {sample.id}"),))

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        return Extraction(value=[a.sha256 for a in response.artifacts], rule="artifacts")

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        expected = hashlib.sha256(video_bytes(f"a video of puzzle {ctx.sample.id}")).hexdigest()
        return Score(values={"right_video": 1.0 if extraction.value == [expected] else 0.0})


@registry.benchmarks.register("test-video")
class VideoBenchmark(Benchmark):
    name = "test-video"

    def __init__(self, n: int = 3) -> None:
        self._task = VideoTask(n)

    def tasks(self) -> list[Task]:
        return [self._task]
