"""The anchor workload through the whole runner: image + text MCQ against a 100 ms server.

    python bench/bench_anchor.py [--items 600] [--concurrency 64] [--delay 0.1] [--rotation]

Starts `tests/loopback.py` in its own process (answers every chat completion after `--delay`),
writes `--items` multiple-choice questions that each carry a small PNG, and runs them through
`api.evaluate` with the `openai` provider at `--concurrency`. The request phase is read from the
journal: from the first answer minus one delay to the last answer. Its ideal is
items x delay / concurrency; the target is >= 85% of it. `--rotation` asks every item under its
4 rotations (4 x items trials).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from omnieval import api

ROOT = Path(__file__).resolve().parent.parent


def png(path: Path) -> None:
    raw = b"".join(b"\x00" + bytes([i % 256, 40, 90]) * 32 for i in range(32))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--rotation", action="store_true")
    args = parser.parse_args()
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "loopback.py"),
            "--port",
            "0",
            "--delay",
            str(args.delay),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            png(root / "pic.png")
            with (root / "q.jsonl").open("w", encoding="utf-8") as out:
                for i in range(args.items):
                    item = {
                        "id": f"q{i:05d}",
                        "question": f"Question {i}: what colour dominates the picture?",
                        "options": ["red", "green", "blue", "grey"],
                        "answer": "ABCD"[i % 4],
                        "media": [{"kind": "image", "path": "pic.png"}],
                    }
                    out.write(json.dumps(item) + "\n")
            benchmark: dict[str, object] = {"name": "mcq", "args": {"path": str(root / "q.jsonl")}}
            if args.rotation:
                benchmark["replicates"] = {"scheme": "rotation"}
            config = {
                "name": "anchor",
                "output": str(root / "runs"),
                "benchmarks": [benchmark],
                "models": [
                    {
                        "alias": "served",
                        "provider": "openai",
                        "init_args": {
                            "model": "loopback",
                            "base_url": f"http://127.0.0.1:{port}/v1",
                            "api_key": "bench",
                            "max_concurrency": args.concurrency,
                        },
                        "concurrency": args.concurrency,
                    }
                ],
                "progress": False,
            }
            started = time.perf_counter()
            outcome = api.evaluate(config)
            total = time.perf_counter() - started
            with sqlite3.connect(outcome.run_dir / "journal.sqlite") as db:
                first, last, count = db.execute(
                    "SELECT MIN(finished_at), MAX(finished_at), COUNT(*) FROM trials"
                ).fetchone()
    finally:
        server.terminate()
        server.wait(timeout=10)
    phase = last - first + args.delay
    ideal = count * args.delay / args.concurrency
    print(
        f"python {sys.version.split()[0]}, {count} image+text trials, concurrency "
        f"{args.concurrency}, server delay {args.delay * 1000:.0f} ms"
    )
    print(
        f"request phase {phase:6.2f} s, ideal {ideal:5.2f} s: {ideal / phase:6.1%} of ideal "
        "(target >= 85%)"
    )
    print(f"whole run     {total:6.2f} s (load, plan, pre-flight, outputs included)")


if __name__ == "__main__":
    main()
