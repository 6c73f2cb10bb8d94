"""`omnieval generate vmeval`: a seeded edition of generated tasks in upstream's question layout.

```
questions/<domain>_task/<domain>_<i:04d>/first_frame.png
                                         final_frame.png
                                         prompt.txt
                                         question_metadata.json   (puzzle, solution, ...)
                                         ground_truth.mp4         (the solution, rendered)
```

Each task is seeded by (seed, domain, index), so an edition with more tasks keeps the first ones.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from omnieval.benchmarks.vmeval.domains import DOMAINS
from omnieval.benchmarks.vmeval.video import write_video

GENERATOR_VERSION = "1"
FPS = 8


def task_seed(seed: int, domain: str, index: int) -> int:
    digest = hashlib.sha256(f"vmeval/{seed}/{domain}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def resolve_domains(domains: str | Sequence[str] | None) -> list[str]:
    if domains is None or domains == "all" or domains == "":
        return list(DOMAINS)
    names = domains.split(",") if isinstance(domains, str) else list(domains)
    names = [n.strip().removesuffix("_task") for n in names if n.strip()]
    unknown = [n for n in names if n not in DOMAINS]
    if unknown:
        raise ValueError(f"unknown vmeval domain(s) {unknown}; known: {sorted(DOMAINS)}")
    return names


def write_task(root: Path, domain: str, index: int, seed: int) -> Path:
    task = DOMAINS[domain]
    rng = random.Random(task_seed(seed, domain, index))
    meta = task.generate(rng)
    task_id = f"{domain}_{index:04d}"
    out = root / f"{domain}_task" / task_id
    out.mkdir(parents=True, exist_ok=True)
    prompt = task.prompt(meta)
    states = task.solution(meta)
    frames = task.frames(meta, states)
    Image.fromarray(frames[0]).save(out / "first_frame.png", compress_level=1)
    Image.fromarray(frames[-1]).save(out / "final_frame.png", compress_level=1)
    (out / "prompt.txt").write_text(prompt + "\n", encoding="utf-8")
    write_video(out / "ground_truth.mp4", frames, fps=FPS)
    record: dict[str, Any] = {
        "id": task_id,
        "prompt": prompt,
        "first_image_path": "first_frame.png",
        "final_image_path": "final_frame.png",
        "task_category": domain,
        "domain": domain,
        "difficulty": meta.pop("difficulty"),
        **meta,
        "generator": "omnieval",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
    }
    (out / "question_metadata.json").write_text(
        json.dumps(record, indent=2) + "\n", encoding="utf-8"
    )
    return out


def _write_job(job: tuple[Path, str, int, int]) -> Path:
    return write_task(*job)


def generate_vmeval(
    out: Path,
    n: int = 2,
    seed: int = 0,
    domains: str | Sequence[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> Path:
    """`n` tasks per domain under `out` (the questions directory), on `workers` processes
    (each task is seeded by itself, so the edition does not depend on `workers`)."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(out, domain, index, seed) for domain in resolve_domains(domains) for index in range(n)]
    if workers <= 1:
        done_paths: Iterable[Path] = map(_write_job, jobs)
        for done, _ in enumerate(done_paths, 1):
            if on_progress is not None:
                on_progress(done)
        return out
    with ProcessPoolExecutor(workers) as pool:
        for done, _ in enumerate(pool.map(_write_job, jobs, chunksize=8), 1):
            if on_progress is not None:
                on_progress(done)
    return out
