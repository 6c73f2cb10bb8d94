"""`omnieval avibench export` as a user runs it: a real oracle run on the tiny hand-written
edition, then the command in a subprocess (and the module entry point, which must agree)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from omnieval import api

from .avibench_fixture import write_edition

FIELDS = [
    *("--model", "oracle", "--model-name", "Oracle", "--provider", "omnieval"),
    *("--release-date", "2026-01-01", "--release-url", "https://example.org/oracle"),
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("avi-export")
    outcome = api.evaluate(
        {
            "name": "avi-export",
            "output": str(root / "runs"),
            "progress": False,
            "benchmarks": [{"name": "avibench", "args": {"data_dir": str(write_edition(root))}}],
            "models": ["oracle"],
        }
    )
    return outcome.run_dir


def _call(
    module: str, args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_subcommand_writes_a_validated_entry(
    run_dir: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    target = tmp_path / "entry.json"
    done = _call(
        "omnieval.cli", ["avibench", "export", str(run_dir), *FIELDS, "--out", str(target)],
        subprocess_env, tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"wrote {target}" in done.stdout + done.stderr
    entry = json.loads(target.read_text(encoding="utf-8"))
    assert entry["model_id"] == "oracle" and entry["coverage"]["tasks_completed"] == 14
    assert entry["scores"]["stages"]["perception"] == 100.0
    assert entry["scores"]["tasks"]["AVLG"] == 100.0
    assert entry["scores"]["taxonomy"]["l3_stage"] is None
    # the module entry point still works and writes the same entry (to stdout here)
    module = _call("omnieval.benchmarks.avibench.export", [str(run_dir), *FIELDS], subprocess_env,
                   tmp_path)  # fmt: skip
    assert module.returncode == 0, module.stderr[-2000:]
    assert json.loads(module.stdout) == entry


def test_the_subcommand_refuses_bad_input_with_one_clear_line(
    run_dir: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    plain_http = [*FIELDS[:-1], "http://example.org/oracle"]
    refused = _call("omnieval.cli", ["avibench", "export", str(run_dir), *plain_http],
                    subprocess_env, tmp_path)  # fmt: skip
    assert refused.returncode == 2 and "https" in refused.stderr
    missing = _call("omnieval.cli", ["avibench", "export", str(tmp_path), *FIELDS],
                    subprocess_env, tmp_path)  # fmt: skip
    assert missing.returncode == 2
    assert "results.json not found" in missing.stderr and "Traceback" not in missing.stderr
    unknown = _call("omnieval.cli", ["avibench", "export", str(run_dir), *FIELDS[2:],
                    "--model", "nobody"], subprocess_env, tmp_path)  # fmt: skip
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no AVI-Bench scores for model 'nobody'" in unknown.stderr and "oracle" in unknown.stderr
