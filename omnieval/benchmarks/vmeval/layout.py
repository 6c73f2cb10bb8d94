"""Question directories in VMEvalKit's layout, discovered exactly as upstream does.

```
questions/<domain>_task/<task_id>/first_frame.png      (required)
                                  prompt.txt           (required)
                                  final_frame.png      (optional; the judges need it)
                                  ground_truth.mp4     (optional)
                                  question_metadata.json (optional)
```

Every `*_task` directory directly under the root is a domain (its name without `_task`); every
sub-directory of a domain holding both `prompt.txt` and `first_frame.png` is a task, the others are
skipped (listed, and logged as a warning naming the directory and the missing file, so a user
sees why a task is missing). A file that resolves outside the root (a symlink out) is refused
unless `allow_outside`. Domains and tasks are sorted by name,
the prompt is stripped, as upstream. Input files are never modified: an SVG saved as `.png`
(upstream rewrites it in place) is converted into the media cache instead (omnieval.benchmarks.
vmeval.images).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnieval.benchmarks.base import DatasetError
from omnieval.media.paths import OutsideRootError, dataset_media_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    id: str
    domain: str
    prompt: str
    dir: Path
    first_image: Path
    final_image: Path | None
    ground_truth_video: Path | None
    metadata: dict[str, Any] | None

    @property
    def task_type(self) -> str:
        """Upstream's task type (`maze_task`): the key of its judge guidance."""
        return f"{self.domain}_task"


@dataclass
class Discovery:
    questions: dict[str, list[Question]] = field(default_factory=dict)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def all(self) -> list[Question]:
        return [q for qs in self.questions.values() for q in qs]


def discover(root: Path, allow_outside: bool = False) -> Discovery:
    """The domains and tasks under a questions directory (upstream's discovery rules)."""
    if not root.is_dir():
        raise DatasetError(f"vmeval questions directory {root} does not exist")
    found = Discovery()
    for domain_dir in sorted(root.glob("*_task")):
        if not domain_dir.is_dir():
            continue
        domain = domain_dir.name.replace("_task", "")
        tasks: list[Question] = []
        for task_dir in sorted(domain_dir.iterdir()):
            if not task_dir.is_dir():
                continue
            prompt, first = task_dir / "prompt.txt", task_dir / "first_frame.png"
            if not prompt.exists():
                found.skipped.append((task_dir, "missing prompt.txt"))
                continue
            if not first.exists():
                found.skipped.append((task_dir, "missing first_frame.png"))
                continue
            tasks.append(_question(task_dir, domain, prompt, first, root, allow_outside))
        found.questions[domain] = tasks
    for task_dir, reason in found.skipped:
        log.warning(
            "vmeval: skipped question %s: %s (upstream skips it too); add the file and rerun "
            "to include it",
            task_dir,
            reason,
        )
    return found


def _question(
    task_dir: Path, domain: str, prompt: Path, first: Path, root: Path, allow_outside: bool
) -> Question:
    final = task_dir / "final_frame.png"
    video = task_dir / "ground_truth.mp4"
    meta_path = task_dir / "question_metadata.json"
    for path in (prompt, first, final, video, meta_path):
        try:
            dataset_media_path(root, path.relative_to(root), allow_outside)
        except OutsideRootError as err:
            raise DatasetError(f"task {task_dir.name}: {err}") from None
    metadata: dict[str, Any] | None = None
    if meta_path.exists():
        try:
            loaded = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DatasetError(
                f"task {task_dir.name}: cannot read {meta_path}: not valid JSON ({err}); fix the "
                "file or generate / fetch the question again"
            ) from err
        except UnicodeDecodeError as err:
            raise DatasetError(
                f"task {task_dir.name}: {meta_path} is not UTF-8 text ({err.reason} at byte "
                f"{err.start}); is it the right file?"
            ) from None
        except OSError as err:
            raise DatasetError(f"task {task_dir.name}: cannot read {meta_path}: {err}") from err
        if not isinstance(loaded, dict):
            raise DatasetError(f"task {task_dir.name}: {meta_path} is not a JSON object")
        metadata = loaded
    try:
        text = prompt.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"task {task_dir.name}: cannot read {prompt}: {err}") from err
    return Question(
        id=task_dir.name,
        domain=domain,
        prompt=text,
        dir=task_dir,
        first_image=first,
        final_image=final if final.exists() else None,
        ground_truth_video=video if video.exists() else None,
        metadata=metadata,
    )
