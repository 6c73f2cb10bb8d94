"""V-SYNC Levels 2 and 3 against a scripted OpenAI-compatible server on 127.0.0.1: requests hold
nothing beyond t (frames, audio, transcripts), and the run's numbers match a hand computation."""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from omnieval import api
from omnieval.benchmarks.vsync.judge_rubric import JUDGE_QUESTION
from omnieval.benchmarks.vsync.level3_joint import PARITY_NODE, PARITY_Q1_NODE
from omnieval.benchmarks.vsync.level23_report import summarize, summarize_run
from omnieval.media import probe
from omnieval.report.results import read_results
from tests.conftest import when_annotations


@pytest.fixture(scope="module")
def prefix_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prefix-cache")


# --------------------------------------------------------------------------- loopback


class ScriptedServer:
    """An OpenAI-compatible chat server on 127.0.0.1 answering from a script keyed by a tag in
    the prompt ("[q3]" for when-item 3, "[h3]" for how-item 3); judge prompts get a score."""

    def __init__(self, when: dict[str, str], how: dict[str, str], judge: dict[str, str]) -> None:
        self.when, self.how, self.judge = when, how, judge
        self.bodies: list[dict[str, Any]] = []
        self.uploads: list[float] = []  # seconds of audio sent for transcription
        self.lock = threading.Lock()
        self._loop_ready = threading.Event()
        self.port = 0

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.lock:
            self.bodies.append(body)
        text = _texts(body)
        if "[Reference]" in text:
            candidate = text.split("[Candidate]\n", 1)[1].strip().removesuffix(JUDGE_QUESTION)
            reply = self.judge.get(candidate.strip(), "0")
        elif match := re.search(r"\[q(\d+)\]", text):
            reply = self.when[match.group(1)]
        elif match := re.search(r"\[h(\d+)\]", text):
            reply = self.how[match.group(1)]
        else:
            reply = "?"
        return web.json_response(
            {
                "id": "x",
                "object": "chat.completion",
                "model": body.get("model", "m"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    async def transcribe(self, request: web.Request) -> web.Response:
        """ASR of what the transport uploads: one word spanning the whole upload."""
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        data = upload.file.read()
        seconds = (len(data) - 44) / (2 * 16000)  # 16 kHz mono 16-bit WAV
        with self.lock:
            self.uploads.append(seconds)
        word = {"word": "heard", "start": 0.0, "end": round(seconds, 3)}
        return web.json_response({"text": "heard", "words": [word]})

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "data": [{"id": "m"}, {"id": "j"}]})

    def __enter__(self) -> ScriptedServer:
        import asyncio

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            app = web.Application(client_max_size=256 * 1024 * 1024)
            app.router.add_post("/v1/chat/completions", self.chat)
            app.router.add_post("/v1/audio/transcriptions", self.transcribe)
            app.router.add_get("/health", self.health)
            app.router.add_get("/v1/models", self.health)
            runner = web.AppRunner(app)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            self.runner = runner
            self._loop_ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        assert self._loop_ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _texts(body: dict[str, Any]) -> str:
    chunks: list[str] = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            chunks.append(content)
        else:
            chunks += [p["text"] for p in content or [] if p.get("type") == "text"]
    return "\n".join(chunks)


def _media(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        part
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") != "text"
    ]


def test_requests_hold_nothing_beyond_t_and_the_run_matches_hand_computed_values(
    vsync_when_edition: Path, tmp_path: Path
) -> None:
    root = tmp_path / "fixture"
    shutil.copytree(vsync_when_edition, root)
    items = when_annotations(root)[:9]  # kinds: yes, mid, other x 3
    for index, item in enumerate(items):
        item["question_1"]["question"] += f" [q{index}]"
        item["question_2"]["question"] += f" [h{index}]"
    (root / "data" / "level_2" / "annotations.json").write_text(json.dumps(items))
    assert [item["question_1"]["correct_answer"] == "A" for item in items] == [
        i % 3 == 0 for i in range(9)
    ]  # yes, then two kinds of no
    reference = {str(i): item["question_2"]["answer"] for i, item in enumerate(items)}
    when = dict(enumerate(["A", "B", "A", "I cannot tell", "B", "Maybe", "A", "B", "B"]))
    how = {"0": reference["0"], "3": "Zebra quantum xylophone.", "6": "Zebra quantum."}
    with ScriptedServer(
        {str(k): v for k, v in when.items()}, how, {reference["0"]: "Score: 50"}
    ) as server:
        models = [
            {
                "alias": "cascade",  # frames + a transcript (ASR of what it is sent)
                "provider": "openai",
                "init_args": {
                    "model": "m",
                    "base_url": server.url,
                    "inputs": ["text", "image"],
                    "transport": {"asr": {"engine": "openai", "base_url": server.url}},
                },
            },
            {
                "alias": "native",  # the prefix file itself, and its sound
                "provider": "openai",
                "init_args": {
                    "model": "m",
                    "base_url": server.url,
                    "inputs": ["text", "image", "audio", "video"],
                },
            },
        ]
        outcome = _run_leak(root, tmp_path, models, server.url)
        bodies, uploads = list(server.bodies), list(server.uploads)

    model_bodies = [b for b in bodies if "[Reference]" not in _texts(b)]
    assert len(model_bodies) == 2 * 3 * (9 + 3)  # 2 models x 3 conditions x (when + how)
    continuations = [
        line.split("] ", 1)[1]
        for item in items
        for line in item["full_asr"].splitlines()
        if float(line[1:].split("-")[0]) >= float(item["synth"]["t"])
    ]
    assert continuations and all(reference[str(i)] in continuations for i in (0, 3, 6))
    stamp = re.compile(r"Frame at (\d+(?:\.\d+)?) s")
    line = re.compile(r"^\[(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\]", re.M)
    kinds: set[str] = set()
    for body in model_bodies:
        text = _texts(body)
        for continuation in continuations:
            assert continuation.lower() not in text.lower()
        t = float(re.search(r"\[[qh](\d+)\]", text).group(1))  # type: ignore[union-attr]
        t = float(items[int(t)]["synth"]["t"])
        assert all(float(s) < t for s in stamp.findall(text))
        assert all(float(end) <= t + 1e-6 for _, end in line.findall(text))
        for part in _media(body):
            kinds.add(part["type"])
            if part["type"] == "video_url":
                data = base64.b64decode(part["video_url"]["url"].split(",", 1)[1])
                clip = tmp_path / "sent.mp4"
                clip.write_bytes(data)
                assert probe(clip).duration_s <= t + 0.05
            elif part["type"] == "input_audio":
                clip = tmp_path / "sent.wav"
                clip.write_bytes(base64.b64decode(part["input_audio"]["data"]))
                assert probe(clip).duration_s <= t + 0.05
    assert {"image_url", "video_url", "input_audio"} <= kinds
    transcripts = [b for b in model_bodies if "Audio transcript" in _texts(b)]
    assert len(transcripts) == 2 * 12  # the cascade model under avt and at: ASR of the prefix
    times = {float(item["synth"]["t"]) for item in items}
    assert len(uploads) == 9  # one ASR per prefix file, each exactly [0, t) of its item
    assert all(any(abs(u - t) < 0.01 for t in times) for u in uploads), (uploads, times)

    # the published numbers, by hand (see GOLD / PRED and the how items above)
    results = outcome.results
    for model in ("cascade", "native"):
        w = results.find(model, "avt", "vsync/when").metrics
        assert w["accuracy"].value == pytest.approx(6 / 9)
        assert w["macro_f1"].value == pytest.approx((2 / 3 + 0.8) / 2)
        assert w["extraction_failures"].value == 2
        assert w["always_yes_macro_f1"].value == pytest.approx(0.25)
        assert w["majority_accuracy"].value == pytest.approx(2 / 3)
        assert results.find(model, "avt", "vsync/how").metrics["quality"].value == pytest.approx(25)
    # the Level 3 aggregates are results of the run itself: results.json's joint nodes
    written = read_results(outcome.run_dir / "results.json")
    correct = {k: v for k, v in LEVEL3_BY_HAND.items() if k not in (PARITY_NODE, PARITY_Q1_NODE)}
    for model in ("cascade", "native"):
        for condition in ("avt", "vt", "at"):
            assert _level3_nodes(written, model, condition) == pytest.approx(correct)
    leaderboard = (outcome.run_dir / "leaderboard.md").read_text()
    assert "QEns_joint (level 3)" in leaderboard and "upstream bug" not in leaderboard
    # the parity switch is a scoring setting: rescore adds the labelled number (no judge call;
    # the scripted judge's server is gone)
    api.rescore(outcome.run_dir, settings=["vsync-level2.args.parity_positive_only=true"])
    written = read_results(outcome.run_dir / "results.json")
    for model in ("cascade", "native"):
        for condition in ("avt", "vt", "at"):
            assert _level3_nodes(written, model, condition) == pytest.approx(LEVEL3_BY_HAND)
    assert "upstream bug" in (outcome.run_dir / "leaderboard.md").read_text()
    summary = summarize(outcome.records, positive_only=True)
    assert summarize_run(outcome.run_dir, positive_only=True) == summary  # from samples.jsonl
    rows = {(r["model"], r["condition"]): r for r in summary}
    row = rows[("native", "vt")]
    assert row["when"]["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert row["how"]["qgold"] == LEVEL3_BY_HAND["QGold"]  # the report is the same code


#: the fixture's Level 3 aggregates by hand: quality 75 (item 0), 0 (item 3), 0 (item 6);
#: "when" said YES on items 0 and 6, unreadable on item 3
LEVEL3_BY_HAND = {
    "QGold": 25.0,  # (75 + 0 + 0) / 3: zeros count
    "QEns": 37.5,  # covered: item 0 (75) and item 6 (0)
    "Cov+": 200 / 3,
    "QEns_joint": 25.0,  # 37.5 x 66.7 / 100
    "zeros": 2.0,
    PARITY_NODE: 75.0,  # upstream's bug: the mean of covered scores above 0
    # upstream's printed accuracy: 6 of 9 right; both YES items answered YES (0 and 6) got a
    # judged how-answer, so none turns wrong
    PARITY_Q1_NODE: 600 / 9,
}


def _level3_nodes(results: Any, model: str, condition: str) -> dict[str, float]:
    return {
        node.node: node.value.value
        for node in results.nodes
        if node.model == model and node.condition == condition and node.mode == "joint"
    }


def _run_leak(root: Path, tmp_path: Path, models: list[dict[str, Any]], url: str) -> Any:
    return api.evaluate(
        {
            "name": "leak",
            "output": str(tmp_path / "runs"),
            "progress": False,
            "benchmarks": [
                {
                    "name": "vsync-level2",
                    "args": {
                        "data_dir": str(root),
                        "cache_dir": str(tmp_path / "cache"),
                        "judge_roles": ["offline", "scripted"],
                    },
                    "variants": ["avt", "vt", "at"],
                }
            ],
            "models": models,
            "judges": {
                "offline": {"provider": "vsync-judge"},
                "scripted": {"provider": "openai", "init_args": {"model": "j", "base_url": url}},
            },
        }
    )
