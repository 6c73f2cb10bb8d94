"""`.ci/run` fails, by name, when a program the tests need is missing and cannot be installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bin_without(tmp_path: Path, programs: tuple[str, ...]) -> Path:
    """A PATH directory holding only the given programs (no apt-get, ffmpeg or espeak-ng)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in programs:
        found = shutil.which(name)
        assert found, name
        (bin_dir / name).symlink_to(found)
    return bin_dir


def _run_ci(bin_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`.ci/run` with only `bin_dir` on PATH."""
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    return subprocess.run(
        ["bash", str(ROOT / ".ci" / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def test_without_apt_get_it_names_what_is_missing_and_fails(tmp_path: Path) -> None:
    bin_dir = _bin_without(tmp_path, ("bash", "dirname", "python", "pip"))
    done = _run_ci(bin_dir, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "missing programs the tests need: ffmpeg espeak-ng chromium" in done.stderr
    assert "no apt-get here" in done.stderr
    assert "pytest" not in done.stdout  # stopped before the test run


def test_a_failing_apt_get_fails_ci(tmp_path: Path) -> None:
    bin_dir = _bin_without(tmp_path, ("bash", "dirname", "python", "pip"))
    fake = bin_dir / "apt-get"  # an apt-get that cannot reach its mirrors
    fake.write_text("#!/bin/sh\necho 'E: could not resolve deb.debian.org' >&2\nexit 100\n")
    fake.chmod(0o755)
    done = _run_ci(bin_dir, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "could not install ffmpeg espeak-ng" in done.stderr


def test_ci_requires_every_test_to_run() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "export OMNIEVAL_CI=1" in lines
    quickstart = next(i for i, line in enumerate(lines) if line.startswith("pip install -e"))
    assert lines.index("export OMNIEVAL_CI=1") < quickstart
    assert not any("warning:" in line for line in lines)  # nothing downgrades to a warning
