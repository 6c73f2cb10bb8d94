"""AVI-Bench scored offline, without a run: a record per sample from given answer texts, and the
aggregation a run would make of them (the aggregation and parity tests, bench/bench_avibench.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omnieval.benchmarks.avibench.benchmark import AviBenchmark
from omnieval.benchmarks.avibench.task import AviTask
from omnieval.scoring.aggregate import aggregate
from omnieval.scoring.items import BenchmarkAggregation, TaskAggregation
from omnieval.types import Response, Trial, TrialContext, TrialRecord


def score_task(
    task: AviTask,
    answer: Callable[[AviTask, TrialContext], str | None],
    *,
    model: str = "m",
    groups: bool = True,
) -> list[TrialRecord]:
    """One scored record per sample of `task` answered `answer(task, ctx)`; a None answer leaves
    the sample out. `groups`: record the sample's groups, as a run does."""
    records: list[TrialRecord] = []
    for sample in task.samples():
        trial = Trial(
            key=f"{task.name}:{sample.id}",
            model=model,
            task=task.name,
            sample_id=sample.id,
            condition="default",
        )
        ctx = TrialContext.create(trial, sample)
        text = answer(task, ctx)
        if text is None:
            continue
        response = Response(text=text)
        extraction = task.extract(ctx, response)
        records.append(
            TrialRecord(
                trial=trial,
                response=response,
                extraction=extraction,
                score=task.score(ctx, extraction),
                groups=tuple(task.groups(sample)) if groups else (),
            )
        )
    return records


def aggregate_records(bench: AviBenchmark, records: list[TrialRecord]) -> Any:
    """The aggregation of `records` over every task of `bench` (gates and tree included)."""
    tasks = bench._tasks
    specs = [
        TaskAggregation(t.name, metrics=t.metrics, corpus_metrics=t.corpus_metrics) for t in tasks
    ]
    tree = BenchmarkAggregation("avibench", [t.name for t in tasks], bench.tree(), bench.gates())
    samples = {t.name: {s.id: s for s in t.samples()} for t in tasks}
    return aggregate(records, tasks=specs, benchmarks=[tree], samples=samples)
