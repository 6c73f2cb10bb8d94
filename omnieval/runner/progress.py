"""A live progress display: one bar per model with rate, ETA, failures and running accuracy."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


@dataclass
class Tally:
    """Running counts for one model."""

    done: int = 0
    failed: int = 0
    scored: int = 0
    correct: float = 0.0
    retries: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None


@dataclass
class ProgressBoard:
    """Counts per model, shown as rich progress bars when `enabled`."""

    totals: dict[str, int]
    enabled: bool = True
    console: Console | None = None
    tallies: dict[str, Tally] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tallies = {model: Tally() for model in self.totals}
        self._progress: Progress | None = None
        self._ids: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressBoard:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[speed_text]}"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=self.console,
                transient=False,
                refresh_per_second=5,
            )
            self._progress.__enter__()
            for model, total in self.totals.items():
                self._ids[model] = self._progress.add_task(
                    model, total=total, status="", speed_text=""
                )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
            self._progress = None

    def record(self, model: str, failed: bool, accuracy: float | None, retries: int) -> None:
        tally = self.tallies[model]
        tally.done += 1
        tally.retries += retries
        if failed:
            tally.failed += 1
        elif accuracy is not None:
            tally.scored += 1
            tally.correct += accuracy
        if self._progress is not None:
            task_id = self._ids[model]
            task = self._progress.tasks[task_id]
            speed = task.speed
            acc = tally.accuracy
            status = f"acc {acc:.1%}" if acc is not None else "acc -"
            status += f"  failed {tally.failed}" if tally.failed else ""
            self._progress.update(
                task_id,
                advance=1,
                status=status,
                speed_text=f"{speed:,.1f}/s" if speed else "",
            )
