"""A key set in `.env` never appears in the manifest, journal, logs, results or exports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import write_mcq

SECRET = "sk-test-4f9a8b7c6d5e4f3a2b1c"


def test_dotenv_key_stays_out_of_every_output(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / ".env").write_text(f"OMNIEVAL_TEST_SECRET={SECRET}\n")
    mcq = write_mcq(work / "mcq.jsonl", 30)
    (work / "run.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "secret",
                "plugins": ["omnieval_testmodels"],
                "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
                "models": [
                    {
                        "alias": "keyed",
                        "provider": "test-keyed",
                        "init_args": {"api_key": "${OMNIEVAL_TEST_SECRET}", "fail_every": 3},
                    }
                ],
            }
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "omnieval.cli", "run", "--config", "run.yaml", "--allow-failures"],
        cwd=work,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    run_dir = work / "runs" / "secret"
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    names = {p.name for p in files}
    assert {
        "manifest.yaml",
        "journal.sqlite",
        "results.json",
        "samples.jsonl",
        "leaderboard.md",
        "run.log",
    } <= names
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in result.stdout + result.stderr
    # the key did reach the model, and its careless error messages were scrubbed, not dropped
    log = (run_dir / "run.log").read_text()
    assert "401 unauthorized for key ***" in log
    assert "api_key: '***'" in (run_dir / "manifest.yaml").read_text()
