"""Soak: memory, journal size and harness overhead over long runs; re-planning a huge one.

    python bench/bench_soak.py                   # all parts, the issue's sizes
    python bench/bench_soak.py --part instant --trials 100000
    python bench/bench_soak.py --part loopback --served-trials 10000
    python bench/bench_soak.py --part replan --replan-trials 1000000

(a) `instant`: a short run (`--short` trials, as bench/bench_harness.py measures it) and then
    `--trials` with the `constant` model. Each run is `api.evaluate` in a child process (this
    script with `--child CONFIG`); this process samples the child's memory from outside every
    0.25 s (VmRSS and its RssAnon / RssFile split from /proc/<pid>/status) together with the
    number of trials journaled so far (counted from this process's own SQLite connection), so
    the measurement adds no thread, allocation or connection to the process it measures.
    "While trials run": RSS when 10% of the trials are journaled against the highest RSS until
    the last one is (the first 10% is warm-up: plan, caches, SQLite page cache). Target < 50 MB.
    "Final phase": from the last trial journaled to the child's exit (aggregation and outputs:
    results.json, samples.jsonl/csv/parquet, leaderboard, report.html), its highest sampled RSS
    and the child's own peak (VmHWM). The harness overhead is the time per trial of the long
    run over that of the short run (`api.evaluate` timed inside each child).
(b) `loopback`: `--served-trials` through the `openai` provider against tests/loopback.py in a
    subprocess answering after 50 ms (concurrency 64), run and sampled the same way.
(c) `replan`: a finished run of `--replan-trials` trials (items x 4 rotations) is journaled in
    bulk: the plan is made once, and every trial's `constant` response is scored by the task and
    written through `Journal.record` (the executor's own write path, group-committed) without
    the async model round trip. Then the re-plan is timed as bench_harness.py times it: plan +
    journal lookup of finished keys + pending list. Target < 20 s. (In this process.)
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnieval import api
from omnieval.runner.journal import Journal
from omnieval.runner.plan import make_plan
from omnieval.runner.scoring_pass import score_now, scoring_mark
from omnieval.runner.trial_request import build_trial_request, trial_sample
from omnieval.types import Response, TrialContext

ROOT = Path(__file__).resolve().parents[1]
MEMORY_FIELDS = ("VmRSS", "RssAnon", "RssFile", "VmHWM")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory_of(pid: int) -> dict[str, float]:
    """VmRSS, RssAnon, RssFile and VmHWM of a process in MB (empty once it is gone)."""
    found: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in MEMORY_FIELDS:
                    found[name] = int(value.split()[0]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return found


def journaled(journal: Path) -> int | None:
    """Rows in the journal's trials table, read from this process (None before it exists)."""
    if not journal.exists():
        return None
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
    except sqlite3.Error:
        return None


@dataclass
class Sample:
    at_s: float
    done: int  # trials journaled (0 before the journal exists)
    memory: dict[str, float]


@dataclass
class ChildRun:
    """One `api.evaluate` in a child process, sampled from outside."""

    trials: int
    samples: list[Sample] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)

    def while_trials_run(self) -> tuple[Sample, Sample, Sample]:
        """The first sample with 10% journaled, the one with the highest RSS from there until
        the last trial is journaled, and the last one before it is."""
        warm = [s for s in self.samples if s.done >= self.trials // 10]
        running = [s for s in warm if s.done < self.trials] or warm[:1]
        return warm[0], max(running, key=lambda s: s.memory["VmRSS"]), running[-1]

    def final_phase(self) -> tuple[Sample, Sample]:
        """The first sample with every trial journaled, and the highest after it (the last
        sample if the final phase was shorter than one sampling interval)."""
        final = [s for s in self.samples if s.done >= self.trials] or self.samples[-1:]
        return final[0], max(final, key=lambda s: s.memory["VmRSS"])


def run_child(config: dict[str, Any], trials: int, every_s: float = 0.25) -> ChildRun:
    """Run `config` through `api.evaluate` in a child process and sample it until it exits."""
    root = Path(config["output"])
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / f"{config['name']}.config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    journal = root / config["name"] / "journal.sqlite"
    run = ChildRun(trials)
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", str(config_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    started = time.perf_counter()
    while child.poll() is None:
        memory = memory_of(child.pid)
        if memory:
            done = journaled(journal) or 0
            run.samples.append(Sample(time.perf_counter() - started, done, memory))
        time.sleep(every_s)
    assert child.returncode == 0, f"the child run of {config_path} failed ({child.returncode})"
    run.outcome = json.loads(config_path.with_suffix(".result").read_text(encoding="utf-8"))
    return run


def child_main(config_path: Path) -> None:
    """The child: one `api.evaluate`; its time, counts and peak RSS go to CONFIG.result."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    started = time.perf_counter()
    outcome = api.evaluate(config)
    elapsed = time.perf_counter() - started
    hwm = memory_of(os.getpid()).get("VmHWM", 0.0)
    result = {
        "elapsed_s": elapsed,
        "executed": outcome.executed,
        "failed": outcome.results.totals.failed,
        "peak_mb": hwm,
    }
    config_path.with_suffix(".result").write_text(json.dumps(result), encoding="utf-8")


def write_questions(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            item = {
                "id": f"q{i:07d}",
                "question": f"Question {i}: which option is right?",
                "options": [f"option {j} for {i}" for j in range(4)],
                "answer": "ABCD"[i % 4],
                "category": f"c{i % 5}",
            }
            out.write(json.dumps(item) + "\n")


def _config(root: Path, name: str, model: Any, rotation: bool = False) -> dict[str, Any]:
    benchmark: dict[str, Any] = {"name": "mcq", "args": {"path": str(root / f"{name}.jsonl")}}
    if rotation:
        benchmark["replicates"] = {"scheme": "rotation", "k": "all"}
    return {
        "name": name,
        "output": str(root / "runs"),
        "benchmarks": [benchmark],
        "models": [model],
        "progress": False,
    }


def journal_bytes(run_dir: Path) -> int:
    return sum(p.stat().st_size for p in run_dir.glob("journal.sqlite*"))


def child_run(root: Path, name: str, n: int, model: Any) -> ChildRun:
    write_questions(root / f"{name}.jsonl", n)
    run = run_child(_config(root, name, model), n)
    assert run.outcome["executed"] == n, (run.outcome, n)
    return run


def _split(sample: Sample) -> str:
    m = sample.memory
    return f"{m['VmRSS']:.0f} MB (anon {m.get('RssAnon', 0):.0f}, file {m.get('RssFile', 0):.0f})"


def _print_memory(run: ChildRun) -> None:
    warm, most, last = run.while_trials_run()
    growth = most.memory["VmRSS"] - warm.memory["VmRSS"]
    print(
        f"    RSS while trials run: {_split(warm)} at {warm.done:,} journaled; "
        f"{_split(last)} at {last.done:,}; highest {most.memory['VmRSS']:.0f} MB "
        f"-> growth {growth:+.1f} MB   target < 50 MB"
    )
    start, top = run.final_phase()
    print(
        f"    final phase (aggregation + outputs): {_split(start)} at the last trial, peak "
        f"{_split(top)} sampled; the child's VmHWM {run.outcome['peak_mb']:.0f} MB "
        f"({len(run.samples)} samples in all)"
    )


def part_instant(root: Path, short: int, trials: int) -> None:
    model = {"use": "constant", "concurrency": 64}
    short_run = child_run(root, "short", short, model)
    long_run = child_run(root, "soak", trials, model)
    short_s, long_s = short_run.outcome["elapsed_s"], long_run.outcome["elapsed_s"]
    size = journal_bytes(root / "runs" / "soak")
    print(f"(a) instant model, {trials:,} trials (each run in a child process)")
    print(f"    short run ({short:,} trials)  {short_s:8.2f} s  {short / short_s:10,.0f} trials/s")
    print(f"    soak run ({trials:,} trials) {long_s:8.2f} s  {trials / long_s:10,.0f} trials/s")
    ratio = (long_s / trials) / (short_s / short)
    print(f"    overhead ratio (soak / short, time per trial): {ratio:.2f}")
    _print_memory(long_run)
    print(f"    journal {size / 1e6:.1f} MB = {size / trials:,.0f} bytes per trial")


def part_loopback(root: Path, trials: int) -> None:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "loopback.py"), "--port", "0", "--delay", "0.05"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline().split()
        port = int(line[1])
        model = {
            "alias": "loop",
            "provider": "openai",
            "init_args": {
                "base_url": f"http://127.0.0.1:{port}/v1",
                "model": "loopback",
                "max_concurrency": 64,
            },
            "concurrency": 64,
        }
        run = child_run(root, "served", trials, model)
    finally:
        server.terminate()
        server.wait(10)
    elapsed = run.outcome["elapsed_s"]
    size = journal_bytes(root / "runs" / "served")
    floor = trials * 0.05 / 64
    print(f"(b) 50 ms loopback server, {trials:,} trials, concurrency 64 (in a child process)")
    print(
        f"    {elapsed:8.2f} s  {trials / elapsed:8,.0f} trials/s  (floor {floor:.1f} s at "
        f"64 x 50 ms); failed {run.outcome['failed']}"
    )
    _print_memory(run)
    print(f"    journal {size / 1e6:.1f} MB = {size / trials:,.0f} bytes per trial")


def part_replan(root: Path, trials: int) -> None:
    items = trials // 4
    write_questions(root / "huge.jsonl", items)
    config = _config(root, "huge", {"use": "constant"}, rotation=True)
    resolved, _ = api.load_config(config)
    started = time.perf_counter()
    plan = make_plan(resolved)
    first_plan = time.perf_counter() - started
    assert len(plan.trials) == trials, len(plan.trials)
    run_dir = root / "runs" / "huge"
    run_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(run_dir / "journal.sqlite")
    started = time.perf_counter()
    journal.set_plan(p.trial.key for p in plan.trials)
    for planned in plan.trials:
        task = planned.task
        view = trial_sample(task, planned.sample, planned.replicate)
        request = build_trial_request(
            task, view, planned.trial.condition, planned.replicate, resolved.generation
        )
        ctx = TrialContext.create(
            trial=planned.trial,
            sample=view,
            original=planned.sample,
            replicate=planned.replicate,
            request=request,
        )
        response = Response(text="A")
        extraction, score = score_now(task, ctx, response)
        journal.record(
            planned.trial,
            response,
            extraction,
            score,
            tuple(task.groups(planned.sample)),
            planned.replicate.params,
            scoring_mark(task),
        )
    journal.close()
    build = time.perf_counter() - started
    del plan

    started = time.perf_counter()
    plan = make_plan(resolved)
    journal = Journal(run_dir / "journal.sqlite")
    done = journal.finished_keys(include_failed=False)
    pending = [p for p in plan.trials if p.trial.key not in done]
    journal.close()
    replan = time.perf_counter() - started
    assert not pending, len(pending)
    size = journal_bytes(run_dir)
    print(f"(c) re-plan a finished run of {trials:,} trials ({items:,} items x 4 rotations)")
    rows = trials / build
    print(f"    first plan {first_plan:.1f} s; bulk journaling {build:.1f} s ({rows:,.0f} rows/s)")
    print(f"    re-plan (plan + finished keys + pending) {replan:8.2f} s   target < 20 s")
    per = size / trials
    print(f"    journal {size / 1e6:.0f} MB = {per:,.0f} bytes per trial; RSS {rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=("all", "instant", "loopback", "replan"), default="all")
    parser.add_argument("--short", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--served-trials", type=int, default=10_000)
    parser.add_argument("--replan-trials", type=int, default=1_000_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # one run, for (a), (b)
    args = parser.parse_args()
    if args.child is not None:
        child_main(args.child)
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores (shared, noisy machine)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.part in ("all", "instant"):
            part_instant(root, args.short, args.trials)
        if args.part in ("all", "loopback"):
            part_loopback(root, args.served_trials)
        if args.part in ("all", "replan"):
            part_replan(root, args.replan_trials)


if __name__ == "__main__":
    main()
