"""Scoring AVI-Bench at its published size (5,864 items) in both modes.

    python bench/bench_avibench.py [--seed 0]

Writes a data.json-only edition with the published per-stage sizes (perception 1,494,
understanding 808, reasoning 1,472, sensation 2,090; split over the 15 task folders, pre-questions
included) and a synthetic answer per item (right, wrong, unreadable, over-long or empty, in
fixed shares), loads it with the AVI-Bench loader, loads the caption model once, then times per
mode: rule extraction + per-trial scores of every item ("score"), and the aggregation
(gates, groups, corpus metrics with their bootstrap intervals, the stage/overall/L1/L2 tree).
Target (issue 8): both modes, caption similarity included, under 10 s in all. Figures go to
docs/performance.md; nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnieval.benchmarks.avibench.benchmark import AviBenchmark  # noqa: E402
from omnieval.benchmarks.avibench.captions import shared_sbert  # noqa: E402
from omnieval.benchmarks.avibench.layout import TASKS  # noqa: E402
from omnieval.benchmarks.avibench.task import AviTask  # noqa: E402
from omnieval.types import TrialContext, TrialRecord  # noqa: E402
from tests.avibench_scoring import aggregate_records, score_task  # noqa: E402

#: entries per task folder (formal + pre), summing to the published stage sizes
SIZES = {
    "AMIC": 518, "VMIC": 400, "AVL": 300, "AVM": 276,  # 1,494
    "VAR": 300, "AVR": 300, "AVC": 208,  # 808
    "AVH": 300, "VAH": 300, "AVQA": 572, "AVLG": 300,  # 1,472
    "ASQA": 600, "VSQA_I": 620, "VSQA_V": 580, "AVSQA": 290,  # 2,090
}  # fmt: skip
YES_NO = ["yes", "no", "not sure"]
COLOURS = ["red", "blue", "green", "yellow", "not sure"]
CLASSES = ["dog", "cat", "car", "bird", "drum", "violin"]
WORDS = ("a", "dog", "barks", "while", "car", "passes", "and", "bell", "rings", "in", "the",
         "distance", "near", "river")  # fmt: skip
WRONG = {
    "choice": "not sure",
    "multi": "#yellow#",
    "counts": "{'dog': 9}",
    "boxes": "{'dog_1': [0.1, 0.1, 0.2, 0.2]}",
    "frames": "{'frame_0': None}",
    "indices": "[9, 8, 7, 6, 5, 4, 3]",
}
DEFINITIONS = (
    "havib_constants = {"
    + ", ".join(f"'{t}': {{'yn': {YES_NO!r}, 'colours': {COLOURS!r}}}" for t in TASKS)
    + "}\n"
)


def _entry(eid: str, task: str, answer: Any, options: str | None, text: str) -> dict[str, Any]:
    return {
        "id": eid,
        "task": task,
        "subtask": "bench" if TASKS[task][1] in ("choice", "multi") else None,
        "input": {"question": {"prompt": None, "text": text, "options": options}},
        "output": {"question_answer": answer},
    }


def _formal(task: str, k: int, rng: random.Random) -> dict[str, Any]:
    shape = TASKS[task][1]
    eid = f"{k:05d}"
    if shape == "choice":
        if task == "AVQA" and k % 4 == 0:
            return _entry(eid, task, str(rng.randint(0, 5)), None, f"How many? {k}")
        return _entry(eid, task, rng.choice(YES_NO[:2]), "yn", f"Question {k}?")
    if shape == "multi":
        answer = ";".join(sorted(rng.sample(COLOURS[:4], rng.randint(1, 2))))
        return _entry(eid, task, answer, "colours", f"Which colours? {k}")
    if shape == "counts":
        chosen = rng.sample(CLASSES, rng.randint(1, 3))
        return _entry(eid, task, {c: rng.randint(1, 12) for c in chosen}, None, f"Count {k}")
    if shape == "boxes":
        boxes = {f"{c}_1": [rng.randint(0, 300), rng.randint(0, 200), 60, 40]
                 for c in rng.sample(CLASSES, rng.randint(1, 2))}  # fmt: skip
        return _entry(eid, task, {"bbox": boxes, "original_wh": [640, 360]}, None, f"Where {k}")
    if shape == "frames":
        frames = {f"frame_{f}": (None if rng.random() < 0.2 else [100 + 5 * f, 80, 120, 90])
                  for f in range(10)}  # fmt: skip
        return _entry(eid, task, {"bbox": frames, "original_wh": [640, 360]}, None, f"Track {k}")
    if shape == "indices":
        return _entry(eid, task, sorted(rng.sample(range(10), rng.randint(1, 3))), None, f"R {k}")
    refs = [" ".join(rng.sample(WORDS, 8)) for _ in range(2)]
    return _entry(eid, task, refs, None, f"Describe {k}")


def write_edition(root: Path, seed: int) -> None:
    rng = random.Random(seed)
    root.mkdir(parents=True)
    (root / "definitions.py").write_text(DEFINITIONS, encoding="utf-8")
    for task, size in SIZES.items():
        items: list[dict[str, Any]] = []
        paired = task in ("ASQA", "VSQA_I", "VSQA_V", "AVSQA")
        for k in range(size // 2 if paired else size):
            items.append(_formal(task, k, rng))
            if paired:
                items.append(_entry(f"pre_{k:05d}", task, "yes", "yn", f"Anything? {k}"))
        folder = root / "levels" / TASKS[task][0] / task
        folder.mkdir(parents=True)
        (folder / "data.json").write_text(json.dumps(items), encoding="utf-8")


def answer_text(task: AviTask, ctx: TrialContext, rng: random.Random) -> str:
    """Right (55 %), wrong (25 %), unreadable (12 %), over-long (5 %) or empty (3 %)."""
    draw = rng.random()
    right = task.reference_answer(ctx)
    if draw < 0.55:
        return f"The answer is {right}" if task.shape == "choice" else right
    if draw < 0.80:
        return WRONG.get(task.shape, "an engine hums loudly")
    if draw < 0.92:
        return "I am not able to tell from this input."
    if draw < 0.97:
        return right + " " + "because " * 60
    return ""


def score_all(bench: AviBenchmark, seed: int) -> tuple[list[TrialRecord], float, float]:
    """Every item's record; total seconds and the seconds spent on AVC (captions)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    records: list[TrialRecord] = []
    captions = 0.0
    for task in bench._tasks:
        task_started = time.perf_counter()
        records += score_task(task, lambda t, ctx: answer_text(t, ctx, rng), model="synthetic")
        if task.shape == "caption":
            captions += time.perf_counter() - task_started
    return records, time.perf_counter() - started, captions


def aggregate_all(bench: AviBenchmark, records: list[TrialRecord]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = aggregate_records(bench, records)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "edition"
        write_edition(root, args.seed)
        started = time.perf_counter()
        benches = {m: AviBenchmark(root, mode=m) for m in ("default", "parity")}
        items = sum(len(t.samples()) for t in benches["default"].tasks())
        benches["parity"].tasks()
        loaded = time.perf_counter() - started
        print(f"items: {items} (loaded both modes in {loaded:.2f} s)")
        started = time.perf_counter()
        shared_sbert()._load()
        print(f"caption model load: {time.perf_counter() - started:.2f} s (not in the target)")
        total = 0.0
        for mode, bench in benches.items():
            records, scored, captions = score_all(bench, args.seed)
            result, aggregated = aggregate_all(bench, records)
            total += scored + aggregated
            overall = next(n for n in result.nodes if n.node == "avibench:overall")
            print(
                f"{mode:8s} score {scored:5.2f} s ({len(records) / scored:5.0f} items/s; AVC "
                f"captions {captions:4.2f} s)  aggregate {aggregated:5.2f} s  "
                f"overall {overall.value.value:.4f}"
            )
        print(f"both modes: {total:.2f} s (target < 10 s)")


if __name__ == "__main__":
    main()
