"""The skip report lists every skip with its reason; on CI a required skip fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SUITE = """
import pytest

def test_runs() -> None:
    assert True

@pytest.mark.skipif(True, reason="needs the frobnicator program")
def test_needs_a_program() -> None:
    assert True

def test_skips_inside() -> None:
    pytest.skip("no frobnicator model either")
"""


def _pytest(
    tmp_path: Path, ci: bool, suite: str = SUITE
) -> subprocess.CompletedProcess[str]:
    """Run `suite` as its own pytest session with the skip report plugin."""
    (tmp_path / "test_sample.py").write_text(suite)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("OMNIEVAL_CI", None)
    if ci:
        env["OMNIEVAL_CI"] = "1"
    plugins = ["-p", "tests.skip_report", "-p", "no:cacheprovider"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_skip_is_listed_with_its_reason(tmp_path: Path) -> None:
    done = _pytest(tmp_path, ci=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "skipped tests (2)" in out
    assert "SKIPPED test_sample.py::test_needs_a_program: needs the frobnicator program" in out
    assert "SKIPPED test_sample.py::test_skips_inside: no frobnicator model either" in out


def test_a_required_skip_fails_the_run_on_ci(tmp_path: Path) -> None:
    done = _pytest(tmp_path, ci=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED: 2 test(s) that CI must run were skipped" in done.stdout


def test_no_skip_is_reported_as_none(tmp_path: Path) -> None:
    done = _pytest(tmp_path, ci=True, suite="def test_runs() -> None:\n    assert True\n")
    assert done.returncode == 0, done.stdout
    assert "skipped tests (0)" in done.stdout and "\nnone\n" in done.stdout
