"""Write the AVI-Bench scoring parity fixture by running upstream's own code.

This script is not a test and is not imported by the test suite. It imports AVI-Bench's
`eval/eval.py` and `eval/level_metrics/` from a checkout of the upstream repository (nothing
from it is copied here), writes the data.json and refined-prediction files of the tables below
in upstream's layout, runs upstream's `evaluate_model` on them (every task's scorer, and the
pooled VSQA) once per scenario (`scenarios()`: the mixed tables, all adversarial rows pooled per
task, repeated answers, then one scenario per row index with one table per task), and writes
the scenarios with what upstream returned for each to
`tests/parity/fixtures/avibench.json`. `tests/test_avibench_parity.py` then checks
`omnieval.benchmarks.avibench` in `mode: parity` against every task score.

Upstream's eval imports modules it does not use for these scorers and that cannot run offline:
`nltk` (downloads wordnet at import), `level_metrics/__init__.py` (imports
`agent_eval_formatting`, which raises without OpenAI keys), `test_cider`, `caption_scores` and
`pycocoevalcap`. The script puts stubs for them in `sys.modules` and registers `level_metrics` as
a bare package, so its `__init__` is not run. AVC (FENSE through aac-metrics and its models) is
not part of the fixture: upstream's `evaluate_model` reports it as an error and goes on.

Usage (upstream commit 2ba4eb0b30a3634dbf3e2b5553607119ebe5e023):

    G=$(path to a clone of https://github.com/FudanCVL/AVI-Bench)
    mkdir /tmp/avi-2ba4eb0b
    git --git-dir=$G archive 2ba4eb0b eval | tar -x -C /tmp/avi-2ba4eb0b
    python tests/parity/avibench_upstream.py --checkout /tmp/avi-2ba4eb0b

(needs numpy, scikit-learn and sympy, which upstream's scorers import).

How the committed fixture was made: the repository mirror available here holds only upstream's
later README-only commits (2ba4eb0b is not in it), so the files of 2ba4eb0b were read from a
code index of that exact commit. A first version used a scratch checkout with the scorer
functions only and a `definitions.py` cut down to the entries the tables use. It was then
regenerated from the complete files of 2ba4eb0b (`eval/eval.py`,
`eval/level_metrics/{utils,data_utils,score_bbox,level_score,definitions}.py` in full, FENSE
caption function and upstream's whole `havib_constants` included; their lengths match the
index's character counts, except for data_utils' never-run `__main__` example, which was
re-wrapped) with `python tests/parity/avibench_upstream.py --checkout /tmp/avi-2ba4eb0b`: the
output was byte-identical to the first version. The adversarial scenarios were added later and
the fixture regenerated with the same checkout and command (numpy 2.4.6, scikit-learn 1.9.1).
Rerunning the command against a real `git archive` of 2ba4eb0b must give the same file.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

from avibench_cases import CATEGORY, scenarios  # a sibling: the script runs as a file

COMMIT = "2ba4eb0b30a3634dbf3e2b5553607119ebe5e023"
OUT = Path(__file__).resolve().parent / "fixtures" / "avibench.json"


def _stub(name: str, **attributes: Any) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


def _load_upstream(checkout: Path) -> tuple[Any, dict[str, Any]]:
    """Upstream's `eval` module (its unused offline-hostile imports stubbed) and definitions."""
    eval_dir = checkout / "eval"
    _stub("nltk", download=lambda *a, **k: True)
    for name in ("pycocoevalcap", "pycocoevalcap.cider"):
        _stub(name)
    _stub("pycocoevalcap.cider.cider", Cider=object)
    package = types.ModuleType("level_metrics")
    package.__path__ = [str(eval_dir / "level_metrics")]
    sys.modules["level_metrics"] = package
    for name in ("test_cider", "caption_scores", "agent_eval_formatting"):
        _stub(f"level_metrics.{name}")
    level_score = importlib.import_module("level_metrics.level_score")
    package.level_score = level_score  # type: ignore[attr-defined]
    definitions = importlib.import_module("level_metrics.definitions").havib_constants
    sys.path.insert(0, str(eval_dir))
    return importlib.import_module("eval"), definitions


def run_scenario(upstream_eval: Any, tables: dict[str, list[Any]]) -> dict[str, Any]:
    """Upstream's `evaluate_model` on one set of task tables (data.json + refined file each)."""
    with tempfile.TemporaryDirectory() as tmp:
        data_root, refined = Path(tmp) / "levels", Path(tmp) / "refined"
        for task, rows in tables.items():
            folder = data_root / CATEGORY[task] / task
            folder.mkdir(parents=True)
            (folder / "data.json").write_text(json.dumps([e for e, _ in rows]))
            preds = [
                None if p is None else {"task": task, "subtask": None, "id": e["id"], "predict": p}
                for e, p in rows
            ]
            target = refined / "model" / "tasks" / f"{task}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(preds))
        # eval.py reads these at import: set both the environment and its module globals
        settings = {
            "REFINED_DIR": str(refined),
            "DATA_ROOT": str(data_root),
            "EVAL_OUTPUT_DIR": str(Path(tmp) / "out"),
        }
        os.environ.update(settings)
        for name, value in settings.items():
            setattr(upstream_eval, name, value)
        scores: dict[str, Any] = upstream_eval.evaluate_model("model")
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    upstream_eval, havib = _load_upstream(args.checkout)
    used: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for name, tables in scenarios():
        for task, rows in tables.items():
            for e, _ in rows:
                key = e["input"]["question"]["options"]
                if isinstance(key, str) and key in havib[task]:
                    used.setdefault(task, {})[key] = havib[task][key]
        out.append(
            {
                "name": name,
                "tasks": {
                    task: {"data": [e for e, _ in rows], "predictions": [p for _, p in rows]}
                    for task, rows in tables.items()
                },
                "upstream": run_scenario(upstream_eval, tables),
            }
        )
    fixture = {
        "upstream_url": "https://github.com/FudanCVL/AVI-Bench",
        "commit": COMMIT,
        "command": "python tests/parity/avibench_upstream.py --checkout <checkout of 2ba4eb0b>",
        "definitions": used,
        "scenarios": out,
    }
    args.out.write_text(json.dumps(fixture, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(out)} scenarios to {args.out}")


if __name__ == "__main__":
    main()
