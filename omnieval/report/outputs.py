"""Writing a run's outputs from its journaled trials: results.json, samples.jsonl, leaderboard."""

from __future__ import annotations

from rich.console import Console

from omnieval import registry
from omnieval.report.exports import write_samples_jsonl
from omnieval.report.leaderboard import print_leaderboard, render_markdown
from omnieval.report.results import RunResults, TaskInfo, totals_of, write_results
from omnieval.runner import rundir
from omnieval.runner.run import RunState
from omnieval.scoring.aggregate import aggregate
from omnieval.scoring.chance import chance_levels


def build_results(state: RunState) -> RunResults:
    """Aggregate a run's records into its results."""
    summary = aggregate(
        state.records,
        state.condition_order,
        state.tasks,
        state.benchmarks,
        state.samples,
        seed=state.seed,
    )
    tasks = {}
    for spec in state.tasks:
        replicated = summary.replicated.get(spec.name, False)
        outputs = [s for _, s, _ in spec.outputs(replicated)]
        outputs += [c.spec for c in spec.corpus_metrics]
        tasks[spec.name] = TaskInfo(
            benchmark=spec.benchmark,
            metrics=outputs,
            headline=spec.headline(replicated),
            display=spec.headline_outputs(replicated),
            replicated=replicated,
            scoring=spec.scoring,
            chance=chance_levels(spec, replicated, state.records, state.samples.get(spec.name, {})),
        )
    return RunResults(
        run=state.name,
        totals=totals_of(state.records),
        models=state.models,
        conditions=list(state.condition_order),
        tasks=tasks,
        groups=summary.groups,
        nodes=summary.nodes,
    )


def write_outputs(state: RunState, console: Console, show: bool = True) -> RunResults:
    """Aggregate the trials and (re)write every output file; print the leaderboard if `show`."""
    results = build_results(state)
    write_results(state.run_dir / rundir.RESULTS, results)
    write_samples_jsonl(
        state.run_dir / rundir.SAMPLES, state.records, state.samples, state.request_bodies
    )
    leaderboard = render_markdown(results, state.records)
    (state.run_dir / rundir.LEADERBOARD).write_text(leaderboard, encoding="utf-8")
    for name, text in benchmark_files(results).items():
        (state.run_dir / name).write_text(text, encoding="utf-8")
    if show:
        print_leaderboard(results, state.records, console)
        console.print(f"run directory: {state.run_dir}")
    return results


def benchmark_files(results: RunResults) -> dict[str, str]:
    """Files the run's benchmarks add to its directory (`Benchmark.report_files`)."""
    files: dict[str, str] = {}
    for name in sorted({info.benchmark for info in results.tasks.values()}):
        if name not in registry.benchmarks:
            continue
        hook = getattr(registry.benchmarks.get(name), "report_files", None)
        if callable(hook):
            files.update(hook(results))
    return files
