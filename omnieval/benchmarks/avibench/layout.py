"""AVI-Bench's fixed layout: the 15 task folders, their stages and the kind of answer each one
takes (which decides its extraction rule and metric)."""

from __future__ import annotations

from typing import Literal

Shape = Literal["choice", "multi", "counts", "boxes", "frames", "indices", "caption"]

#: folder name under levels/ -> the stage name used in scores (upstream spells it `understand`)
STAGES: dict[str, str] = {
    "perception": "perception",
    "understand": "understanding",
    "reasoning": "reasoning",
    "sensation": "sensation",
}

#: task folder -> (stage folder, answer shape), in upstream's run order within each stage
TASKS: dict[str, tuple[str, Shape]] = {
    "AMIC": ("perception", "counts"),
    "VMIC": ("perception", "counts"),
    "AVL": ("perception", "boxes"),
    "AVM": ("perception", "choice"),
    "VAR": ("understand", "indices"),
    "AVR": ("understand", "indices"),
    "AVC": ("understand", "caption"),
    "AVH": ("reasoning", "choice"),
    "VAH": ("reasoning", "choice"),
    "AVQA": ("reasoning", "choice"),
    "AVLG": ("reasoning", "frames"),
    "ASQA": ("sensation", "choice"),
    "VSQA_I": ("sensation", "choice"),
    "VSQA_V": ("sensation", "choice"),
    "AVSQA": ("sensation", "multi"),
}

#: the tasks with `pre_` double-confirm entries
DOUBLE_CONFIRM = ("ASQA", "VSQA_I", "VSQA_V", "AVSQA")
#: tasks whose answers upstream's refine step does not touch
NO_REFINE = frozenset({"AVM", "AVC", "AVH", "VAH"})
#: the paper's 14 tasks (VSQA = VSQA_I + VSQA_V pooled)
PAPER_TASKS: tuple[str, ...] = (
    "AMIC", "VMIC", "AVL", "AVM",
    "VAR", "AVR", "AVC",
    "AVH", "VAH", "AVQA", "AVLG",
    "ASQA", "VSQA", "AVSQA",
)  # fmt: skip
#: published sample counts per stage (README), for coverage in the leaderboard export
STAGE_SAMPLES = {"perception": 1494, "understanding": 808, "reasoning": 1472, "sensation": 2090}
TOTAL_SAMPLES = 5864

PREFIX = "avibench"


def task_name(task: str) -> str:
    return f"{PREFIX}/{task}"


def pre_task_name(task: str) -> str:
    return f"{PREFIX}/{task}/pre"


def resolve_tasks(names: str | list[str] | None) -> list[str]:
    """Task folders from names (any case; `VSQA` = both halves; a `+`-joined string or a list)."""
    if names is None:
        return list(TASKS)
    given = names.split("+") if isinstance(names, str) else [str(n) for n in names]
    chosen: list[str] = []
    for raw in given:
        key = raw.strip().upper()
        members = ["VSQA_I", "VSQA_V"] if key == "VSQA" else [key]
        for member in members:
            if member not in TASKS:
                raise ValueError(
                    f"unknown AVI-Bench task {raw.strip()!r}; tasks: {', '.join(TASKS)} (or VSQA)"
                )
            if member not in chosen:
                chosen.append(member)
    if not chosen:
        raise ValueError("no AVI-Bench task named")
    return [t for t in TASKS if t in chosen]
