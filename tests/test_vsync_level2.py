"""V-SYNC Levels 2 and 3: SocialOmni's format, the prefix cut, the generated edition answered by
the solver, the published metrics by hand, and no leakage beyond t at a loopback server."""

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
from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.vsync.judge_rubric import JUDGE_QUESTION, offline_score, parse_verdict
from omnieval.benchmarks.vsync.level2_loader import load_when, parse_timestamp
from omnieval.benchmarks.vsync.level2_task import parity_when
from omnieval.benchmarks.vsync.level3_joint import PARITY_NODE, PARITY_Q1_NODE
from omnieval.benchmarks.vsync.level23_metrics import (
    HowItem,
    always_yes,
    how_metrics,
    majority,
    when_metrics,
)
from omnieval.benchmarks.vsync.level23_report import summarize, summarize_run
from omnieval.benchmarks.vsync.prefix import video_prefix
from omnieval.benchmarks.vsync.synth_when import VsyncWhenConfig, generate_vsync_when
from omnieval.media import AudioSpec, FrameSpec, MediaCache, load_audio, probe, sample_frames
from omnieval.report.results import read_results

N = 12  # kinds cycle yes / no-mid-utterance / no-other-addressee: 4 of each


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vsync-when")
    generate_vsync_when(out, N, seed=0, config=VsyncWhenConfig(speech="formant"))
    return out


@pytest.fixture(scope="module")
def prefix_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prefix-cache")


def _annotations(root: Path) -> list[dict[str, Any]]:
    path = root / "data" / "level_2" / "annotations.json"
    items: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return items


# --------------------------------------------------------------------------- format


def test_timestamps_follow_socialomnis_convention() -> None:
    assert parse_timestamp("00:17:00") == 17.0  # the middle field is seconds, on purpose
    assert parse_timestamp("00:17:45") == 17.0  # the last field is ignored, as upstream does
    assert parse_timestamp("1:05") == 65.0
    assert parse_timestamp("12") == 12.0
    assert parse_timestamp("3.5") == 3.5
    with pytest.raises(ValueError, match="unreadable"):
        parse_timestamp("soon")


def test_malformed_items_are_named_with_the_file(tmp_path: Path) -> None:
    bad = [
        {"video_id": "v1", "video_file": "a.mp4", "question_1": {"question": "q?"}},
        {
            "video_id": "v2",
            "video_file": "../b.mp4",
            "question_1": {"question": "q?", "timestamp": "00:03:00", "correct_answer": "B"},
        },
        {
            "video_id": "v3",
            "video_file": "c.mp4",
            "question_1": {"question": "q?", "timestamp": "00:03:00", "correct_answer": "A"},
            "question_2": {"question": "what?", "answer": ""},
        },
    ]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps({"data": bad}), encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        load_when(path, tmp_path / "videos")
    text = str(err.value)
    assert str(path) in text and "3 malformed" in text
    assert "'v1'" in text and "timestamp" in text
    assert "'v2'" in text and "'v3'" in text and "question_2.answer" in text


def test_loader_keeps_full_asr_out_of_every_sample(edition: Path) -> None:
    path = edition / "data" / "level_2" / "annotations.json"
    samples = load_when(path, path.parent / "videos")
    assert len(samples) == N and sum(s.metadata["gold_yes"] for s in samples) == N // 3
    for sample, item in zip(samples, _annotations(edition), strict=True):
        assert sample.metadata["t"] == float(item["question_1"]["timestamp"].split(":")[1])
        assert "full_asr" not in json.dumps(sample.metadata)
        tail = item["full_asr"].splitlines()[1:]
        for line in tail:  # the continuation after t
            assert line.split("] ", 1)[1] not in json.dumps(sample.metadata["question"])


# --------------------------------------------------------------------------- prefix


def test_prefix_ends_at_t_and_is_cut_once(edition: Path, tmp_path: Path) -> None:
    item = _annotations(edition)[0]
    source = edition / "data" / "level_2" / "videos" / item["video_file"]
    t = float(item["synth"]["t"])
    cache = MediaCache(tmp_path / "cache")
    first = video_prefix(source, t, cache)
    stamp = first.stat().st_mtime_ns
    again = video_prefix(source, t, cache)
    assert again == first and again.stat().st_mtime_ns == stamp  # cached, not rewritten
    assert probe(source).duration_s == pytest.approx(t + 1.5, abs=0.05)
    frames = sample_frames(first, FrameSpec())
    assert len(frames) == round(t * 25) and float(frames.timestamps[-1]) < t
    sound = load_audio(first, AudioSpec(sample_rate=16000))
    assert sound.duration_s == pytest.approx(t, abs=0.01)
    whole = load_audio(source, AudioSpec(sample_rate=16000, window=None))
    # the same sound up to t (AAC re-encoding: compare loudness, not samples)
    head = whole.samples[0][: sound.num_samples]
    assert abs(float((head**2).mean()) - float((sound.samples[0] ** 2).mean())) < 2e-4


# --------------------------------------------------------------------------- solver


def _when_run(
    name: str, edition: Path, cache: Path, tmp_path: Path, models: list[str], **benchmark: Any
) -> api.RunOutcome:
    """Level 2 (`when`) of `edition` run by `models`; `benchmark` adds variants, replicates."""
    args = {"data_dir": str(edition), "levels": ["when"], "cache_dir": str(cache)}
    return api.evaluate(
        {
            "name": name,
            "output": str(tmp_path / "runs"),
            "progress": False,
            "benchmarks": [{"name": "vsync-level2", "args": args, **benchmark}],
            "models": models,
        }
    )


def test_solver_answers_when_from_both_modalities_only(
    edition: Path, prefix_cache: Path, tmp_path: Path
) -> None:
    models = ["vsync-solver"]
    outcome = _when_run(
        "when-solver", edition, prefix_cache, tmp_path, models, variants=["avt", "vt", "at"]
    )
    results = outcome.results
    avt = results.find("vsync-solver", "avt", "vsync/when")
    assert avt.metrics["accuracy"].value >= 0.95 and avt.failed == 0
    assert avt.metrics["macro_f1"].value >= 0.95
    for condition in ("vt", "at"):
        one = results.find("vsync-solver", condition, "vsync/when").metrics
        baselines = (one["always_yes_accuracy"].value, one["majority_accuracy"].value)
        assert min(abs(one["accuracy"].value - b) for b in baselines) <= 0.1, (condition, one)
    # each one-modality rule fails exactly on the kind that needs the other modality
    vt = results.find("vsync-solver", "vt", "vsync/when", group="no-mid-utterance")
    at = results.find("vsync-solver", "at", "vsync/when", group="no-other-addressee")
    assert vt.metrics["accuracy"].value == 0.0 and at.metrics["accuracy"].value == 0.0


def test_rotated_options_keep_yes_and_no_apart(
    edition: Path, prefix_cache: Path, tmp_path: Path
) -> None:
    outcome = _when_run(
        "when-rotated",
        edition,
        prefix_cache,
        tmp_path,
        ["vsync-solver", "constant"],
        variants=["avt"],
        replicates={"scheme": "rotation", "k": "all"},
    )
    solver = outcome.results.find("vsync-solver", "avt", "vsync/when").metrics
    assert solver["ACR"].value == 1.0 and solver["macro_f1"].value == 1.0
    # `constant` answers A: YES unrotated, NO once rotated ("A. No"); YES recall counts both
    rotated = [
        r
        for r in outcome.records
        if r.trial.replicate == "rotation1" and r.trial.model == "constant"
    ]
    assert len(rotated) == N and all(r.score and r.score.values["pred_yes"] == 0.0 for r in rotated)
    constant = outcome.results.find("constant", "avt", "vsync/when").metrics
    assert constant["yes_recall"].value == pytest.approx(0.5)
    rows = summarize(outcome.records)
    by_model = {row["model"]: row for row in rows}
    assert by_model["constant"]["when"] == always_yes([True, False, False] * 4).as_dict()


# --------------------------------------------------------------------------- metrics by hand

# gold Y N N Y N N Y N N; predictions Y N Y ? N ? Y N N (? = unreadable)
GOLD = [True, False, False, True, False, False, True, False, False]
PRED: list[bool | None] = [True, False, True, None, False, None, True, False, False]


def test_when_metrics_and_baselines_by_hand() -> None:
    m = when_metrics(GOLD, PRED)
    assert m.accuracy == pytest.approx(6 / 9) and m.extraction_failures == 2
    assert (m.true_positive, m.false_positive, m.false_negative) == (2, 1, 1)
    assert m.yes_precision == pytest.approx(2 / 3) and m.yes_recall == pytest.approx(2 / 3)
    assert m.no_f1 == pytest.approx(0.8)  # P = 4/4, R = 4/6
    assert m.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert always_yes(GOLD).accuracy == pytest.approx(1 / 3)
    assert always_yes(GOLD).macro_f1 == pytest.approx(0.25)  # F1(YES) = 0.5, F1(NO) = 0
    assert majority(GOLD).accuracy == pytest.approx(2 / 3)
    assert majority(GOLD).macro_f1 == pytest.approx(0.4)  # F1(NO) = 0.8, F1(YES) = 0


def test_how_aggregates_count_zeros_and_parity_reproduces_the_bug() -> None:
    items = [HowItem(75.0, True), HowItem(0.0, False), HowItem(0.0, True)]
    h = how_metrics(items, positive_only=True)
    assert h.qgold == pytest.approx(25.0) and h.qens == pytest.approx(37.5)
    assert h.cov_plus == pytest.approx(200 / 3) and h.qens_joint == pytest.approx(25.0)
    assert h.zeros == 2 and h.upstream_q2_avg == pytest.approx(75.0)  # zeros dropped: inflated
    assert how_metrics(items).upstream_q2_avg is None
    assert how_metrics([HowItem(None, True)]).covered == 0  # no usable answer: not covered


def test_socialomni_answer_reading_is_reproduced_quirks_included() -> None:
    assert parity_when("B").value == "B" and parity_when("Based on the video, yes").value == "B"
    assert parity_when("The answer is A.").value == "A"
    assert parity_when("I don't know").value == "B"  # "no" inside "know"
    assert parity_when("Yes, she should").value == "A"
    assert not parity_when("").ok and not parity_when("Perhaps").ok


def test_rubric_scale_and_verdict_reading() -> None:
    assert parse_verdict("Score: 62") == 50 and parse_verdict("63") == 75
    assert parse_verdict("150") == 100 and parse_verdict("-5") == 0
    assert parse_verdict("12.5") == 0 and parse_verdict("no idea") is None
    assert (
        offline_score("Thanks, I agree about the garden.", "thanks i agree about the garden") == 100
    )
    assert offline_score("Thanks, I agree about the garden.", "zebra quantum") == 0


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
    edition: Path, tmp_path: Path
) -> None:
    root = tmp_path / "fixture"
    shutil.copytree(edition, root)
    items = _annotations(root)[:9]  # kinds: yes, mid, other x 3 (gold as GOLD above)
    for index, item in enumerate(items):
        item["question_1"]["question"] += f" [q{index}]"
        item["question_2"]["question"] += f" [h{index}]"
    (root / "data" / "level_2" / "annotations.json").write_text(json.dumps(items))
    assert [item["question_1"]["correct_answer"] == "A" for item in items] == GOLD
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


def test_editions_are_seeded_and_a_larger_n_extends_a_smaller(tmp_path: Path) -> None:
    config = VsyncWhenConfig(speech="formant")
    one = generate_vsync_when(tmp_path / "a", 2, seed=5, config=config)
    two = generate_vsync_when(tmp_path / "b", 3, seed=5, config=config)
    first, second = json.loads(one.read_text()), json.loads(two.read_text())
    assert second[:2] == first and second[2]["category"] == "no-other-addressee"
    for item in first:
        name = item["video_file"]
        assert (one.parent / "videos" / name).read_bytes() == (
            two.parent / "videos" / name
        ).read_bytes()
    facts = json.loads((tmp_path / "a" / "edition.json").read_text())
    assert facts["seed"] == 5 and facts["config"]["speech"] == "formant"
