"""`executor: ray` overhead: the same run in process and with 2 Ray replicas of an instant model.

    python bench/bench_ray.py [--trials 5000]

Both runs use `constant` (its answer costs microseconds) on a generated mcq file, so the
difference per trial is what Ray adds (the request pickled to an actor and the response back,
on a local cluster with 2 CPUs). Target: < 2 ms per trial over in-process. The cluster start
(several seconds) is reported apart and not counted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from omnieval import api
from omnieval.config import RaySettings
from omnieval.models.ray_pool import connect


def write_questions(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            item = {"id": f"q{i:06d}", "question": f"Question {i}?",
                    "options": ["a", "b", "c", "d"], "answer": "ABCD"[i % 4]}  # fmt: skip
            out.write(json.dumps(item) + "\n")


def timed(config: dict) -> float:
    started = time.perf_counter()
    api.evaluate(config)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rb", dir="/tmp") as tmp:
        root = Path(tmp)
        write_questions(root / "q.jsonl", args.trials)
        settings = RaySettings(local_num_cpus=2, replicas=2, num_cpus=0.5, temp_dir=root / "ray")
        started = time.perf_counter()
        connect(settings)
        print(f"local Ray cluster started in {time.perf_counter() - started:.1f} s")
        base = {
            "output": str(root / "runs"),
            "progress": False,
            "benchmarks": [{"name": "mcq", "args": {"path": str(root / "q.jsonl")}}],
            "models": [{"alias": "c", "provider": "constant", "concurrency": 16}],
        }
        local = timed({**base, "name": "local"})
        remote = timed(
            {**base, "name": "ray", "executor": "ray", "ray": settings.model_dump(mode="json")}
        )
        per_trial_ms = (remote - local) / args.trials * 1000
        print(f"{args.trials} trials: in process {local:.2f} s, 2 Ray replicas {remote:.2f} s")
        print(f"Ray overhead: {per_trial_ms:.2f} ms per trial")


if __name__ == "__main__":
    main()
