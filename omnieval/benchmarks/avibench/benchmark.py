"""`avibench`: the benchmark registered for run configs, with its gates and aggregation tree.

Tree (values 0-1; the leaderboard export shows 0-100):
- `avibench/VSQA`: micro node pooling VSQA_I and VSQA_V items (upstream pools the two halves);
- `avibench:<stage>`: macro mean of the stage's task headlines (AMIC/VMIC/AVL/VAR/AVR
  `Average`, AVLG `mIoU`, AVC the caption metric, QA tasks accuracy);
- `avibench:overall` = mean of the four stages; `avibench:L1-task` = mean of perception,
  understanding, reasoning (both exact against every published row);
- `avibench:L2-modality (provisional)`: see `taxonomy.py`; L3 and L4 are unavailable (reason in
  `taxonomy.py`, the docs and the leaderboard export).
A node is declared only when all of its children are loaded (`tasks:` picks task folders).

Gates: a `pre_` question answered wrong zeroes the formal question it is linked to (the first
formal entry before it with its id, as upstream); pre-questions are tasks of their own
(`avibench/<TASK>/pre`) that no node aggregates, so they never count on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from omnieval import registry
from omnieval.benchmarks.avibench import taxonomy
from omnieval.benchmarks.avibench.captions import CaptionMetric
from omnieval.benchmarks.avibench.definitions import Definitions, read_definitions
from omnieval.benchmarks.avibench.layout import (
    DOUBLE_CONFIRM,
    PREFIX,
    pre_task_name,
    resolve_tasks,
    task_name,
)
from omnieval.benchmarks.avibench.loader import SplitTask, load_task, task_folder
from omnieval.benchmarks.avibench.refine import RefinePolicy, load_prompts
from omnieval.benchmarks.avibench.task import AviTask, Mode, VideoAudio
from omnieval.benchmarks.base import Benchmark, DatasetError, Task
from omnieval.scoring.tree import Formula, Gate, Node
from omnieval.types import MetricKind, MetricSpec, Sample

VSQA_NODE = f"{PREFIX}/VSQA"
OVERALL = f"{PREFIX}:overall"
L1 = f"{PREFIX}:L1-task"
L2 = f"{PREFIX}:L2-modality (provisional)"
_SCORE = MetricSpec(name="score", kind=MetricKind.BOUNDED, low=0.0, high=1.0)


def stage_node(stage: str) -> str:
    return f"{PREFIX}:{stage}"


def paper_task_node(task: str) -> str:
    """The node or task that carries a paper-level task's headline (VSQA is a node)."""
    return VSQA_NODE if task == "VSQA" else task_name(task)


def _pre_link(sample: Sample) -> list[str]:
    return [str(p) for p in sample.metadata.get("pre_ids", [])]


@registry.benchmarks.register("avibench")
class AviBenchmark(Benchmark):
    """AVI-Bench from a directory in the release layout (official data or a generated edition).

    Arguments (`args:` of the benchmark in the run config):
    - `data_dir`: the directory holding `levels/` (or `levels/` itself);
    - `tasks`: task folders to load (default: every one of the 15 present under data_dir;
      `VSQA` = both halves; a named folder that is missing is an error);
    - `mode`: `default` (corrected scoring) or `parity` (upstream eval.py's numbers);
    - `definitions`: upstream's `definitions.py` (parsed, never executed); default
      `<data_dir>/definitions.py` when it exists;
    - `refine`: `never` | `fallback` | `always` (judge role `refine`);
    - `refine_prompts`: upstream's `auto_format/run.py` to take the refine templates from;
    - `video_audio`: `soundtrack` (the video carries the audio; the wav is not sent) or
      `separate` (the wav is sent, the video muted);
    - `caption_metric`: `sbert` (sbert_sim(all-MiniLM-L6-v2)) or `fense` (aac-metrics);
    - `allow_outside_paths`: read media outside the task folders (default: refused).
    """

    name = "avibench"

    def __init__(
        self,
        data_dir: str | Path,
        tasks: str | list[str] | None = None,
        mode: Mode = "default",
        definitions: str | Path | None = None,
        refine: RefinePolicy = "never",
        refine_prompts: str | Path | None = None,
        video_audio: VideoAudio = "soundtrack",
        caption_metric: CaptionMetric = "sbert",
        allow_outside_paths: bool = False,
    ) -> None:
        _check("mode", mode, ("default", "parity"))
        _check("refine", refine, ("never", "fallback", "always"))
        _check("video_audio", video_audio, ("soundtrack", "separate"))
        _check("caption_metric", caption_metric, ("sbert", "fense"))
        self.root = Path(data_dir)
        self.folders = resolve_tasks(tasks) if tasks is not None else _present_tasks(self.root)
        self.mode: Mode = mode
        self.definitions_path = _definitions_path(self.root, definitions)
        self.refine: RefinePolicy = refine
        self.prompts = load_prompts(refine_prompts)
        self.video_audio: VideoAudio = video_audio
        self.caption_metric: CaptionMetric = caption_metric
        self.allow_outside_paths = allow_outside_paths

    @cached_property
    def definitions(self) -> Definitions:
        if self.definitions_path is None:
            return Definitions()
        return read_definitions(self.definitions_path)

    @cached_property
    def splits(self) -> dict[str, SplitTask]:
        """Each loaded task folder's formal samples, pre-questions and skipped pre slots."""
        return {
            folder: load_task(
                self.root,
                folder,
                self.definitions,
                task_name(folder),
                pre_task_name(folder),
                self.allow_outside_paths,
                # upstream's AVSQA scorer does not skip empty pre slots: parity keeps them
                keep_invalid_pre=self.mode == "parity" and folder == "AVSQA",
                skip_pre_by_id=self.mode == "parity",
            )
            for folder in self.folders
        }

    def _task(self, name: str, folder: str, samples: list[Sample], is_pre: bool) -> AviTask:
        return AviTask(
            name,
            folder,
            samples,
            mode=self.mode,
            refine=self.refine,
            prompts=self.prompts,
            video_audio=self.video_audio,
            caption_metric=self.caption_metric,
            is_pre=is_pre,
        )

    @cached_property
    def _tasks(self) -> list[AviTask]:
        found: list[AviTask] = []
        for folder, split in self.splits.items():
            found.append(self._task(task_name(folder), folder, split.formal, False))
            if folder in DOUBLE_CONFIRM and split.pre:
                found.append(self._task(pre_task_name(folder), folder, split.pre, True))
        return found

    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def gates(self) -> list[Gate]:
        loaded = {t.name for t in self._tasks}
        return [
            Gate(pre_task_name(folder), task_name(folder), _pre_link, effect="zero")
            for folder in self.folders
            if folder in DOUBLE_CONFIRM and pre_task_name(folder) in loaded
        ]

    def tree(self) -> list[Node | Formula]:
        loaded = {t.name for t in self._tasks}
        nodes: list[Node | Formula] = []
        if {task_name("VSQA_I"), task_name("VSQA_V")} <= loaded:
            halves = (task_name("VSQA_I"), task_name("VSQA_V"))
            nodes.append(Node(VSQA_NODE, halves, mode="micro", level="task"))
            loaded.add(VSQA_NODE)
        stages: list[str] = []
        for stage, members in taxonomy.STAGE_TASKS.items():
            children = tuple(paper_task_node(t) for t in members)
            if all(c in loaded for c in children):
                nodes.append(Node(stage_node(stage), children, mode="macro", level="stage"))
                stages.append(stage)
        if len(stages) == len(taxonomy.STAGE_TASKS):
            children = tuple(stage_node(s) for s in stages)
            nodes.append(Node(OVERALL, children, mode="macro", level="overall"))
        if all(s in stages for s in taxonomy.FAMILIAR):
            familiar = tuple(stage_node(s) for s in taxonomy.FAMILIAR)
            nodes.append(Formula(L1, familiar, _l1, spec=_SCORE, level="taxonomy"))
            groups = taxonomy.AUDIO_DOMINANT + taxonomy.VISUAL_DOMINANT
            inputs = tuple(paper_task_node(t) for t in groups)
            if all(i in loaded for i in inputs):
                nodes.append(Formula(L2, (L1, *inputs), _l2, spec=_SCORE, level="taxonomy"))
        return nodes

    def skipped_pre(self) -> dict[str, int]:
        """Task folder -> pre slots skipped for a null question or answer."""
        return {f: len(s.skipped_pre) for f, s in self.splits.items() if s.skipped_pre}


def _l1(values: Mapping[str, float]) -> float:
    return taxonomy.l1({s: values[stage_node(s)] for s in taxonomy.FAMILIAR})


def _l2(values: Mapping[str, float]) -> float:
    scores = {
        t: values[paper_task_node(t)] for t in taxonomy.AUDIO_DOMINANT + taxonomy.VISUAL_DOMINANT
    }
    return taxonomy.l2(values[L1], scores)


def _check(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"avibench {name} must be one of {', '.join(allowed)}, not {value!r}")


def _present_tasks(root: Path) -> list[str]:
    """Every task folder that holds a data.json (default `tasks`); none is an error."""
    found = [t for t in resolve_tasks(None) if (task_folder(root, t) / "data.json").exists()]
    if not found:
        raise DatasetError(
            f"{root}: no AVI-Bench task folder found (expected levels/<stage>/<TASK>/data.json, "
            "e.g. levels/perception/AMIC/data.json); fetch the release with `omnieval fetch "
            "avibench --out DIR` or generate an edition with `omnieval generate avibench`"
        )
    return found


def _definitions_path(root: Path, given: str | Path | None) -> Path | None:
    if given is not None:
        return Path(given)
    for candidate in (root / "definitions.py", root / "levels" / "definitions.py"):
        if candidate.exists():
            return candidate
    return None
