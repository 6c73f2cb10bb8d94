"""What a benchmark gives the runner: tasks that load samples, build requests, extract and score."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from omnieval.types import Extraction, Request, Response, Sample, Score


class DatasetError(ValueError):
    """A dataset file is malformed; the message names the file and the offending sample."""


class Task(abc.ABC):
    """Samples sharing one prompt / extraction / metric recipe.

    A task never imports the runner. `fingerprint()` must change whenever a setting that can
    change a request changes: it is part of every trial key. Settings that only change
    extraction or scoring belong in `scoring_fingerprint()`, so a re-score finds the journaled
    responses under the same keys.
    """

    name: str
    version: str = "1"
    variants: tuple[str, ...] = ("default",)
    default_variants: tuple[str, ...] = ("default",)
    #: metric names reported for this task, the first one is the headline
    metric_names: tuple[str, ...] = ("accuracy",)

    @abc.abstractmethod
    def samples(self) -> Sequence[Sample]:
        """Every sample of the task, in a stable order."""

    @abc.abstractmethod
    def build_request(self, sample: Sample, variant: str) -> Request:
        """The request one model sees for `sample` under `variant`."""

    @abc.abstractmethod
    def extract(self, sample: Sample, response: Response) -> Extraction:
        """Parse a response into a structured answer (or a failed extraction)."""

    @abc.abstractmethod
    def score(self, sample: Sample, extraction: Extraction) -> Score:
        """Per-trial metric values."""

    def groups(self, sample: Sample) -> list[str]:
        """Extra aggregation groups a sample belongs to (e.g. its category)."""
        return [sample.category] if sample.category else []

    def fingerprint(self) -> dict[str, Any]:
        return {"task": self.name, "version": self.version}

    def scoring_fingerprint(self) -> dict[str, Any]:
        return {}

    def check_variants(self, variants: Sequence[str]) -> None:
        unknown = [v for v in variants if v not in self.variants]
        if unknown:
            raise ValueError(
                f"task {self.name} has no variant(s) {unknown}; it offers {list(self.variants)}"
            )


class Benchmark(abc.ABC):
    """A family of tasks with one on-disk format, built from config arguments."""

    name: str

    @abc.abstractmethod
    def tasks(self) -> list[Task]:
        """The tasks of this benchmark (all of them; the runner filters by name)."""
