"""Write the spatial parity fixture by running upstream dyn-bench's own metric code.

This script is not a test and is not imported by the test suite. It imports dyn-bench's
`utils/cal_metrics.py` from a checkout of the upstream repository (nothing from it is copied
here), runs upstream's own functions on the cases below, and writes what they returned to
`tests/parity/fixtures/spatial.json`. `tests/test_parity_spatial.py` then checks
`omnieval.benchmarks.spatial` in its parity settings (`jf: band`, `missing_frames: skip`,
`qa_scoring: first-token`) against every row.

What runs:
- `jf`: `compute_jf_score(pred_masks, gt_masks, bound_th)` for every mask sequence in
  `mask_cases()` (uint8 0/255 masks, stored in the fixture run-length encoded, row-major, zeros
  first: `omnieval.benchmarks.spatial.masks.encode_rle`);
- `qa`: `compute_qa_accuracy(prediction, answer)` for every row of `RESPONSES`.

The module imports `colorama` at import time (for coloured prints); the script stubs it in
`sys.modules` when it is not installed. It needs numpy, scipy and Pillow.

Usage (how the committed fixture was made, upstream commit b5b3ce8):

    G=$(path to a clone or mirror of https://github.com/LilyYang0504/dyn-bench)
    mkdir /tmp/dynbench-src
    git --git-dir=$G archive b5b3ce8 utils | tar -x -C /tmp/dynbench-src
    python tests/parity/spatial_upstream.py --upstream /tmp/dynbench-src \\
        --commit $(git --git-dir=$G rev-parse b5b3ce8) --out tests/parity/fixtures/spatial.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from omnieval.benchmarks.spatial.masks import encode_rle  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "spatial.json"
UPSTREAM = "https://github.com/LilyYang0504/dyn-bench"

RESPONSES: list[tuple[str, str]] = [
    ("A", "A"),
    ("a", "A"),
    ("A.", "A"),
    ("B,", "B"),
    ("C!?", "C"),
    ("  D  ", "D"),
    ("(A)", "A"),
    ("The answer is A", "A"),
    ("A) red sphere", "A"),
    ("B. the blue box", "B"),
    ("answer: B", "B"),
    ("", "A"),
    ("\n\nC\n", "C"),
    ("A", " a "),
    ("AB", "A"),
    ("D:", "D"),
]


def _square(shape: tuple[int, int], top: int, left: int, h: int, w: int) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    mask[max(top, 0) : max(top + h, 0), max(left, 0) : max(left + w, 0)] = 255
    return mask


def mask_cases() -> list[dict[str, Any]]:
    """Named sequences (pred, gt, bound_th) covering the edge cases J and F must agree on."""
    shape = (12, 16)
    empty = np.zeros(shape, np.uint8)
    full = np.full(shape, 255, np.uint8)
    sq = _square(shape, 3, 4, 5, 6)
    cases: list[dict[str, Any]] = [
        {"name": "both empty", "pred": [empty] * 3, "gt": [empty] * 3},
        {"name": "pred empty", "pred": [empty] * 2, "gt": [sq] * 2},
        {"name": "gt empty", "pred": [sq] * 2, "gt": [empty] * 2},
        {"name": "full both", "pred": [full], "gt": [full]},
        {"name": "full vs square", "pred": [full], "gt": [sq]},
        {"name": "no prediction at all", "pred": [], "gt": [sq] * 3},
        {"name": "pred shorter", "pred": [sq] * 2, "gt": [sq, sq, empty, empty]},
        {"name": "pred longer", "pred": [sq, empty, sq, sq], "gt": [sq, sq]},
        {
            "name": "border halves",
            "pred": [_square(shape, 0, 0, 12, 8)],
            "gt": [_square(shape, 0, 0, 12, 7)],
        },
        {
            "name": "corner",
            "pred": [_square(shape, 9, 12, 3, 4)],
            "gt": [_square(shape, 8, 11, 4, 5)],
        },
    ]
    for shift in (0, 1, 2, 3, 5):
        cases.append(
            {
                "name": f"square shift {shift}",
                "pred": [_square(shape, 3, 4 + shift, 5, 6)],
                "gt": [sq],
            }
        )
        line_p = _square(shape, 6 + min(shift, 5), 2, 1, 12)
        cases.append(
            {"name": f"line shift {shift}", "pred": [line_p], "gt": [_square(shape, 6, 2, 1, 12)]}
        )
        cases.append(
            {
                "name": f"pixel shift {shift}",
                "pred": [_square(shape, 5, 5 + shift, 1, 1)],
                "gt": [_square(shape, 5, 5, 1, 1)],
            }
        )
    for th in (1, 3):
        cases.append(
            {
                "name": f"square shift 2, th {th}",
                "pred": [_square(shape, 3, 6, 5, 6)],
                "gt": [sq],
                "bound_th": th,
            }
        )
    big = (24, 32)
    cases.append(
        {
            "name": "pred at half size",
            "pred": [_square(shape, 3, 4, 5, 6)],
            "gt": [_square(big, 6, 8, 10, 12)],
        }
    )
    cases.append(
        {
            "name": "pred at half size, odd",
            "pred": [_square((7, 9), 1, 2, 3, 4)],
            "gt": [_square((13, 19), 2, 5, 6, 9)],
        }
    )
    rng = np.random.default_rng(0)
    for index in range(12):
        yy, xx = np.mgrid[: shape[0], : shape[1]]
        seq_p, seq_g = [], []
        for _ in range(3):
            cy, cx = rng.uniform(0, 12), rng.uniform(0, 16)
            ry, rx = rng.uniform(1, 6), rng.uniform(1, 8)
            gt = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.uint8) * 255
            dy, dx = rng.normal(0, 1.5, size=2)
            pred = ((yy - cy - dy) / ry) ** 2 + ((xx - cx - dx) / rx) ** 2 <= 1
            seq_p.append(pred.astype(np.uint8) * 255)
            seq_g.append(gt)
        cases.append({"name": f"random blobs {index}", "pred": seq_p, "gt": seq_g})
    return cases


def _load(upstream: Path) -> Any:
    if importlib.util.find_spec("colorama") is None:
        stub = types.ModuleType("colorama")
        stub.Fore = types.SimpleNamespace(RED="", YELLOW="", GREEN="", CYAN="", RESET="")  # type: ignore[attr-defined]
        stub.init = lambda **_: None  # type: ignore[attr-defined]
        sys.modules["colorama"] = stub
    spec = importlib.util.spec_from_file_location(
        "dynbench_cal_metrics", upstream / "utils" / "cal_metrics.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _encode(masks: list[np.ndarray]) -> list[dict[str, Any]]:
    return [{"size": list(m.shape), "rle": encode_rle(m > 0)} for m in masks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=Path, required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args()
    metrics = _load(args.upstream)
    jf_rows = []
    for case in mask_cases():
        th = case.get("bound_th", 2)
        result = metrics.compute_jf_score(list(case["pred"]), list(case["gt"]), th)
        jf_rows.append(
            {
                "name": case["name"],
                "bound_th": th,
                "pred": _encode(case["pred"]),
                "gt": _encode(case["gt"]),
                "upstream": {k: float(v) for k, v in result.items()},
            }
        )
    qa_rows = [
        {"prediction": p, "answer": a, "upstream": float(metrics.compute_qa_accuracy(p, a))}
        for p, a in RESPONSES
    ]
    fixture = {
        "upstream": UPSTREAM,
        "commit": args.commit,
        "file": "utils/cal_metrics.py",
        "command": f"python tests/parity/spatial_upstream.py --upstream DIR --commit {args.commit}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jf": jf_rows,
        "qa": qa_rows,
    }
    args.out.write_text(json.dumps(fixture, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(jf_rows)} J&F rows and {len(qa_rows)} QA rows to {args.out}")


if __name__ == "__main__":
    main()
