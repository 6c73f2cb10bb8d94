"""Benchmark behaviour the docs promise (docs/mcq.md, docs/vsync.md), through `api.evaluate` and
what the model received over a real HTTP loopback server:

- `mcq`: media parts sent with the question, the text-only `t` variant, answers given as the
  text of the right option;
- V-SYNC: `data_dir` pointing at the root, `data/` or `level_1/`, or `dataset_path` +
  `video_dir`; prompt overrides; per-offset groups for generated sync items.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnieval import api
from omnieval.media import encode_png
from tests.cli_runs import samples
from tests.loopback import LoopbackConfig, LoopbackServer
from tests.mediagen import write_test_audio


def _openai(server: LoopbackServer, **init: Any) -> dict[str, Any]:
    return {
        "alias": "wire",
        "provider": "openai",
        "init_args": {"model": "loopback", "base_url": server.url, "api_key": "k", **init},
    }


def _run(tmp_path: Path, name: str, benchmark: dict[str, Any], models: list[Any]) -> api.RunOutcome:
    return api.evaluate(
        {
            "name": name,
            "output": str(tmp_path / "runs"),
            "benchmarks": [benchmark],
            "models": models,
            "progress": False,
        }
    )


# --------------------------------------------------------------------------- mcq


def test_mcq_media_parts_and_the_text_only_variant(tmp_path: Path) -> None:
    image = np.zeros((16, 16, 3), np.uint8)
    (tmp_path / "pic.png").write_bytes(encode_png(image))
    write_test_audio(tmp_path / "clip.wav", 0.3)
    row = {
        "id": "q1",
        "question": "Which instrument plays first?",
        "options": ["piano", "violin"],
        "answer": "B",
        "media": [{"kind": "image", "path": "pic.png"}, {"kind": "audio", "path": "clip.wav"}],
    }
    (tmp_path / "q.jsonl").write_text(json.dumps(row) + "\n")
    benchmark = {
        "name": "mcq",
        "args": {"path": str(tmp_path / "q.jsonl")},
        "variants": ["default", "t"],
    }
    with LoopbackServer(LoopbackConfig(reply="B")) as server:
        outcome = _run(
            tmp_path, "media", benchmark, [_openai(server, inputs=["text", "image", "audio"])]
        )
        bodies = list(server.bodies)
    assert outcome.results.totals.trials == 2 and outcome.results.totals.failed == 0
    contents = [b["messages"][-1]["content"] for b in bodies]
    with_media = [c for c in contents if isinstance(c, list)]
    text_only = [c for c in contents if isinstance(c, str)]
    assert len(with_media) == 1 and len(text_only) == 1
    kinds = [part["type"] for part in with_media[0]]
    assert "image_url" in kinds and "input_audio" in kinds  # both media parts, natively
    assert "Which instrument plays first?" in text_only[0] and "violin" in text_only[0]


@pytest.mark.parametrize(("answer", "right"), [("violin", 1.0), ("piano", 0.0), ("B", 1.0)])
def test_mcq_answer_may_be_the_option_text(tmp_path: Path, answer: str, right: float) -> None:
    row = {"id": "q1", "question": "Which?", "options": ["piano", "violin"], "answer": answer}
    (tmp_path / "q.jsonl").write_text(json.dumps(row) + "\n")
    second = {"alias": "second", "provider": "constant", "init_args": {"index": 1}}  # answers B
    outcome = _run(
        tmp_path, "text", {"name": "mcq", "args": {"path": str(tmp_path / "q.jsonl")}}, [second]
    )
    assert outcome.results.find("second", "default").metrics["accuracy"].value == right


# --------------------------------------------------------------------------- V-SYNC


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from omnieval.benchmarks.vsync.synth import VsyncSynthConfig, generate_vsync

    out = tmp_path_factory.mktemp("vsync-docs")
    config = VsyncSynthConfig(speech="formant", sync_share=0.5)
    generate_vsync(out, 8, seed=6, config=config, workers=2)
    return out


@pytest.mark.parametrize(
    "args",
    [
        lambda root: {"data_dir": str(root)},
        lambda root: {"data_dir": str(root / "data")},
        lambda root: {"data_dir": str(root / "data" / "level_1")},
        lambda root: {
            "dataset_path": str(root / "data" / "level_1" / "dataset.json"),
            "video_dir": str(root / "data" / "level_1" / "videos"),
        },
    ],
    ids=["root", "data", "level_1", "dataset_path+video_dir"],
)
def test_vsync_data_locations_load_the_same_samples(
    edition: Path, tmp_path: Path, args: Any
) -> None:
    reference = _run(
        tmp_path, "ref", {"name": "vsync", "args": {"data_dir": str(edition)}}, ["random"]
    )
    other = _run(tmp_path, "other", {"name": "vsync", "args": args(edition)}, ["random"])
    assert other.results.totals.trials == 8 * 3 and other.results.totals.failed == 0
    # same samples, same media: the same trial keys whatever way the files were named
    assert sorted(r["key"] for r in samples(other.run_dir)) == sorted(
        r["key"] for r in samples(reference.run_dir)
    )


def test_vsync_prompt_overrides_reach_the_model(edition: Path, tmp_path: Path) -> None:
    prompt = {
        "system": "SYSTEM-OVERRIDE answer with {letters}",
        "user": "USER-OVERRIDE",
        "answer_format": "FORMAT-OVERRIDE {letters}",
    }
    benchmark = {
        "name": "vsync",
        "args": {"data_dir": str(edition), "prompt": prompt},
        "variants": ["vt"],
    }
    with LoopbackServer(LoopbackConfig(reply="A")) as server:
        _run(tmp_path, "prompt", benchmark, [_openai(server, transport={"video": "drop"})])
        bodies = list(server.bodies)
    assert len(bodies) == 8
    for body in bodies:
        content = body["messages"][-1]["content"]
        text = (
            content
            if isinstance(content, str)
            else " ".join(p["text"] for p in content if p["type"] == "text")
        )
        assert "[SYSTEM]\nSYSTEM-OVERRIDE answer with " in text
        assert "USER-OVERRIDE" in text and "FORMAT-OVERRIDE " in text
        assert "{letters}" not in text  # replaced by the sample's letters
        assert "Please carefully analyze" not in text  # the default user block is gone


def test_vsync_sync_items_get_per_offset_groups(edition: Path, tmp_path: Path) -> None:
    outcome = _run(
        tmp_path,
        "offsets",
        {"name": "vsync", "args": {"data_dir": str(edition)}, "variants": ["avt"]},
        ["vsync-solver"],
    )
    items = json.loads((edition / "data" / "level_1" / "dataset.json").read_text())
    offsets = {
        (i["category"], i["synth"]["offset_ms"]) for i in items if "offset_ms" in i.get("synth", {})
    }
    assert offsets  # the edition has sync items
    data = json.loads((outcome.run_dir / "results.json").read_text())
    groups = {g["group"]: g for g in data["groups"]}
    for category, offset in offsets:
        name = f"{category}/offset{int(offset):+d}ms"
        assert name in groups, sorted(groups)
        expected = sum(1 for i in items if i.get("synth", {}).get("offset_ms") == offset)
        assert groups[name]["trials"] == expected
