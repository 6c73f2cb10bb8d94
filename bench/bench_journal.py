"""Rescoring and opening large journals.

    python bench/bench_journal.py [--trials 100000]

(a) `omnieval rescore` of a finished `--trials`-trial run (mcq, `constant`, journal schema 2):
    read every journaled response, re-extract, re-score, write the scores back, rebuild
    results.json, samples.jsonl and the leaderboard. Target < 10 s for 100,000 trials.
(b) opening a `--trials`-trial journal written in schema 1 (omnieval 0.1), migration included,
    and listing its finished keys (what a resumed run does first). Target < 5 s.
The schema-1 journal is written directly with the 0.1 table layout and row format.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench_harness import write_questions  # the same questions as the harness bench

from omnieval import api
from omnieval.runner.journal import Journal

V1_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trials (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, task TEXT NOT NULL, sample_id TEXT NOT NULL,
    variant TEXT NOT NULL, status TEXT NOT NULL, response TEXT NOT NULL, extraction TEXT,
    score TEXT, groups TEXT NOT NULL, finished_at REAL NOT NULL
);
CREATE TABLE plan (key TEXT PRIMARY KEY);
INSERT INTO meta VALUES ('schema', '1');
"""


def write_v1_journal(path: Path, n: int) -> None:
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    response = json.dumps({"status": "ok", "text": "A", "latency_s": 0.001, "attempts": 1})
    extraction = json.dumps({"value": "A", "rule": "bare-letter", "ok": True})
    rows = (
        (
            f"{i:032x}",
            "constant",
            "mcq/default",
            f"q{i:06d}",
            "default",
            "ok",
            response,
            extraction,
            json.dumps({"values": {"accuracy": float(i % 4 == 0)}}),
            f"c{i % 5}",
            1.0,
        )
        for i in range(n)
    )
    db.executemany("INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.executemany("INSERT INTO plan VALUES (?)", ((f"{i:032x}",) for i in range(n)))
    db.commit()
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_questions(root / "q.jsonl", args.trials)
        config = {
            "name": "bench",
            "output": str(root / "runs"),
            "benchmarks": [{"name": "mcq", "args": {"path": str(root / "q.jsonl")}}],
            "models": [{"use": "constant", "concurrency": 64}],
            "progress": False,
        }
        started = time.perf_counter()
        first = api.evaluate(config)
        run_s = time.perf_counter() - started
        assert first.executed == args.trials
        started = time.perf_counter()
        rescored = api.rescore(first.run_dir)
        rescore_s = time.perf_counter() - started
        assert rescored.results.totals.trials == args.trials

        old = root / "v1.sqlite"
        write_v1_journal(old, args.trials)
        started = time.perf_counter()
        journal = Journal(old)
        keys = journal.finished_keys(include_failed=False)
        open_s = time.perf_counter() - started
        assert journal.migrated_from == "1" and len(keys) == args.trials
        started = time.perf_counter()
        count = sum(1 for _ in journal.records())
        read_s = time.perf_counter() - started
        journal.close()
        assert count == args.trials

    print(f"python {sys.version.split()[0]}, {args.trials} trials")
    print(f"    first run (for reference)     {run_s:7.2f} s")
    print(f"(a) rescore, outputs rebuilt      {rescore_s:7.2f} s   target < 10 s")
    print(f"(b) open schema-1 journal + keys  {open_s:7.2f} s   target < 5 s (migration included)")
    print(f"    then read every record        {read_s:7.2f} s")


if __name__ == "__main__":
    main()
