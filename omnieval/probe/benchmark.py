"""The `probe` benchmark: one multiple-choice task per probe path (`probe/<path>`), read from
the generated probe set (`omnieval.probe.probeset`) in the mcq format."""

from __future__ import annotations

from pathlib import Path

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, Task
from omnieval.benchmarks.mcq.task import MultipleChoice
from omnieval.media.cache import default_cache_dir
from omnieval.probe.probeset import PATH_NAMES, ensure_probe_set

TASK_PREFIX = "probe/"


def probe_root(cache_dir: Path | None = None) -> Path:
    """Where probe sets are cached: beside the media cache (`<cache>/../probe`)."""
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base.parent / "probe"


@registry.benchmarks.register("probe")
class ProbeBenchmark(Benchmark):
    """Arguments: `data_dir` (a probe set directory; default: generated and cached for `seed`),
    `seed`, and `paths` (a subset of the probe paths)."""

    name = "probe"

    def __init__(
        self,
        data_dir: str | Path | None = None,
        seed: int = 0,
        paths: list[str] | None = None,
    ) -> None:
        unknown = sorted(set(paths or ()) - set(PATH_NAMES))
        if unknown:
            raise ValueError(f"unknown probe path(s) {unknown}; known: {', '.join(PATH_NAMES)}")
        root = Path(data_dir) if data_dir is not None else ensure_probe_set(probe_root(), seed)
        self.root = root
        self.paths = tuple(paths) if paths else PATH_NAMES

    def tasks(self) -> list[Task]:
        return [
            MultipleChoice(self.root / f"{name}.jsonl", f"{TASK_PREFIX}{name}")
            for name in self.paths
        ]
