"""A live progress display: one bar per model with rate, ETA, failures and the running mean of
each headline metric it has scored, shown in that metric's own terms (a percentage for binary
and [0, 1] metrics, the plain mean otherwise: a 0-100 judge quality is never a percentage)."""

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

from omnieval.types import MetricKind, MetricSpec

ACCURACY_SPEC = MetricSpec(name="accuracy", kind=MetricKind.BINARY)


@dataclass
class Tally:
    """Running counts for one model."""

    done: int = 0
    failed: int = 0
    scored: int = 0
    correct: float = 0.0
    retries: int = 0
    #: headline metric name -> (its spec, sum of values, count), for tasks of different kinds
    means: dict[str, tuple[MetricSpec, float, int]] = field(default_factory=dict)

    @property
    def accuracy(self) -> float | None:
        """The mean of every scored headline value (meaningful when all share one kind)."""
        return self.correct / self.scored if self.scored else None

    def add(self, spec: MetricSpec, value: float) -> None:
        _, total, count = self.means.get(spec.name, (spec, 0.0, 0))
        self.means[spec.name] = (spec, total + value, count + 1)

    def status(self) -> str:
        """`acc 75.0%` for accuracy, `quality 42.5` for a 0-100 score, one entry per metric."""
        if not self.means:
            return "acc -"
        shown = []
        for name, (spec, total, count) in self.means.items():
            mean = total / count
            label = "acc" if name == "accuracy" else name
            shown.append(f"{label} {mean:.1%}" if spec.percent else f"{label} {mean:.4g}")
        return "  ".join(shown)


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

    def record(
        self,
        model: str,
        failed: bool,
        accuracy: float | None,
        retries: int,
        metric: MetricSpec = ACCURACY_SPEC,
    ) -> None:
        """One finished trial; `accuracy` is the value of its task's headline `metric`."""
        tally = self.tallies[model]
        tally.done += 1
        tally.retries += retries
        if failed:
            tally.failed += 1
        elif accuracy is not None:
            tally.scored += 1
            tally.correct += accuracy
            tally.add(metric, accuracy)
        if self._progress is not None:
            task_id = self._ids[model]
            task = self._progress.tasks[task_id]
            speed = task.speed
            status = tally.status()
            status += f"  failed {tally.failed}" if tally.failed else ""
            self._progress.update(
                task_id,
                advance=1,
                status=status,
                speed_text=f"{speed:,.1f}/s" if speed else "",
            )
