"""`vsync-solver` on real generated clips: who-is-speaking needs both modalities, sync offsets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnieval import registry
from omnieval.benchmarks.vsync import solver as solver_module
from omnieval.benchmarks.vsync.solver import VsyncSolver
from omnieval.benchmarks.vsync.synth import VsyncSynthConfig, generate_vsync
from omnieval.media import MediaCache
from omnieval.models.base import PermanentModelError
from omnieval.types import AudioPart, Part, Request, TextPart, VideoPart
from tests.conftest import SPEECH_ENGINES, synth_config

N_WHO = 200
VARIANTS = ("avt", "vt", "at")


def _items(out: Path) -> list[dict[str, Any]]:
    data = json.loads((out / "data" / "level_1" / "dataset.json").read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def build_request(out: Path, item: dict[str, Any], variant: str) -> Request:
    """The request the V-SYNC task sends: media first, then the upstream prompt blocks."""
    path = out / "data" / "level_1" / "videos" / item["video_path"]
    media: Part
    if variant == "avt":
        media = VideoPart(path=path, with_audio=True)
    elif variant == "vt":
        media = VideoPart(path=path, with_audio=False)
    else:
        media = AudioPart(path=path)
    letters = ", ".join(o[0] for o in item["options"])
    blocks = [f"[SYSTEM]\nYou must answer ONLY with the option letter ({letters})."]
    if variant != "vt":
        blocks.append(f"[ASR]\n{item['asr_content']}")
    blocks.append("Options:\n" + "\n".join(item["options"]))
    blocks.append("Please carefully analyze the video.")
    blocks.append(f"Answer ONLY with the option letter ({letters}).")
    text = "\n\n".join(blocks) + "\n\n" + item["question"]
    return Request(parts=(media, TextPart(text=text)))


def run_all(solver: VsyncSolver, requests: list[Request], concurrency: int = 2) -> list[str]:
    """Answer every request through `generate` (the model protocol), a few at a time."""

    async def main() -> list[str]:
        gate = asyncio.Semaphore(concurrency)

        async def one(request: Request) -> str:
            async with gate:
                response = await solver.generate(request)
            assert response.text is not None
            return response.text

        return await asyncio.gather(*(one(r) for r in requests))

    return asyncio.run(main())


@pytest.fixture(scope="module")
def who_edition(vsync_who_edition: Path) -> Path:
    return vsync_who_edition


@pytest.fixture(scope="module", params=SPEECH_ENGINES)
def sync_edition(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """42 sync items, once per speech engine: the offset thresholds must hold for both."""
    out = tmp_path_factory.mktemp(f"vsync-sync-{request.param}")
    generate_vsync(out, 42, seed=8, config=synth_config(request.param, sync_share=1.0), workers=2)
    return out


# --------------------------------------------------------------------------- who is speaking


def test_who_is_speaking_answers_are_single_letters(who_edition: Path) -> None:
    """Accuracy per variant is asserted through the loader and runner in test_vsync_e2e.py."""
    items = _items(who_edition)[:40]
    assert all(i["category"] == "who-is-speaking" for i in items)
    solver = VsyncSolver()
    for variant in VARIANTS:
        answers = run_all(solver, [build_request(who_edition, i, variant) for i in items])
        for answer, item in zip(answers, items, strict=True):
            assert answer in [o[0] for o in item["options"]]  # exactly one option letter
    answers = run_all(solver, [build_request(who_edition, i, "avt") for i in items])
    assert np.mean([a == i["correct_answer"] for a, i in zip(answers, items, strict=True)]) >= 0.95


def test_formant_speech_edition_is_solved_too(tmp_path: Path) -> None:
    cfg = VsyncSynthConfig(speech="formant", sync_share=0.0)
    generate_vsync(tmp_path, 12, seed=4, config=cfg, workers=2)
    items = _items(tmp_path)
    answers = run_all(VsyncSolver(), [build_request(tmp_path, i, "avt") for i in items])
    hits = sum(a == i["correct_answer"] for a, i in zip(answers, items, strict=True))
    assert hits >= 11, (hits, len(items))


def _forbid(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the solver called {name} for a variant that does not carry it")

    return refuse


def test_each_variant_reads_only_its_streams(
    who_edition: Path, sync_edition: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    who, sync = _items(who_edition)[0], _items(sync_edition)[0]
    solver = VsyncSolver()
    with monkeypatch.context() as patch:
        patch.setattr(solver_module, "load_audio", _forbid("load_audio"))
        assert solver.analyze(build_request(who_edition, who, "vt")).rule == "most-mouth-motion"
        assert solver.analyze(build_request(sync_edition, sync, "vt")).rule == "neutral-in-sync"
    with monkeypatch.context() as patch:
        patch.setattr(solver_module, "sample_frames", _forbid("sample_frames"))
        assert solver.analyze(build_request(who_edition, who, "at")).rule == "audio-hash"
        assert solver.analyze(build_request(sync_edition, sync, "at")).rule == "neutral-in-sync"


def test_evidence_and_deterministic_answers(who_edition: Path) -> None:
    item = _items(who_edition)[0]
    solver = VsyncSolver()
    analysis = solver.analyze(build_request(who_edition, item, "avt"))
    assert analysis.kind == "who" and analysis.rule == "mouth-audio-correlation"
    assert len(analysis.scores) == len(item["options"])
    assert max(analysis.scores.values()) > 0.8
    request = build_request(who_edition, item, "at")
    assert len({VsyncSolver().analyze(request).letter for _ in range(3)}) == 1


# --------------------------------------------------------------------------- sync


def test_sync_offsets_are_measured(sync_edition: Path) -> None:
    items = _items(sync_edition)
    assert {i["synth"]["style"] for i in items} == {"face", "flash"}
    solver = VsyncSolver()
    errors, far_hits = [], []
    for item in items:
        analysis = solver.analyze(build_request(sync_edition, item, "avt"))
        truth = item["synth"]["offset_ms"]
        assert analysis.offset_ms is not None
        errors.append(abs(analysis.offset_ms - truth))
        if abs(truth) >= 200:
            far_hits.append(analysis.letter == item["correct_answer"])
        if truth == 0:  # AAC priming is handled: an in-sync clip measures in sync
            assert abs(analysis.offset_ms) <= 20, item["id"]
    assert max(errors) <= 40, errors
    assert len(far_hits) >= 10 and np.mean(far_hits) >= 0.9
    # without one of the streams the offset cannot be measured: the neutral answer
    for variant in ("vt", "at"):
        answers = run_all(solver, [build_request(sync_edition, i, variant) for i in items[:6]])
        assert answers == ["B"] * 6


# --------------------------------------------------------------------------- model protocol


def test_unreadable_media_is_a_permanent_error(who_edition: Path, tmp_path: Path) -> None:
    item = dict(_items(who_edition)[0])
    broken = tmp_path / "data" / "level_1" / "videos" / "broken.mp4"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    item["video_path"] = "broken.mp4"
    for variant in VARIANTS:
        with pytest.raises(PermanentModelError, match=r"broken\.mp4"):
            asyncio.run(VsyncSolver().generate(build_request(tmp_path, item, variant)))
    item["video_path"] = "missing.mp4"
    with pytest.raises(PermanentModelError, match=r"missing\.mp4"):
        asyncio.run(VsyncSolver().generate(build_request(tmp_path, item, "avt")))


def test_unknown_question_is_refused() -> None:
    request = Request(parts=(TextPart(text="What colour is the sky?\nA. blue\nB. green"),))
    with pytest.raises(PermanentModelError, match="generated V-SYNC"):
        asyncio.run(VsyncSolver().generate(request))


def test_registered_with_a_settings_fingerprint(tmp_path: Path) -> None:
    assert registry.models.get("vsync-solver") is VsyncSolver
    a = VsyncSolver(cache_dir=str(tmp_path / "cache"))
    b = VsyncSolver()
    assert a.fingerprint() == b.fingerprint()
    assert "cache_dir" not in a.fingerprint()
    assert a.fingerprint()["provider"] == "vsync-solver"
    assert VsyncSolver(window_s=0.4).fingerprint() != b.fingerprint()


def test_media_cache_directory_is_used(who_edition: Path, tmp_path: Path) -> None:
    item = _items(who_edition)[0]
    cached = VsyncSolver(cache_dir=str(tmp_path / "cache"))
    request = build_request(who_edition, item, "avt")
    first = cached.analyze(request)
    assert MediaCache(tmp_path / "cache").entries() > 0
    assert cached.analyze(request).letter == first.letter == VsyncSolver().analyze(request).letter
