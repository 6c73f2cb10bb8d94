"""`omnieval demo --benchmark vmeval`: a small generated VMEvalKit edition, the reference video
models and the verifier, end to end in a subprocess; the rerun runs nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from omnieval.report.results import read_results

DEMO = [sys.executable, "-m", "omnieval.cli", "demo", "--benchmark", "vmeval"]


def test_vmeval_demo(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    first = subprocess.run([*DEMO, "--out", str(tmp_path)], env=env, capture_output=True,
                           text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    run_dir = tmp_path / "runs" / "vmeval-demo-n1-seed0"
    results = read_results(run_dir / "results.json")
    assert results.totals.trials == 27 and results.totals.failed == 0
    for task in ("vmeval/chess", "vmeval/maze", "vmeval/sudoku"):
        assert results.find("oracle-video", "default", task).metrics["solved"].value == 1.0
        assert results.find("still", "default", task).metrics["solved"].value == 0.0
        assert results.find("wrong-move", "default", task).metrics["solved"].value == 0.0
    again = subprocess.run([*DEMO, "--out", str(tmp_path)], env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "planned 27 trials, 27 already journaled" in (run_dir / "run.log").read_text()
    assert read_results(run_dir / "results.json") == results
