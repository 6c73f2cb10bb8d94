"""`vsync-level2`: V-SYNC Levels 2 ("when") and 3 ("how") from SocialOmni's annotation layout."""

from __future__ import annotations

from pathlib import Path

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, Task
from omnieval.benchmarks.vsync.level2_loader import HOW_TASK, find_level2_layout
from omnieval.benchmarks.vsync.level2_task import (
    UPSTREAM_ANSWER_FORMAT,
    Level2Prompt,
    VsyncHow,
    VsyncWhen,
    WhenScoring,
)
from omnieval.benchmarks.vsync.level3_joint import level3_joint_metrics
from omnieval.media import MediaCache
from omnieval.scoring.tree import JointMetric

LEVELS = ("when", "how")


@registry.benchmarks.register("vsync-level2")
class VsyncLevel2Benchmark(Benchmark):
    """V-SYNC Levels 2 and 3 (see docs/vsync-levels-2-3.md).

    Arguments:
    - `data_dir`: the root holding `data/level_2/annotations.json` (or `annotations` +
      `video_dir` to name the files, e.g. SocialOmni's `annotations_200.json`);
    - `levels`: `[when, how]` (default both); `how` needs judges in the run config;
    - `judge_roles`: the judge roles that score each utterance (default `[judge]`), quality is
      their mean;
    - `scoring`: `default` (robust letter extraction), `socialomni` (upstream's reading at
      Alexisxty/SocialOmni 956463a) or `socialomni-0fab46a` (MAC-AutoML/SocialOmni 0fab46a's);
    - `prompt`: `upstream` (upstream's "A, B, C, or D" answer format) or a dict of `system`,
      `user`, `answer_format`;
    - `cache_dir`: where the prefix clips are written (default: the media cache);
    - `allow_outside_paths`: read `video_file`s outside the video directory;
    - `parity_positive_only`: also report upstream's Level 3 mean over scores above 0 (a bug,
      labelled as such) beside the correct aggregates.
    """

    name = "vsync-level2"

    def __init__(
        self,
        data_dir: str | Path | None = None,
        annotations: str | Path | None = None,
        video_dir: str | Path | None = None,
        levels: list[str] | tuple[str, ...] = LEVELS,
        judge_roles: list[str] | tuple[str, ...] = ("judge",),
        scoring: WhenScoring = "default",
        prompt: dict[str, str] | str | None = None,
        cache_dir: str | Path | None = None,
        allow_outside_paths: bool = False,
        parity_positive_only: bool = False,
    ) -> None:
        self.parity_positive_only = parity_positive_only
        if annotations is not None:
            dataset = Path(annotations)
            videos = Path(video_dir) if video_dir else dataset.parent / "videos"
        elif data_dir is not None:
            dataset, videos = find_level2_layout(Path(data_dir))
            if video_dir is not None:
                videos = Path(video_dir)
        else:
            raise ValueError("vsync-level2 needs `data_dir` (or `annotations` and `video_dir`)")
        unknown = sorted(set(levels) - set(LEVELS))
        if unknown or not levels:
            raise ValueError(f"vsync-level2 levels must be among {list(LEVELS)}, not {levels}")
        if scoring not in ("default", "socialomni", "socialomni-0fab46a"):
            raise ValueError(
                "vsync-level2 scoring must be default, socialomni or socialomni-0fab46a,"
                f" not {scoring!r}"
            )
        if prompt == "upstream":
            blocks = Level2Prompt(answer_format=UPSTREAM_ANSWER_FORMAT)
        elif isinstance(prompt, dict):
            blocks = Level2Prompt(**prompt)
        else:
            blocks = Level2Prompt()
        cache = MediaCache(cache_dir) if cache_dir else MediaCache()
        self._tasks: list[Task] = []
        if "when" in levels:
            self._tasks.append(
                VsyncWhen(dataset, videos, blocks, cache, allow_outside_paths, scoring=scoring)
            )
        if "how" in levels:
            self._tasks.append(
                VsyncHow(
                    dataset,
                    videos,
                    blocks,
                    cache,
                    allow_outside_paths,
                    judge_roles=judge_roles,
                    parity_positive_only=parity_positive_only,
                )
            )

    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def joint_metrics(self) -> list[JointMetric]:
        """The Level 3 aggregates (QGold, QEns, Cov+, QEns_joint, zeros; parity on request)."""
        if not any(task.name == HOW_TASK for task in self._tasks):
            return []
        return level3_joint_metrics(positive_only=self.parity_positive_only)
