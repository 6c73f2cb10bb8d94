"""The `openai` provider against a real HTTP server on 127.0.0.1 (tests/loopback.py)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from omnieval import api, registry
from omnieval.config import ConfigError
from omnieval.models.base import PermanentModelError, TransientModelError
from omnieval.models.openai_provider import OpenAIChat, endpoint_label
from omnieval.retry_after import parse_retry_after
from omnieval.types import GenerationParams, Request, TextPart, Usage
from tests.conftest import write_mcq
from tests.loopback import LoopbackConfig, LoopbackServer

SECRET = "sk-test-4f9c2e7d1a"


def _text(text: str = "Which? A. yes B. no", **gen: Any) -> Request:
    return Request(parts=(TextPart(text=text),), generation=GenerationParams(**gen))


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _generate(model: OpenAIChat, request: Request) -> Any:
    try:
        return await model.generate(request)
    finally:
        await model.close()


async def _error(model: OpenAIChat, request: Request) -> Exception:
    try:
        await model.generate(request)
    except Exception as err:
        return err
    finally:
        await model.close()
    raise AssertionError("no error raised")


# --------------------------------------------------------------------------- registration


def test_provider_is_registered_and_built_from_init_args() -> None:
    assert registry.models.get("openai") is OpenAIChat
    with pytest.raises(ValueError, match="base_url"):
        OpenAIChat(model="m")
    with pytest.raises(ValueError, match="http"):
        OpenAIChat(model="m", base_url="ftp://x/v1")
    with pytest.raises(ValueError, match="video"):
        OpenAIChat(model="m", base_url="http://h/v1", transport={"video": "sideways"})
    with pytest.raises(ValueError):
        OpenAIChat(model="m", base_url="http://h/v1", generation={"temprature": 0.5})


# --------------------------------------------------------------------------- wire


def test_body_usage_and_finish_reason() -> None:
    with LoopbackServer(LoopbackConfig(reply="B")) as server:
        model = OpenAIChat(
            model="served-name",
            base_url=server.url + "/",
            generation={"temperature": 0.7, "seed": 5, "extra": {"top_k": 20}},
            max_tokens_field="max_completion_tokens",
        )
        request = Request(
            parts=(TextPart(text="first"), TextPart(text="second")),
            system="be brief",
            generation=GenerationParams(temperature=0.0, top_p=0.9, max_tokens=7),
        )
        response = _run(_generate(model, request))
        body = server.bodies[0]
        size = server.body_sizes[0]
    assert response.text == "B" and response.finish_reason == "stop"
    # The loopback server reports prompt_tokens = body bytes // 4 and completion_tokens = 1.
    assert size > 40
    assert response.usage == Usage(input_tokens=size // 4, output_tokens=1)
    assert response.latency_s > 0
    assert body["model"] == "served-name"
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first\n\nsecond"},  # text only: a plain string
    ]
    assert body["temperature"] == 0.7 and body["top_p"] == 0.9 and body["seed"] == 5
    assert body["max_completion_tokens"] == 7 and "max_tokens" not in body
    assert body["top_k"] == 20
    assert "mm_processor_kwargs" not in body


def test_one_model_serves_several_event_loops() -> None:
    with LoopbackServer() as server:
        model = OpenAIChat(model="m", base_url=server.url)
        first = asyncio.run(model.generate(_text()))
        second = asyncio.run(_generate(model, _text()))  # a new loop: a new session
    assert first.text == second.text == "A"
    assert server.chat_requests == 2


# --------------------------------------------------------------------------- errors


def test_http_errors_map_to_transient_or_permanent() -> None:
    config = LoopbackConfig(script=["429", "500", "400", "stall"], stall_s=1.0)
    with LoopbackServer(config) as server:
        model = OpenAIChat(model="m", base_url=server.url, api_key=SECRET, timeout_s=0.3)

        async def scenario() -> list[Exception]:
            errors = []
            for _ in range(4):
                try:
                    await model.generate(_text())
                except Exception as err:
                    errors.append(err)
            await model.close()
            return errors

        rate, server_error, refused, stalled = _run(scenario())
    assert isinstance(rate, TransientModelError) and rate.retry_after_s == 1.0
    assert "429" in str(rate) and "rate limited, slow down" in str(rate)
    assert isinstance(server_error, TransientModelError) and "HTTP 500" in str(server_error)
    assert isinstance(refused, PermanentModelError) and "bad request" in str(refused)
    assert isinstance(stalled, TransientModelError) and "0.3 s" in str(stalled)
    # the server echoed the Authorization header into its error: scrubbed
    assert SECRET not in str(refused) and "***" in str(refused)


def test_connection_refused_is_transient() -> None:
    with LoopbackServer() as server:
        url = server.url
    model = OpenAIChat(model="m", base_url=url, timeout_s=2)
    err = _run(_error(model, _text()))
    assert isinstance(err, TransientModelError)
    assert endpoint_label(url) in str(err)


def test_retry_after_seconds_and_http_date() -> None:
    now = time.time()
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.25 ") == 0.25
    assert parse_retry_after("-4") == 0.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30, abs=1.01)
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None and parse_retry_after("") is None


# --------------------------------------------------------------------------- secrets


def test_api_key_reaches_the_server_but_no_output(tmp_path: Path) -> None:
    with LoopbackServer(LoopbackConfig(script=["ok", "400"])) as server:
        model = OpenAIChat(
            model="m", base_url=server.url, api_key=SECRET, headers={"X-Trace": "t-1"}
        )
        ok = _run(model.generate(_text()))
        err = _run(_error(model, _text()))
        auth = server.auth
    assert ok.text == "A"
    assert auth == [f"Bearer {SECRET}"] * 2
    assert SECRET not in json.dumps(model.fingerprint())
    assert SECRET not in repr(model) and SECRET not in str(err)
    assert isinstance(err, PermanentModelError)


def test_fingerprint_names_what_changes_answers() -> None:
    base = OpenAIChat(model="m", base_url="https://api.example.com/v1", api_key="k-one-1234")
    printed = base.fingerprint()
    assert printed["provider"] == "openai" and printed["model"] == "m"
    assert printed["endpoints"] == ["api.example.com/v1"]
    assert printed["inputs"] == ["image", "text"]
    assert printed["transport"]["video"] == "frames"
    assert printed["transport"]["audio"] == "transcript"
    other_key = OpenAIChat(model="m", base_url="https://api.example.com/v1", api_key="k-two-5678")
    assert other_key.fingerprint() == printed
    native = OpenAIChat(
        model="m", base_url="https://api.example.com/v1", inputs=["text", "image", "video"]
    )
    assert native.fingerprint()["transport"]["video"] == "native"
    dropped = OpenAIChat(
        model="m", base_url="https://api.example.com/v1", transport={"audio": "drop"}
    )
    assert dropped.fingerprint()["transport"]["dropped"] == ["audio"]
    tuned = OpenAIChat(model="m", base_url="https://api.example.com/v1", generation={"seed": 1})
    assert tuned.fingerprint()["generation"] == {"seed": 1}
    pool = OpenAIChat(
        model="m", base_urls=["http://b:8001/v1", "http://a:8000/v1"], deployment="qwen-omni"
    )
    assert pool.fingerprint()["endpoints"] == "qwen-omni"
    hosts = OpenAIChat(model="m", base_urls=["http://u:p@b:8001/v1?k=1", "http://a:8000/v1"])
    assert hosts.fingerprint()["endpoints"] == ["a:8000/v1", "b:8001/v1"]


# --------------------------------------------------------------------------- through the runner


def _journal_rows(run_dir: Path) -> int:
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])


@pytest.mark.timeout(90)
def test_faulty_server_run_completes_with_every_trial_and_retry_counted(tmp_path: Path) -> None:
    n = 40
    mcq = write_mcq(tmp_path / "mcq.jsonl", n)
    config = LoopbackConfig(
        reply="A",
        delay_s=0.01,
        script=["429", "500", "stall"],
        share_429=0.1,
        retry_after="1",
        share_500=0.15,
        share_stall=0.05,
        stall_s=1.0,
        seed=3,
    )
    with LoopbackServer(config) as server:
        outcome = api.evaluate(
            {
                "name": "faults",
                "output": str(tmp_path / "runs"),
                "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
                "models": [
                    {
                        "alias": "loop",
                        "provider": "openai",
                        "init_args": {
                            "base_url": server.url,
                            "model": "loopback",
                            "api_key": SECRET,
                            "timeout_s": 0.3,
                            "max_concurrency": 8,
                        },
                        "concurrency": 8,
                        "max_retries": 5,
                        "retry_base_s": 0.02,
                        "retry_max_s": 0.1,
                    }
                ],
                "progress": False,
            }
        )
        received = server.chat_requests
        outcomes = dict(server.outcomes)
    totals = outcome.results.totals
    assert totals.trials == n == _journal_rows(outcome.run_dir)
    assert totals.answered + totals.failed == n
    assert len({r.trial.key for r in outcome.records}) == n
    assert outcomes["429"] >= 1 and outcomes["500"] >= 1 and outcomes["stall"] >= 1
    # every attempt reached the server: attempts beyond the first are the runner's retries
    assert totals.retries > 0
    assert totals.retries == received - n
    assert sum(r.response.attempts for r in outcome.records) == received
    answered = [r for r in outcome.records if not r.response.failed]
    assert answered and all(r.response.text == "A" for r in answered)
    assert all(r.response.usage is not None for r in answered)
    journal = (outcome.run_dir / "journal.sqlite").read_bytes()
    manifest = (outcome.run_dir / "manifest.yaml").read_text()
    assert SECRET.encode() not in journal and SECRET not in manifest


def test_bad_init_args_are_a_config_error(tmp_path: Path) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", 2)
    with pytest.raises(ConfigError, match="init_args"):
        api.evaluate(
            {
                "name": "bad",
                "output": str(tmp_path / "runs"),
                "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
                "models": [{"alias": "x", "provider": "openai", "init_args": {"modle": "typo"}}],
                "progress": False,
            }
        )
