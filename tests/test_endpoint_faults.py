"""Endpoint faults through a whole `openai` run (tests/loopback.py on 127.0.0.1): 429 with
Retry-After, 500s, stalls beyond the client timeout, connection resets and an endpoint that flaps
down and up. Every trial ends answered or recorded failed, and none is journaled twice. A judge
whose endpoint is down leaves its parents' responses in the journal; the rerun judges them
without asking the model again."""

from __future__ import annotations

import random
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from omnieval import api
from tests.conftest import write_mcq
from tests.loopback import LoopbackConfig, LoopbackServer


def _model(url: str) -> dict[str, Any]:
    return {
        "alias": "loop",
        "provider": "openai",
        "init_args": {"base_url": url, "model": "loopback", "timeout_s": 0.4},
        "concurrency": 6,
        "max_retries": 8,
        "retry_base_s": 0.02,
        "retry_max_s": 0.15,
    }


def _journal(run_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        return [(str(k), str(s)) for k, s in db.execute("SELECT key, status FROM trials")]


class Flapper:
    """Takes the server down and up again at seeded moments, a bounded number of times."""

    def __init__(self, server: LoopbackServer, seed: int, flaps: int) -> None:
        self.server = server
        self.rng = random.Random(seed)
        self.flaps = flaps
        self.done = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while self.server.chat_requests < 10 and not self._stop.wait(0.002):
            pass  # the first outage comes right after the 10th chat request: mid-run
        pause = 0.0
        while self.done < self.flaps and not self._stop.wait(pause):
            self.server.kill()
            self._stop.wait(self.rng.uniform(0.05, 0.25))
            self.server.restart()
            self.done += 1
            pause = self.rng.uniform(0.05, 0.2)

    def __enter__(self) -> Flapper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _config(tmp_path: Path, mcq: Path, url: str) -> dict[str, Any]:
    return {
        "name": "endpoint-faults",
        "output": str(tmp_path / "runs"),
        "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
        "models": [_model(url)],
        "progress": False,
    }


@pytest.mark.timeout(90)
def test_every_endpoint_fault_ends_answered_or_failed_and_journaled_once(tmp_path: Path) -> None:
    n = 60
    mcq = write_mcq(tmp_path / "mcq.jsonl", n)
    faults = LoopbackConfig(
        delay_s=0.01,
        script=["429", "500", "stall", "reset"],
        share_429=0.08,
        retry_after="0.1",
        share_500=0.1,
        share_stall=0.04,
        stall_s=1.0,
        share_reset=0.08,
        seed=14,
    )
    with LoopbackServer(faults) as server:
        with Flapper(server, seed=14, flaps=4) as flapper:
            outcome = api.evaluate(_config(tmp_path, mcq, server.url))
        outcomes = dict(server.outcomes)
        first_requests = server.chat_requests
        assert flapper.done >= 1, "the endpoint never went down"
        assert all(outcomes.get(k, 0) >= 1 for k in ("429", "500", "stall", "reset")), outcomes
        totals = outcome.results.totals
        assert totals.trials == n and totals.answered + totals.failed == n
        rows = _journal(outcome.run_dir)
        assert len(rows) == n and len({key for key, _ in rows}) == n, "journaled twice or never"
        assert {status for _, status in rows} <= {"ok", "failed"}
        failed = {r.trial.key for r in outcome.records if r.response.failed}
        assert all(r.response.error for r in outcome.records if r.response.failed)
        answered = [r for r in outcome.records if not r.response.failed]
        assert answered and all(r.response.text == "A" for r in answered)

        # the endpoint heals: the rerun asks exactly the failed trials, each once
        server.config.share_429 = server.config.share_500 = 0.0
        server.config.share_stall = server.config.share_reset = 0.0
        rerun = api.evaluate(_config(tmp_path, mcq, server.url))
        asked = server.chat_requests - first_requests
    assert asked == len(failed)
    assert rerun.results.totals.answered == n
    rows = _journal(rerun.run_dir)
    assert len(rows) == n and {status for _, status in rows} == {"ok"}


N_JUDGED = 12  # odd-numbered answers are spelled out and need the judge: 6 parents


def _judged_config(tmp_path: Path, judge_url: str) -> dict[str, Any]:
    return {
        "name": "judge-down",
        "output": str(tmp_path / "runs"),
        "plugins": ["omnieval_testtasks"],
        "progress": False,
        "benchmarks": [{"name": "test-refine", "args": {"n": N_JUDGED}}],
        "models": [{"alias": "speller", "provider": "test-speller"}],
        "judges": {
            "refine": {
                "provider": "openai",
                "init_args": {"base_url": judge_url, "model": "judge", "timeout_s": 0.5},
                "max_retries": 1,
                "retry_base_s": 0.01,
                "retry_max_s": 0.02,
            }
        },
    }


def _parent_responses(run_dir: Path) -> dict[str, str]:
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        return {str(k): str(v) for k, v in db.execute("SELECT key, response FROM trials")}


@pytest.mark.timeout(60)
def test_a_failed_judge_keeps_parent_responses_and_the_rerun_judges_them(tmp_path: Path) -> None:
    failing = 2 * (N_JUDGED // 2)  # every attempt of the first run (1 retry each) gets a 500
    with LoopbackServer(LoopbackConfig(reply="B", script=["500"] * failing)) as judge:
        first = api.evaluate(_judged_config(tmp_path, judge.url))
        assert judge.chat_requests == failing
        result = first.results.find("speller", "default")
        assert result.scoring_errors == N_JUDGED // 2
        errors = [r.score.error for r in first.records if r.score is not None and r.score.error]
        assert len(errors) == N_JUDGED // 2 and all("judge" in e for e in errors)
        parents = _parent_responses(first.run_dir)
        assert len(parents) == N_JUDGED

        second = api.evaluate(_judged_config(tmp_path, judge.url))
        asked = judge.chat_requests - failing
    assert second.run_dir == first.run_dir
    assert _parent_responses(second.run_dir) == parents, "parent responses changed on rerun"
    assert asked == N_JUDGED // 2, "each parent needing the judge is asked exactly once"
    rejudged = second.results.find("speller", "default")
    assert rejudged.scoring_errors == 0
    assert rejudged.metrics["accuracy"].n == N_JUDGED
