"""The `omnieval` command as a user runs it: real subprocesses, real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _omnieval(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnieval.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_list_shows_registered_entries(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    result = _omnieval("list", env=subprocess_env, cwd=tmp_path)
    assert result.returncode == 0
    for name in ("vsync", "mcq", "random", "constant", "vsync-solver", "choice-vsync", "accuracy"):
        assert name in result.stdout


def test_user_errors_are_one_clear_line_and_exit_2(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    missing = _omnieval(
        "run",
        "--benchmark",
        "vsync",
        "--data",
        str(tmp_path / "nope"),
        "--models",
        "random",
        env=subprocess_env,
        cwd=tmp_path,
    )
    assert missing.returncode == 2
    assert "no V-SYNC dataset under" in missing.stderr and "Traceback" not in missing.stderr
    nothing = _omnieval("run", "--models", "random", env=subprocess_env, cwd=tmp_path)
    assert nothing.returncode == 2 and "names no benchmark" in nothing.stderr
    unknown = _omnieval(
        "run", "--benchmark", "nosuch", "--models", "random", env=subprocess_env, cwd=tmp_path
    )
    assert unknown.returncode == 2 and "unknown benchmark 'nosuch'" in unknown.stderr


def test_generate_run_resume_rescore(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    gen = _omnieval(
        "generate",
        "vsync",
        "--out",
        "ed",
        "--n",
        "4",
        "--seed",
        "5",
        "--speech",
        "formant",  # pinned: never whichever engine the host happens to have
        env=subprocess_env,
        cwd=tmp_path,
    )
    assert gen.returncode == 0, gen.stderr
    assert (tmp_path / "ed/data/level_1/dataset.json").is_file()
    run_args = (
        "run",
        "--benchmark",
        "vsync",
        "--data",
        "ed",
        "--models",
        "constant,random",
        "--variants",
        "avt,vt",
        "--name",
        "cli",
    )
    first = _omnieval(*run_args, env=subprocess_env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "constant" in first.stdout and "16 trials, 16 answered, 0 failed" in first.stdout
    second = _omnieval(*run_args, env=subprocess_env, cwd=tmp_path)
    assert second.returncode == 0 and "resuming" in second.stderr and "16 of 16" in second.stderr
    rescored = _omnieval("rescore", "runs/cli", env=subprocess_env, cwd=tmp_path)
    assert rescored.returncode == 0, rescored.stderr
    results = (tmp_path / "runs/cli/results.json").read_text()
    assert '"schema_id": "omnieval.results/2"' in results


def test_serve_command_answers_health(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    import json
    import time
    import urllib.error
    import urllib.request

    from tests.served import omnieval_serve

    with omnieval_serve(["--model", "constant"], subprocess_env, tmp_path) as url:
        health: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as reply:
                    health = json.loads(reply.read())
            except urllib.error.HTTPError as err:  # 503 while the model loads
                health = json.loads(err.read())
            if health.get("model_loaded"):
                break
            time.sleep(0.1)
        assert health.get("model_loaded") is True
