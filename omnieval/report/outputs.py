"""Writing a run's outputs from its journaled trials: results.json, samples.jsonl, leaderboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from omnieval import registry
from omnieval.report.acuity import temporal_acuity
from omnieval.report.exports import write_samples_jsonl
from omnieval.report.html.page import REPORT, write_report
from omnieval.report.leaderboard import print_leaderboard, render_markdown
from omnieval.report.ratings import rating_summary
from omnieval.report.results import RunResults, TaskInfo, totals_of, write_results
from omnieval.report.tables import write_sample_tables
from omnieval.runner import faults, rundir
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
        probe=probe_verdicts(state.run_dir),
        acuity=temporal_acuity(state.records, state.samples, seed=state.seed),
        human_ratings=rating_summary(state.run_dir),
    )


def probe_verdicts(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The wiring probe's rows per model from the run's probe.json (empty when not probed)."""
    path = run_dir / rundir.PROBE
    if not path.is_file():
        return {}
    content = json.loads(path.read_text(encoding="utf-8"))
    return {
        alias: list(entry.get("paths", []))
        for alias, entry in (content.get("models") or {}).items()
    }


def write_outputs(state: RunState, console: Console, show: bool = True) -> RunResults:
    """Aggregate the trials and (re)write every output file; print the leaderboard if `show`."""
    results = build_results(state)
    faults.point("outputs.write")
    write_results(state.run_dir / rundir.RESULTS, results)
    faults.point("outputs.written")
    write_samples_jsonl(
        state.run_dir / rundir.SAMPLES, state.records, state.samples, state.request_bodies
    )
    write_sample_tables(state.run_dir, state.records)
    leaderboard = render_markdown(results, state.records)
    (state.run_dir / rundir.LEADERBOARD).write_text(leaderboard, encoding="utf-8")
    write_report(state.run_dir, results, state.samples)
    for name, text in benchmark_files(results).items():
        (state.run_dir / name).write_text(text, encoding="utf-8")
    if show:
        print_leaderboard(results, state.records, console)
        console.print(f"run directory: {state.run_dir}")
        console.print(f"report: {state.run_dir / REPORT} (open it in a browser)")
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
