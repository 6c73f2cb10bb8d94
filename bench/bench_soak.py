"""Soak: memory, journal size and harness overhead over long runs; re-planning a huge one.

    python bench/bench_soak.py                   # all parts, the issue's sizes
    python bench/bench_soak.py --part instant --trials 100000
    python bench/bench_soak.py --part loopback --served-trials 10000
    python bench/bench_soak.py --part replan --replan-trials 1000000

(a) `instant`: a short run (`--short` trials, as bench/bench_harness.py measures it) and then
    `--trials` with the `constant` model, in this process; RSS is sampled every 0.25 s.
    Growth = the highest RSS in the last 90% of the run minus the RSS at 10% of it (the first
    10% is warm-up: plan, caches, SQLite page cache). Target < 50 MB. The harness overhead is
    compared as trials/s of the long run over trials/s of the short run (same session).
(b) `loopback`: `--served-trials` through the `openai` provider against tests/loopback.py in a
    subprocess answering after 50 ms (concurrency 64), RSS sampled the same way.
(c) `replan`: a finished run of `--replan-trials` trials (items x 4 rotations) is journaled in
    bulk: the plan is made once, and every trial's `constant` response is scored by the task and
    written through `Journal.record` (the executor's own write path, group-committed) without
    the async model round trip. Then the re-plan is timed as bench_harness.py times it: plan +
    journal lookup of finished keys + pending list. Target < 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from omnieval import api
from omnieval.runner.journal import Journal
from omnieval.runner.plan import make_plan
from omnieval.runner.scoring_pass import score_now, scoring_mark
from omnieval.runner.trial_request import build_trial_request, trial_sample
from omnieval.types import Response, TrialContext

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """RSS every `every_s` seconds in a background thread while the `with` block runs, with
    the number of trials journaled so far (read from `journal`, when it exists)."""

    def __init__(self, journal: Path | None = None, every_s: float = 0.25) -> None:
        self.every_s = every_s
        self.journal = journal
        self.samples: list[tuple[float, float]] = []
        self.progress: list[tuple[int, float]] = []  # (trials journaled, RSS MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _journaled(self) -> int | None:
        if self.journal is None or not self.journal.exists():
            return None
        try:
            with sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True, timeout=1) as db:
                return int(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
        except sqlite3.Error:
            return None

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            mb = rss_mb()
            self.samples.append((time.perf_counter() - start, mb))
            done = self._journaled()
            if done is not None:
                self.progress.append((done, mb))
            self._stop.wait(self.every_s)

    def during_trials(self, total: int) -> tuple[float, float]:
        """(RSS when 10% of the trials were journaled, highest RSS until all were)."""
        early = [mb for done, mb in self.progress if done >= total // 10]
        running = [mb for done, mb in self.progress if total // 10 <= done < total]
        if not early:
            return float("nan"), float("nan")
        return early[0], max(running or early[:1])

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((self.samples[-1][0] if self.samples else 0.0, rss_mb()))

    def summary(self) -> dict[str, float]:
        values = [mb for _, mb in self.samples]
        cut = max(1, len(values) // 10)
        warm = values[cut - 1]
        return {
            "start": values[0],
            "at_10pct": warm,
            "peak_after_10pct": max(values[cut:] or values),
            "end": values[-1],
            "growth": max(values[cut:] or values) - warm,
            "samples": float(len(values)),
        }


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


def timed_run(root: Path, name: str, n: int, model: Any) -> tuple[float, RssSampler, Any]:
    write_questions(root / f"{name}.jsonl", n)
    sampler = RssSampler(root / "runs" / name / "journal.sqlite")
    started = time.perf_counter()
    with sampler:
        outcome = api.evaluate(_config(root, name, model))
    elapsed = time.perf_counter() - started
    assert outcome.executed == n, (outcome.executed, n)
    return elapsed, sampler, outcome


def _print_rss(label: str, sampler: RssSampler, trials: int) -> None:
    first, most = sampler.during_trials(trials)
    print(
        f"    RSS while trials run: {first:.0f} MB at 10% journaled, at most {most:.0f} MB "
        f"before the last trial -> growth {most - first:+.1f} MB   target < 50 MB"
    )
    s = sampler.summary()
    print(
        f"    RSS {label}: start {s['start']:.0f} MB, at 10% {s['at_10pct']:.0f} MB, "
        f"peak after {s['peak_after_10pct']:.0f} MB, end {s['end']:.0f} MB -> growth "
        f"{s['growth']:+.1f} MB ({s['samples']:.0f} samples; includes the final aggregation)"
    )


def part_instant(root: Path, short: int, trials: int) -> None:
    model = {"use": "constant", "concurrency": 64}
    short_s, _, _ = timed_run(root, "short", short, model)
    long_s, sampler, outcome = timed_run(root, "soak", trials, model)
    size = journal_bytes(outcome.run_dir)
    print(f"(a) instant model, {trials:,} trials")
    print(f"    short run ({short:,} trials)  {short_s:8.2f} s  {short / short_s:10,.0f} trials/s")
    print(f"    soak run ({trials:,} trials) {long_s:8.2f} s  {trials / long_s:10,.0f} trials/s")
    ratio = (long_s / trials) / (short_s / short)
    print(f"    overhead ratio (soak / short, time per trial): {ratio:.2f}")
    _print_rss("whole run", sampler, trials)
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
        elapsed, sampler, outcome = timed_run(root, "served", trials, model)
    finally:
        server.terminate()
        server.wait(10)
    size = journal_bytes(outcome.run_dir)
    floor = trials * 0.05 / 64
    print(f"(b) 50 ms loopback server, {trials:,} trials, concurrency 64")
    print(
        f"    {elapsed:8.2f} s  {trials / elapsed:8,.0f} trials/s  (floor {floor:.1f} s at "
        f"64 x 50 ms); failed {outcome.results.totals.failed}"
    )
    _print_rss("whole run", sampler, trials)
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
    args = parser.parse_args()
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
