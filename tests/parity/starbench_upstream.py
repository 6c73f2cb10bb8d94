"""Write the STAR-Bench parity fixture by running upstream's own code.

This script is not a test and is not imported by the test suite. It imports STAR-Bench's dataset
module (`ALMEval_code/datasets/starbench.py`) from a checkout of the upstream repository (nothing
from it is copied here), runs upstream's own functions on the tables below, and writes what they
returned to `tests/parity/fixtures/starbench.json`. `tests/test_parity_starbench.py` then checks
`omnieval.benchmarks.starbench` (parity extraction and circular evaluation) against every row.

What runs, all methods of upstream's dataset classes (instances made without `__init__`, which
would read the release's meta files; the methods read no instance state):

- `extraction`: `MCQBaseDataset.evaluate_item(meta, response)`, i.e. upstream's
  `parse_multi_choice_response(response, meta["options"])` and its comparison with
  `meta["answer_letter"]`, for every (response, option set, answer) in `RESPONSES`;
- `rotation`: `RotationBasedDataset._prepare_options_and_audios(item, rotate_id=r)` (perception
  and spatial reasoning) for 2..6 options, every answer position and r = 0 .. n+1 (upstream runs
  r < n for perception and r < 3 for spatial; the rest shows what its slices do beyond that);
- `permutation`: `TemporalReasoningDataset._prepare_options_and_audios(line, rotate_id=r)` (which
  calls `_perm_by_roundrobin`) for every sub-category, sub-ids 0..6 and r = 0..6 (upstream runs
  r < 3): the clip order, the audio paths in slot order, the answer text and its letter.

Upstream's module imports torch, pandas, numpy, loguru (and, via `datasets/utils.py`, soundfile
and tqdm) at import time; none of them is used by those functions, so the script puts stubs for
them in `sys.modules` before importing it.

Usage (how the committed fixture was made, upstream commit 0daf8b0):

    G=$(path to a clone or mirror of https://github.com/InternLM/StarBench)
    mkdir /tmp/starbench-src
    git --git-dir=$G archive 0daf8b02f21db316f8bccc4319f5b98b83b82c00 ALMEval_code \\
        | tar -x -C /tmp/starbench-src
    python tests/parity/starbench_upstream.py --upstream /tmp/starbench-src \\
        --commit 0daf8b02f21db316f8bccc4319f5b98b83b82c00 \\
        --out tests/parity/fixtures/starbench.json

`--upstream` is the directory holding `ALMEval_code/`; `--commit` may be left out when it is a
git work tree (then `git rev-parse HEAD`). To add a case, append it to `RESPONSES` (in
`starbench_cases.py`) and rerun.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import platform
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

from starbench_cases import (  # siblings: the script runs as a file
    OPTION_SETS,
    PC_ITEMS,
    RESPONSES,
    RIGHT,
    RUN_RESPONSES,
    TR_ITEMS,
)
from upstream_checkout import commit_of

FIXTURE = Path(__file__).parent / "fixtures" / "starbench.json"
UPSTREAM = "https://github.com/InternLM/StarBench"

STUBBED = (
    "torch",
    "torch.utils",
    "torch.utils.data",
    "loguru",
    "soundfile",
    "tqdm",
)

class _Logger:
    """Upstream logs through loguru; its messages are dropped here."""

    def info(self, *args: Any, **kwargs: Any) -> None:
        return None

    warning = error = info


def _stub_heavy_imports() -> None:
    """Stand-ins for the modules upstream imports but the functions run here never use (its
    `evaluate` uses pandas and numpy, which are real)."""
    for name in STUBBED:
        sys.modules[name] = types.ModuleType(name)
    # the names upstream's module reads at import time: a base class, a logger
    setattr(sys.modules["torch.utils.data"], "Dataset", object)  # noqa: B010
    setattr(sys.modules["loguru"], "logger", _Logger())  # noqa: B010
    setattr(sys.modules["tqdm"], "tqdm", None)  # noqa: B010


def _extraction(upstream: Any) -> list[dict[str, Any]]:
    dataset = upstream.MCQBaseDataset.__new__(upstream.MCQBaseDataset)
    rows = []
    for response, set_name, answer_index in RESPONSES:
        options = OPTION_SETS[set_name]
        answer = options[answer_index]
        item = {"options": options, "answer": answer, "audio_paths": []}
        _, _, letter = dataset._prepare_options_and_audios(item)  # upstream's letter of the answer
        meta = {"options": options, "answer": answer, "answer_letter": letter}
        result = dataset.evaluate_item(meta, response)
        rows.append(
            {
                "response": response,
                "option_set": set_name,
                "options": options,
                "answer_letter": meta["answer_letter"],
                "prediction": result["prediction"],
                "is_correct": bool(result["is_correct"]),
            }
        )
    return rows


def _rotation(upstream: Any) -> list[dict[str, Any]]:
    dataset = upstream.RotationBasedDataset.__new__(upstream.RotationBasedDataset)
    rows = []
    option_lists = [[f"option {k}" for k in range(1, n + 1)] for n in range(2, 7)]
    option_lists += [["x", "y", "x"], ["same", "same"], ["p", "q", "p", "r"]]
    for options in option_lists:
        n = len(options)
        for answer_index, rotate_id in itertools.product(range(n), range(n + 2)):
            item = {"options": list(options), "answer": options[answer_index], "audio_paths": []}
            shown, _, letter = dataset._prepare_options_and_audios(item, rotate_id=rotate_id)
            rows.append(
                {
                    "options": options,
                    "answer": options[answer_index],
                    "rotate_id": rotate_id,
                    "perception_run": rotate_id < n,
                    "spatial_run": rotate_id < 3,
                    "shown_options": shown,
                    "answer_letter": letter,
                }
            )
    return rows


def _permutation(upstream: Any) -> list[dict[str, Any]]:
    dataset = upstream.TemporalReasoningDataset.__new__(upstream.TemporalReasoningDataset)
    # the six orderings, not in lexicographic order, so that letters and orders are unrelated
    orderings = OPTION_SETS["order6"]
    options = [orderings[k] for k in (3, 0, 5, 1, 4, 2)]
    clips = ["clip_1.wav", "clip_2.wav", "clip_3.wav"]
    rows = []
    for sub, subid, rotate_id in itertools.product(
        ("OSM", "ISSE", "TAO", "DSS", "ETC"), range(7), range(7)
    ):
        line = {"id": f"tr_{sub}_{subid}", "options": options, "audio_paths": clips}
        shown_options, audio_paths, answer, letter, order = dataset._prepare_options_and_audios(
            line, rotate_id=rotate_id
        )
        rows.append(
            {
                "id": line["id"],
                "subcategory": sub,
                "subid": subid,
                "rotate_id": rotate_id,
                "temporal_run": rotate_id < 3,
                "options": options,
                "shown_options": shown_options,
                "shuffled_seg_order": order,
                "audio_paths": audio_paths,
                "answer": answer,
                "answer_letter": letter,
            }
        )
    return rows


def _evaluate(dataset: Any, items: list[dict[str, Any]], runs: Any, scratch: Path) -> Any:
    """Upstream's inference loop without a model: each run's prompt (`build_prompt`), a
    response from `RUN_RESPONSES`, `evaluate_item`, one JSONL row per run; then `evaluate`."""
    dataset.dataset_root = "/data"
    dataset.data = items
    rows, k = [], 0
    for item in items:
        for rotate_id in runs(item):
            meta = dataset.build_prompt(item, rotate_id=rotate_id)["meta"]
            response = RUN_RESPONSES[k % len(RUN_RESPONSES)]
            k += 1
            if response == RIGHT:
                response = f"The answer is {meta['answer_letter']}."
            row = dataset.evaluate_item(meta, response)
            row["unique_id"] = f"{item['id']}@{rotate_id}"
            rows.append(row)
    path = scratch / f"{dataset.DATASET_ALIAS}_infer_results.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return {
        "items": items,
        "runs": [
            {
                "id": r["id"],
                "rotate_id": r["rotate_id"],
                "response": r["model_response"],
                "options": r["options"],
                "answer_letter": r["answer_letter"],
                "prediction": r["prediction"],
                "is_correct": bool(r["is_correct"]),
            }
            for r in rows
        ],
        "performance": dataset.evaluate(str(path), robust_eval=True),
    }


# Prompts: upstream's `build_prompt` of one item per dataset class, runs r = 0 and 1; audio
# values are reduced to their file names (upstream joins them with its dataset root).
PROMPT_ITEMS: dict[str, dict[str, Any]] = {
    "pc": {
        "id": "pc_p",
        "task": "pc",
        "category": "non-spatial",
        "sub-category": "pitch",
        "question": "Which clip is higher?",
        "options": ["the first", "the second", "equal"],
        "answer": "the second",
        "audio_paths": ["starbench_audios/pc/a.wav", "starbench_audios/pc/b.wav"],
    },
    "sr": {
        "id": "sr_p",
        "task": "sr",
        "category": "spatial",
        "sub-category": "direction",
        "question": "Where is the source?",
        "options": ["left", "right", "front", "behind"],
        "answer": "front",
        "audio_paths": ["starbench_audios/holistic_reasoning/spatial/s.wav"],
    },
    "tr": {
        "id": "tr_TAO_4",
        "task": "tr",
        "category": "order",
        "sub-category": "TAO",
        "question": "In which order did the sounds happen?",
        "options": list(OPTION_SETS["order6"]),
        "audio_paths": [
            "starbench_audios/tr/c1.wav",
            "starbench_audios/tr/c2.wav",
            "starbench_audios/tr/c3.wav",
        ],
        "global_caption": "A door opens, a dog barks, a car leaves.",
        "uncut_audio_path": "starbench_audios/tr/uncut.wav",
    },
}


def _prompts(upstream: Any) -> list[dict[str, Any]]:
    classes = {
        "pc": (upstream.PerceptionDataset, "pc"),
        "sr": (upstream.SpatialReasoningDataset, "sr"),
        "sr_ch": (upstream.SpatialReasoningChannelwiseDataset, "sr"),
        "tr": (upstream.TemporalReasoningDataset, "tr"),
        "tr_cap": (upstream.TemporalReasoningGivenCaptionDataset, "tr"),
        "tr_uncut": (upstream.TemporalReasoningGivenUncutAudioDataset, "tr"),
    }
    rows = []
    for alias, (cls, item_key) in classes.items():
        dataset = cls.__new__(cls)
        dataset.dataset_root = "/data"
        dataset.split_audio_dir = "/data/split"  # sr_ch's __init__ would split the audio
        for rotate_id in (0, 1):
            msg = dataset.build_prompt(dict(PROMPT_ITEMS[item_key]), rotate_id=rotate_id)
            parts = [
                {
                    "type": p["type"],
                    "value": Path(p["value"]).name if p["type"] == "audio" else p["value"],
                }
                for p in msg["prompts"]
            ]
            rows.append(
                {
                    "alias": alias,
                    "item": PROMPT_ITEMS[item_key],
                    "rotate_id": rotate_id,
                    "answer_letter": msg["meta"]["answer_letter"],
                    "parts": parts,
                }
            )
    return rows


def _aggregates(upstream: Any) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="starbench-upstream-"))
    orderings = OPTION_SETS["order6"]
    tr_items = [
        {
            "id": item_id,
            "task": "tr",
            "category": category,
            "sub-category": sub,
            "question": "In which order did the sounds happen?",
            "options": [orderings[k] for k in (3, 0, 5, 1, 4, 2)],
            "audio_paths": ["c1.wav", "c2.wav", "c3.wav"],
        }
        for item_id, category, sub in TR_ITEMS
    ]
    pc_items = [
        {
            "id": item_id,
            "task": "pc",
            "category": category,
            "sub-category": sub,
            "question": "Which one?",
            "options": [f"{sub} {k}" for k in range(n)],
            "answer": f"{sub} {(len(item_id) + n) % n}",
            "audio_paths": ["a.wav"],
        }
        for item_id, category, sub, n in PC_ITEMS
    ]
    temporal = upstream.TemporalReasoningDataset.__new__(upstream.TemporalReasoningDataset)
    perception = upstream.PerceptionDataset.__new__(upstream.PerceptionDataset)
    return {
        "functions": [
            "TemporalReasoningDataset.build_prompt / PerceptionDataset.build_prompt (meta)",
            "MCQBaseDataset.evaluate_item (each run)",
            "MCQBaseDataset.evaluate (tr: micro Total, By Category, By Sub-category)",
            "PerceptionDataset.evaluate (pc: macro over sub-categories of 2-decimal values)",
        ],
        "tr": _evaluate(temporal, tr_items, lambda item: range(3), scratch),
        "pc": _evaluate(perception, pc_items, lambda item: range(len(item["options"])), scratch),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--upstream", type=Path, required=True, help="directory holding ALMEval_code/"
    )
    parser.add_argument("--commit", help="commit of the checkout (default: git rev-parse HEAD)")
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args(argv)

    checkout = args.upstream.resolve()
    if not (checkout / "ALMEval_code" / "datasets" / "starbench.py").is_file():
        parser.error(f"{checkout} has no ALMEval_code/datasets/starbench.py")
    commit = args.commit or commit_of(checkout)
    if not commit:
        parser.error("--commit is needed when the checkout is not a git work tree")

    _stub_heavy_imports()
    sys.path.insert(0, str(checkout))
    upstream = importlib.import_module("ALMEval_code.datasets.starbench")

    extraction = _extraction(upstream)
    rotation = _rotation(upstream)
    permutation = _permutation(upstream)
    aggregates = _aggregates(upstream)
    prompts = _prompts(upstream)
    fixture = {
        "upstream": UPSTREAM,
        "commit": commit,
        "files": ["ALMEval_code/datasets/starbench.py", "ALMEval_code/datasets/__init__.py"],
        "functions": [
            "MCQBaseDataset.evaluate_item -> parse_multi_choice_response (extraction)",
            "RotationBasedDataset._prepare_options_and_audios (rotation)",
            "TemporalReasoningDataset._prepare_options_and_audios -> _perm_by_roundrobin"
            " (permutation)",
        ],
        "stubbed_imports": list(STUBBED),
        "generated_by": "python tests/parity/starbench_upstream.py --upstream <StarBench tree>"
        f" --commit {commit} --out tests/parity/fixtures/starbench.json",
        "python": platform.python_version(),
        "extraction": extraction,
        "rotation": rotation,
        "permutation": permutation,
        "aggregates": aggregates,
        "prompts": prompts,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    total = len(extraction) + len(rotation) + len(permutation)
    print(
        f"wrote {total} rows ({len(extraction)} extraction, {len(rotation)} rotation, "
        f"{len(permutation)} permutation) from {commit[:12]} to {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
