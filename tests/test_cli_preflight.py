"""Pre-flight and the circuit breaker as a new user meets them (issue #7): a run whose endpoint,
ASR engine or V-SYNC server cannot answer stops before its first trial, and a model whose
endpoint dies mid-run is paused. Real `omnieval` subprocesses and HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from omnieval import api
from tests.cli_runs import (
    closed_port,
    mcq_benchmark,
    omnieval,
    run_journal_rows,
    write_config,
)
from tests.conftest import write_mcq
from tests.loopback import LoopbackConfig, LoopbackServer
from tests.mediagen import write_test_audio

#: `run` of the config file run.yaml in the working directory
RUN_YAML = ("run", "-c", "run.yaml", "--no-progress")


def _omnieval(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return omnieval(args, env, cwd, 120)


# --------------------------------------------------------------------------- pre-flight


def _openai_config(path: Path, mcq: Path, base_url: str, **model: Any) -> Path:
    return write_config(
        path,
        name="pre",
        benchmarks=mcq_benchmark(mcq),
        models=[
            {
                "alias": "remote",
                "provider": "openai",
                "max_retries": 0,
                "init_args": {"model": "loopback", "base_url": base_url, "timeout_s": 5},
                **model,
            }
        ],
    )


def test_unreachable_endpoint_stops_the_run_before_the_first_trial(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", 5)
    url = f"http://127.0.0.1:{closed_port()}/v1"
    _openai_config(tmp_path / "run.yaml", mcq, url)
    result = _omnieval(*RUN_YAML, env=subprocess_env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "pre-flight failed, no trial was run" in result.stderr
    assert "does not answer" in result.stderr and "--no-preflight" in result.stderr
    assert run_journal_rows(tmp_path / "runs" / "pre") == 0

    with LoopbackServer() as server:
        write_config(
            tmp_path / "wrong.yaml",
            **{
                **yaml.safe_load((tmp_path / "run.yaml").read_text()),
                "name": "wrong",
                "models": [
                    {
                        "alias": "remote",
                        "provider": "openai",
                        "init_args": {"model": "gpt-nope", "base_url": server.url},
                    }
                ],
            },
        )
        wrong = _omnieval("run", "-c", "wrong.yaml", env=subprocess_env, cwd=tmp_path)
    assert wrong.returncode == 2, wrong.stderr
    assert "does not serve model 'gpt-nope'; it serves loopback" in wrong.stderr
    assert run_journal_rows(tmp_path / "runs" / "wrong") == 0

    skipped = _omnieval(*RUN_YAML, "--no-preflight", env=subprocess_env, cwd=tmp_path)
    assert skipped.returncode == 3, skipped.stderr  # the trials ran, and failed
    assert run_journal_rows(tmp_path / "runs" / "pre") == 5


def test_asr_engine_that_cannot_be_built_stops_the_run_before_the_first_trial(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    write_test_audio(tmp_path / "tone.wav", seconds=0.5)
    item = {
        "id": "q1",
        "question": "What do you hear?",
        "options": ["a tone", "speech"],
        "answer": "A",
        "media": [{"kind": "audio", "path": "tone.wav"}],
    }
    mcq = tmp_path / "audio.jsonl"
    mcq.write_text(json.dumps(item) + "\n", encoding="utf-8")
    with LoopbackServer() as server:
        _openai_config(
            tmp_path / "run.yaml",
            mcq,
            server.url,
            init_args={
                "model": "loopback",
                "base_url": server.url,
                "inputs": ["text"],
                "transport": {
                    "audio": "transcript",
                    "asr": {"engine": "pocketsphinx", "hmm": str(tmp_path / "no-model")},
                },
            },
        )
        result = _omnieval("run", "-c", "run.yaml", env=subprocess_env, cwd=tmp_path)
        assert server.chat_requests == 0
    assert result.returncode == 2, result.stderr
    assert "pre-flight failed, no trial was run" in result.stderr
    assert "ASR engine cannot be built" in result.stderr and "pocketsphinx" in result.stderr
    assert run_journal_rows(tmp_path / "runs" / "pre") == 0


def test_vsync_http_preflight_asks_health(tmp_path: Path) -> None:
    import asyncio

    from omnieval.models.base import PreflightError
    from omnieval.models.vsync_http import VsyncHttp

    async def check(url: str) -> None:
        model = VsyncHttp(server_url=url, timeout_s=5)
        try:
            await model.preflight()
        finally:
            await model.close()

    with pytest.raises(PreflightError, match="is the V-SYNC server running"):
        asyncio.run(check(f"http://127.0.0.1:{closed_port()}"))
    with LoopbackServer() as server:
        asyncio.run(check(server.url.removesuffix("/v1")))  # answers GET /health


# --------------------------------------------------------------------------- circuit breaker


def test_circuit_breaker_pauses_a_model_whose_endpoint_dies(tmp_path: Path) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", 30)
    with LoopbackServer(LoopbackConfig(delay_s=0.02)) as server:

        def kill_after_five() -> None:
            deadline = time.monotonic() + 20
            while server.chat_requests < 5 and time.monotonic() < deadline:
                time.sleep(0.002)
            server.kill()

        killer = threading.Thread(target=kill_after_five)
        killer.start()
        started = time.monotonic()
        outcome = api.evaluate(
            {
                "name": "breaker",
                "output": str(tmp_path / "runs"),
                "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
                "models": [
                    {
                        "alias": "remote",
                        "provider": "openai",
                        "concurrency": 1,
                        "max_retries": 2,
                        "retry_base_s": 0.01,
                        "retry_max_s": 0.05,
                        "breaker_failures": 3,
                        "init_args": {
                            "model": "loopback",
                            "base_url": server.url,
                            "timeout_s": 2,
                            "probe_interval_s": 0.05,
                        },
                    }
                ],
            },
            progress=False,
        )
        killer.join()
    elapsed = time.monotonic() - started
    records = outcome.records
    answered = [r for r in records if not r.response.failed]
    paused = [r for r in records if (r.response.error or "").startswith("circuit open: ")]
    assert len(records) == 30 and 4 <= len(answered) <= 8  # the 5th may be cut off
    assert len(paused) >= 30 - len(answered) - 2  # at most the trials that tripped it failed else
    assert all(r.score is None and r.response.attempts == 0 for r in paused)
    assert outcome.results.totals.failed == 30 - len(answered)
    log = (outcome.run_dir / "run.log").read_text(encoding="utf-8")
    assert "3 consecutive connection failures; circuit open" in log
    assert elapsed < 15
