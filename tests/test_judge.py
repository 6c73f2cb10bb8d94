"""Judge calls as journaled child trials: keys, reuse across runs, limits, failures, crash."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from omnieval.config import ModelSpec
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError, TransientModelError
from omnieval.models.openai_provider import OpenAIChat
from omnieval.runner.judge import (
    JudgeJournal,
    Judges,
    JudgeUnavailableError,
    judge_key,
)
from omnieval.types import GenerationParams, Request, Response, TextPart, TrialStatus, VideoPart
from tests.loopback import LoopbackConfig, LoopbackServer


def spec(concurrency: int = 4, max_retries: int = 0, **kw: Any) -> ModelSpec:
    return ModelSpec(
        alias="judge",
        provider="test",
        concurrency=concurrency,
        max_retries=max_retries,
        retry_base_s=0.0,
        retry_max_s=0.0,
        **kw,
    )


class CountingJudge(Model):
    """Grades by echoing a digest of the prompt; counts calls and concurrent calls."""

    name = "counting-judge"

    def __init__(self, max_concurrency: int = 8, delay_s: float = 0.0) -> None:
        self.capabilities = ModelCapabilities(max_concurrency=max_concurrency)
        self.delay_s = delay_s
        self.calls: Counter[str] = Counter()
        self.active = 0
        self.peak = 0
        self.down = False  # not part of the fingerprint: an outage, not a different judge
        self.transient_failures = 0

    async def generate(self, request: Request) -> Response:
        self.calls[request.text()] += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.delay_s)
            if self.transient_failures > 0:
                self.transient_failures -= 1
                raise TransientModelError("judge overloaded (503)")
            if self.down:
                raise PermanentModelError("judge refused: quota exhausted")
            return Response(text=f"verdict for {request.text()}")
        finally:
            self.active -= 1

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "model": "grader-1"}


def grading(prediction: str, system: str = "You grade answers.", **gen: Any) -> Request:
    return Request(
        parts=(TextPart(text=f"Question: what?\nPrediction: {prediction}\nGrade 1-5."),),
        system=system,
        generation=GenerationParams(temperature=0.0, seed=1, **gen),
    )


def open_journal(path: Path) -> JudgeJournal:
    return JudgeJournal.open(path)


def test_journal_requires_an_autocommit_connection(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "j.sqlite")  # default isolation level: implicit transactions
    with pytest.raises(RuntimeError, match="autocommit"):
        JudgeJournal(db)


def test_judge_key_tracks_what_can_change_the_verdict(tmp_path: Path) -> None:
    fp = {"provider": "p", "model": "m"}
    base = judge_key(fp, "parent1", "grader", "v1", grading("Paris"))
    assert base == judge_key(
        dict(reversed(list(fp.items()))), "parent1", "grader", "v1", grading("Paris")
    )
    variants = [
        judge_key({"provider": "p", "model": "m2"}, "parent1", "grader", "v1", grading("Paris")),
        judge_key(fp, "parent2", "grader", "v1", grading("Paris")),
        judge_key(fp, "parent1", "refine", "v1", grading("Paris")),
        judge_key(fp, "parent1", "grader", "v2", grading("Paris")),
        judge_key(fp, "parent1", "grader", "v1", grading("Lyon")),
        judge_key(fp, "parent1", "grader", "v1", grading("Paris", system="Be strict.")),
        judge_key(fp, "parent1", "grader", "v1", grading("Paris", max_tokens=8)),
    ]
    assert len({base, *variants}) == 1 + len(variants)

    # media enter by name and content, never by absolute path
    one, two = tmp_path / "a", tmp_path / "b"
    one.mkdir()
    two.mkdir()
    (one / "clip.mp4").write_bytes(b"video bytes 1")
    (two / "clip.mp4").write_bytes(b"video bytes 1")

    def with_video(path: Path) -> Request:
        return Request(parts=(VideoPart(path=path), TextPart(text="Is this right?")))

    moved = [judge_key(fp, "p", "grader", "v1", with_video(d / "clip.mp4")) for d in (one, two)]
    assert moved[0] == moved[1]
    (two / "clip.mp4").write_bytes(b"video bytes 2")  # a regenerated video: re-judge
    assert judge_key(fp, "p", "grader", "v1", with_video(two / "clip.mp4")) != moved[0]


def test_same_question_is_asked_once_across_reopened_journals(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    model = CountingJudge()

    async def first() -> list[Response]:
        judges = Judges(open_journal(db), {"grader": (model, spec())})
        answers = [await judges.ask("grader", f"t{i}", grading(f"p{i}"), "v1") for i in range(5)]
        # the same question again in the same run, and concurrently: still no new call
        again = await asyncio.gather(
            *(judges.ask("grader", "t0", grading("p0"), "v1") for _ in range(3))
        )
        assert judges.calls["grader"] == 5 and judges.reused["grader"] == 3
        assert again == [answers[0]] * 3
        return answers

    answers = asyncio.run(first())
    assert sum(model.calls.values()) == 5

    async def second() -> tuple[list[Response], Judges]:
        journal = open_journal(db)  # a new connection: a rerun or a rescore
        judges = Judges(journal, {"grader": (model, spec())})
        out = [await judges.ask("grader", f"t{i}", grading(f"p{i}"), "v1") for i in range(5)]
        return out, judges

    again, judges = asyncio.run(second())
    assert sum(model.calls.values()) == 5, "a journaled verdict must never be asked again"
    assert judges.calls["grader"] == 0 and judges.reused["grader"] == 5
    assert [a.text for a in again] == [a.text for a in answers]
    assert judges.journal.count() == 5


def test_concurrent_askers_of_one_new_question_share_one_call(tmp_path: Path) -> None:
    model = CountingJudge(delay_s=0.05)

    async def main() -> tuple[list[Response], Judges]:
        judges = Judges(open_journal(tmp_path / "j.sqlite"), {"grader": (model, spec())})
        answers = await asyncio.gather(
            *(judges.ask("grader", "t0", grading("p0"), "v1") for _ in range(5))
        )
        return list(answers), judges

    answers, judges = asyncio.run(main())
    assert sum(model.calls.values()) == 1 and len({a.text for a in answers}) == 1
    assert judges.calls["grader"] == 1 and judges.reused["grader"] == 4
    assert judges.journal.count() == 1


def test_changed_prompt_version_or_prediction_asks_again(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    model = CountingJudge()

    async def run(version: str, prediction: str) -> Judges:
        judges = Judges(open_journal(db), {"grader": (model, spec())})
        await judges.ask("grader", "trial-1", grading(prediction), version)
        return judges

    assert asyncio.run(run("v1", "Paris")).calls["grader"] == 1
    assert asyncio.run(run("v1", "Paris")).calls["grader"] == 0
    assert asyncio.run(run("v2", "Paris")).calls["grader"] == 1
    assert asyncio.run(run("v2", "Lyon")).calls["grader"] == 1
    assert asyncio.run(run("v2", "Lyon")).reused["grader"] == 1
    assert sum(model.calls.values()) == 3
    rows = open_journal(db).rows("trial-1")
    seen = sorted((r.prompt_version, r.request["parts"][0]["text"].split("\n")[1]) for r in rows)
    assert seen == [
        ("v1", "Prediction: Paris"),
        ("v2", "Prediction: Lyon"),
        ("v2", "Prediction: Paris"),
    ]
    assert all(r.judge == model.fingerprint() and r.role == "grader" for r in rows)


@pytest.mark.parametrize(
    ("spec_limit", "model_limit", "expected"), [(3, 8, 3), (10, 2, 2), (1, 1, 1)]
)
def test_judge_concurrency_never_exceeds_its_limit(
    tmp_path: Path, spec_limit: int, model_limit: int, expected: int
) -> None:
    model = CountingJudge(max_concurrency=model_limit, delay_s=0.01)

    async def main() -> Judges:
        judges = Judges(open_journal(tmp_path / "j.sqlite"), {"grader": (model, spec(spec_limit))})
        assert judges.limit("grader") == expected
        await asyncio.gather(
            *(judges.ask("grader", f"t{i}", grading(f"p{i}"), "v1") for i in range(40))
        )
        return judges

    judges = asyncio.run(main())
    assert model.peak == expected, f"peak {model.peak} concurrent calls, limit {expected}"
    assert judges.calls["grader"] == 40


def test_failed_judge_is_journaled_failed_and_asked_again_next_time(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    model = CountingJudge()
    model.down = True

    async def ask() -> tuple[Response, Judges]:
        judges = Judges(open_journal(db), {"grader": (model, spec(max_retries=2))})
        return await judges.ask("grader", "trial-1", grading("Paris"), "v1"), judges

    failed, judges = asyncio.run(ask())
    assert failed.status is TrialStatus.FAILED and "quota exhausted" in (failed.error or "")
    assert failed.text is None, "no made-up verdict"
    assert judges.journal.count(TrialStatus.FAILED) == 1
    assert (
        judges.journal.get(
            judge_key(model.fingerprint(), "trial-1", "grader", "v1", grading("Paris"))
        )
        is None
    )

    model.down = False
    model.transient_failures = 2  # the judge recovers after two overloaded answers
    ok, judges = asyncio.run(ask())
    assert ok.status is TrialStatus.OK and ok.attempts == 3
    assert judges.calls["grader"] == 1 and judges.attempts["grader"] == 3
    assert judges.journal.count() == 1 and judges.journal.count(TrialStatus.OK) == 1
    ok_again, judges = asyncio.run(ask())
    assert ok_again.text == ok.text and judges.calls["grader"] == 0


def test_transient_outage_after_retries_is_a_failed_response(tmp_path: Path) -> None:
    model = CountingJudge()
    model.transient_failures = 10

    async def main() -> Response:
        judges = Judges(
            open_journal(tmp_path / "j.sqlite"), {"grader": (model, spec(max_retries=2))}
        )
        return await judges.ask("grader", "t", grading("x"), "v1")

    response = asyncio.run(main())
    assert (
        response.failed and response.attempts == 3 and "gave up after 3" in (response.error or "")
    )


def test_unknown_role_names_the_role_and_the_configured_ones(tmp_path: Path) -> None:
    judges = Judges(open_journal(tmp_path / "j.sqlite"), {"grader": (CountingJudge(), spec())})
    with pytest.raises(JudgeUnavailableError, match=r"'refine'.*configured judge roles: grader"):
        asyncio.run(judges.ask("refine", "t", grading("x"), "v1"))
    with pytest.raises(JudgeUnavailableError):
        judges.judge_fingerprint("refine")


def test_offline_judges_serve_journaled_answers_only(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    model = CountingJudge()

    async def online() -> None:
        judges = Judges(open_journal(db), {"grader": (model, spec())})
        await judges.ask("grader", "t1", grading("Paris"), "v1")

    asyncio.run(online())

    async def offline() -> Judges:
        judges = Judges.offline(open_journal(db))
        answer = await judges.ask("grader", "t1", grading("Paris"), "v1")
        assert answer.text is not None and "Paris" in answer.text
        with pytest.raises(JudgeUnavailableError, match="no journaled answer for trial t2"):
            await judges.ask("grader", "t2", grading("Rome"), "v1")
        with pytest.raises(JudgeUnavailableError, match="v2"):
            await judges.ask("grader", "t1", grading("Paris"), "v2")
        with pytest.raises(JudgeUnavailableError, match="no answers"):
            await judges.ask("refine", "t1", grading("Paris"), "v1")
        return judges

    judges = asyncio.run(offline())
    assert judges.reused["grader"] == 1 and sum(model.calls.values()) == 1
    assert judges.judge_fingerprint("grader") == model.fingerprint()

    # answers from two different judges for one role: offline cannot choose between them
    other = CountingJudge()
    other.fingerprint = lambda: {"provider": "counting-judge", "model": "grader-2"}  # type: ignore[method-assign]

    async def second_judge() -> None:
        judges = Judges(open_journal(db), {"grader": (other, spec())})
        await judges.ask("grader", "t1", grading("Paris"), "v1")

    asyncio.run(second_judge())
    with pytest.raises(JudgeUnavailableError, match="2 different judges"):
        asyncio.run(Judges.offline(open_journal(db)).ask("grader", "t1", grading("Paris"), "v1"))
    named = Judges.offline(open_journal(db), {"grader": other.fingerprint()})
    assert asyncio.run(named.ask("grader", "t1", grading("Paris"), "v1")).text is not None


def test_judge_over_http_through_the_openai_provider(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    with LoopbackServer(LoopbackConfig(reply="4", delay_s=0.02)) as server:

        async def main() -> list[Response]:
            model = OpenAIChat(model="grader", base_url=server.url, max_concurrency=2)
            try:
                judges = Judges(open_journal(db), {"grader": (model, spec(concurrency=8))})
                return list(
                    await asyncio.gather(
                        *(
                            judges.ask("grader", f"t{i % 6}", grading(f"p{i % 6}"), "v1")
                            for i in range(12)
                        )
                    )
                )
            finally:
                await model.close()

        first = asyncio.run(main())
        assert [r.text for r in first] == ["4"] * 12
        assert server.chat_requests == 6
        body = server.bodies[0]
        assert body["temperature"] == 0.0 and body["seed"] == 1
        assert body["messages"][0] == {"role": "system", "content": "You grade answers."}
        asyncio.run(main())
        assert server.chat_requests == 6, "a rerun asks the judge server nothing"


# --------------------------------------------------------------------------- crash and resume

_JUDGE_RUN = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from omnieval.config import ModelSpec
    from omnieval.models.openai_provider import OpenAIChat
    from omnieval.runner.judge import JudgeJournal, Judges
    from omnieval.types import GenerationParams, Request, TextPart

    db, url, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])

    async def main() -> None:
        model = OpenAIChat(model="grader", base_url=url, max_concurrency=4)
        settings = ModelSpec(alias="judge", provider="openai", concurrency=4, max_retries=0)
        judges = Judges(JudgeJournal.open(db), {"grader": (model, settings)})

        async def one(i: int) -> None:
            request = Request(
                parts=(TextPart(text=f"parent=p{i:03d}: grade the prediction"),),
                generation=GenerationParams(seed=1),
            )
            response = await judges.ask("grader", f"p{i:03d}", request, "v1")
            assert response.status.value == "ok", response.error

        await asyncio.gather(*(one(i) for i in range(n)))
        judges.journal.flush()
        await model.close()
        print("CALLS", judges.calls["grader"], "REUSED", judges.reused["grader"], flush=True)

    asyncio.run(main())
    """
)


def _parents(bodies: list[dict[str, Any]]) -> Counter[str]:
    found: Counter[str] = Counter()
    for body in bodies:
        text = json.dumps(body)
        start = text.index("parent=") + len("parent=")
        found[text[start : start + 4]] += 1
    return found


def _journaled_ok(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT parent_key FROM judge_trials WHERE status = 'ok'")
        return {parent for (parent,) in rows}


def test_sigkill_midway_then_rerun_asks_each_missing_parent_exactly_once(tmp_path: Path) -> None:
    n, limit = 50, 4
    db = tmp_path / "journal.sqlite"
    script = tmp_path / "judge_run.py"
    script.write_text(_JUDGE_RUN)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with LoopbackServer(LoopbackConfig(reply="5", delay_s=0.03)) as server:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db), server.url, str(n)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while server.chat_requests < 20 and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        first_calls = _parents(server.bodies)
        done_before = _journaled_ok(db)
        assert 10 <= len(done_before) < n, "the kill should land mid-way"
        assert done_before <= set(first_calls)
        in_flight = set(first_calls) - done_before
        assert len(in_flight) <= limit, "only calls in flight at the kill may be lost"

        rerun = subprocess.run(
            [sys.executable, str(script), str(db), server.url, str(n)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert rerun.returncode == 0, rerun.stderr
        all_calls = _parents(server.bodies)
    second_calls = all_calls - first_calls
    assert _journaled_ok(db) == {f"p{i:03d}" for i in range(n)}
    # every parent journaled before the kill is never asked again; every missing one exactly once
    assert set(second_calls) == {f"p{i:03d}" for i in range(n)} - done_before
    assert all(count == 1 for count in second_calls.values())
    assert all(first_calls[p] == 1 for p in first_calls)
    assert rerun.stdout.split() == [
        "CALLS",
        str(n - len(done_before)),
        "REUSED",
        str(len(done_before)),
    ]
    # in total: one successful (journaled) call per parent, plus at most the calls in flight
    assert sum(all_calls.values()) == n + len(in_flight)
