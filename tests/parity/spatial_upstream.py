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
- `qa`: `compute_qa_accuracy(prediction, answer)` for every row of `RESPONSES` (adversarial
  model outputs included);
- `gt`: `load_gt_masks(mask_dir, object_id, n_frames)` on the mask folders of `gt_cases()`
  (files stored base64 in the fixture: gaps, PNG modes L/RGB/P/LA/I;16, JPEG, png-before-jpg,
  other objects' files);
- `categories`: `compute_category_metrics(CATEGORY_RESULTS)`, and eval.py's Overall (the mean of
  the category numbers present, the two lines of its `main`, recomputed here with numpy).

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
import base64
import importlib.util
import io
import json
import platform
import sys
import tempfile
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
    # adversarial model outputs
    ("**A**", "A"),
    ("A\u200b", "A"),
    ("\u00a0A", "A"),
    ("\uff21", "A"),
    ("a)", "A"),
    ("A...", "A"),
    ("A?!.", "A"),
    ("A\nB", "A"),
    ("Answer: A", "A"),
    ("I cannot answer this question.", "A"),
    (" ", "A"),
    ("B", "A"),
    ("c", "C"),
    ("D" * 1000, "D"),
    ("A" + " x" * 5000, "A"),
    ("\uff42", "B"),
    ("\tA\t", "A"),
    ("A,B", "A"),
    ("(B)", "B"),
    ("<A>", "A"),
    ("A\u3002", "A"),
    ("option A", "A"),
    ("a.", " a "),
    ("b", "b"),
    ("A-", "A"),
    ("A;", "A"),
    ("\u00e0", "A"),
    ("A\u2028B", "A"),
    ("```A```", "A"),
    ("B. Because the camera moves left.", "B"),
    ('"C"', "C"),
    ("D!", "d"),
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
    grid = np.random.default_rng(7)
    for index, (p_shape, g_shape) in enumerate(
        [((1, 4), (9, 14)), ((4, 1), (14, 9)), ((7, 5), (25, 30)), ((25, 30), (7, 5)),
         ((13, 17), (12, 16)), ((48, 64), (12, 16)), ((12, 16), (48, 64)), ((3, 3), (10, 10)),
         ((10, 10), (3, 3)), ((33, 47), (17, 22)), ((18, 23), (1, 4)), ((97, 113), (40, 39))]
    ):  # fmt: skip
        pred = (grid.random(p_shape) > 0.6).astype(np.uint8) * 255
        gt = (grid.random(g_shape) > 0.6).astype(np.uint8) * 255
        cases.append(
            {"name": f"wrong size {index} {p_shape}->{g_shape}", "pred": [pred], "gt": [gt]}
        )
    thin = np.zeros((48, 64), np.uint8)
    thin[20, 5:60] = 255  # a one-pixel line that nearest downscaling can drop
    cases.append({"name": "thin line at 4x", "pred": [thin], "gt": [np.zeros((12, 16), np.uint8)]})
    cases.append({"name": "all-empty ground truth", "pred": [sq, empty, full], "gt": [empty] * 3})
    cases.append({"name": "empty vs full", "pred": [empty], "gt": [full]})
    for th in (0, 5):
        cases.append(
            {"name": f"square shift 1, th {th}", "pred": [_square(shape, 3, 5, 5, 6)], "gt": [sq],
             "bound_th": th}
        )  # fmt: skip
    one = np.zeros((1, 1), np.uint8)
    cases.append({"name": "1x1 masks", "pred": [one, one + 255], "gt": [one + 255, one + 255]})
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


def _image_bytes(mask: np.ndarray, mode: str, fmt: str) -> bytes:
    """A mask saved as an image file of `mode` (L, RGB, P, LA, I;16) in `fmt` (PNG, JPEG)."""
    from PIL import Image

    on = mask > 0
    if mode == "RGB":
        rgb = np.zeros((*mask.shape, 3), np.uint8)
        rgb[on] = (200, 10, 10)
        image = Image.fromarray(rgb, "RGB")
    elif mode == "P":
        image = Image.fromarray(on.astype(np.uint8), "L").convert("P")
        image.putpalette([0, 0, 0, 128, 0, 0] + [0, 0, 0] * 254)
    elif mode == "LA":
        image = Image.fromarray(mask, "L").convert("LA")
    elif mode == "I;16":
        image = Image.fromarray(on.astype(np.uint16) * 300)
    else:
        image = Image.fromarray(mask, "L")
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def gt_cases() -> list[dict[str, Any]]:
    """Ground-truth mask folders for upstream's `load_gt_masks` (file name -> image bytes)."""
    shape = (12, 16)
    sq = _square(shape, 3, 4, 5, 6)
    small = _square((6, 8), 1, 1, 3, 3)
    png = _image_bytes(sq, "L", "PNG")
    return [
        {"name": "leading gap", "object_id": "obj_1", "n": 3,
         "files": {"frame_0001_obj1.png": png}},
        {"name": "no file at all", "object_id": "obj_1", "n": 2, "files": {}},
        {"name": "gaps take the previous size", "object_id": "car_2", "n": 4,
         "files": {"frame_0000_obj2.png": png,
                   "frame_0002_obj2.png": _image_bytes(small, "L", "PNG")}},
        {"name": "rgb png", "object_id": "x_1", "n": 1,
         "files": {"frame_0000_obj1.png": _image_bytes(sq, "RGB", "PNG")}},
        {"name": "palette png", "object_id": "x_1", "n": 1,
         "files": {"frame_0000_obj1.png": _image_bytes(sq, "P", "PNG")}},
        {"name": "grey+alpha png", "object_id": "x_1", "n": 1,
         "files": {"frame_0000_obj1.png": _image_bytes(sq, "LA", "PNG")}},
        {"name": "16-bit png", "object_id": "x_1", "n": 1,
         "files": {"frame_0000_obj1.png": _image_bytes(sq, "I;16", "PNG")}},
        {"name": "jpeg with artefacts", "object_id": "x_1", "n": 1,
         "files": {"frame_0000_obj1.jpg": _image_bytes(sq, "L", "JPEG")}},
        {"name": "png wins over jpg", "object_id": "x_1", "n": 1,
         "files": {"frame_0000_obj1.png": png,
                   "frame_0000_obj1.jpg": _image_bytes(small, "L", "JPEG")}},
        {"name": "another object's file", "object_id": "x_1", "n": 2,
         "files": {"frame_0000_obj2.png": png, "frame_0001_obj1.png": png}},
        {"name": "obj10 is not obj1", "object_id": "x_1", "n": 1,
         "files": {"frame_0000_obj10.png": png}},
    ]  # fmt: skip


#: per-item results for upstream's `compute_category_metrics` (the per-category numbers of its
#: summary and saved overall.txt; the Overall is the mean of the numbers present)
CATEGORY_RESULTS: list[dict[str, Any]] = [
    {"category": "Camera-Object", "is_segmentation": False, "accuracy": 1.0},
    {"category": "Camera-Object", "is_segmentation": False, "accuracy": 0.0},
    {"category": "Camera-Object", "is_segmentation": False, "accuracy": 1.0},
    {"category": "Camera-Object", "is_segmentation": True, "J&F": 0.731},
    {"category": "Inter-Object", "is_segmentation": True, "J&F": 0.25},
    {"category": "Inter-Object", "is_segmentation": True, "J&F": 0.0},
    {"category": "Inter-Object", "is_segmentation": True, "J&F": 1.0},
    {"category": "Object-Scene", "is_segmentation": False, "accuracy": 0.0},
    *({"category": "Object-Scene", "is_segmentation": False, "accuracy": float(k % 3 == 0)}
      for k in range(11)),
]  # fmt: skip


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
    gt_rows = []
    for case in gt_cases():
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in case["files"].items():
                (Path(tmp) / name).write_bytes(data)
            masks = metrics.load_gt_masks(tmp, case["object_id"], case["n"])
        gt_rows.append(
            {
                "name": case["name"],
                "object_id": case["object_id"],
                "n": case["n"],
                "files": {k: base64.b64encode(v).decode() for k, v in case["files"].items()},
                "upstream": _encode(masks),  # upstream binarises them with `> 0`
            }
        )
    categories = metrics.compute_category_metrics(CATEGORY_RESULTS)
    present = [v for c in categories.values() for k, v in c.items() if not k.endswith("Count")]
    fixture = {
        "upstream": UPSTREAM,
        "commit": args.commit,
        "file": "utils/cal_metrics.py",
        "command": f"python tests/parity/spatial_upstream.py --upstream DIR --commit {args.commit}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jf": jf_rows,
        "qa": qa_rows,
        "gt": gt_rows,
        "categories": {
            "results": CATEGORY_RESULTS,
            "upstream": {c: {k: float(v) for k, v in m.items()} for c, m in categories.items()},
            # eval.py's Overall: np.mean of the category numbers present, in its order
            "overall": float(np.mean(present)),
        },
    }
    args.out.write_text(json.dumps(fixture, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(jf_rows)} J&F rows and {len(qa_rows)} QA rows to {args.out}")


if __name__ == "__main__":
    main()
