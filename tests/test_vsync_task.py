"""V-SYNC official format: loader validation, prompt blocks, modality variants, parity scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.vsync.task import VsyncBenchmark
from omnieval.types import AudioPart, Response, TextPart, VideoPart
from tests.contexts import ctx_for

ITEM = {
    "id": "s1",
    "video_path": "clip1.mp4",
    "question": "At 2.0 s, who is speaking?",
    "options": [
        "A. The man on the left",
        "B. The woman in the middle",
        "C. The man on the right",
        "D. Nobody",
    ],
    "correct_answer": "B",
    "asr_content": "[0.0-3.1] we should start the meeting",
}


def _dataset(root: Path, items: list[object]) -> Path:
    level = root / "data" / "level_1"
    (level / "videos").mkdir(parents=True)
    (level / "dataset.json").write_text(json.dumps(items))
    return root


def _task(root: Path, **args: object):  # type: ignore[no-untyped-def]
    return VsyncBenchmark(data_dir=root, **args).tasks()[0]  # type: ignore[arg-type]


def test_loader_reads_the_official_layout(tmp_path: Path) -> None:
    task = _task(_dataset(tmp_path, [ITEM]))
    (sample,) = task.samples()
    assert sample.id == "s1" and sample.target.answer == "B"  # type: ignore[union-attr]
    assert sample.target.options[1] == "The woman in the middle"  # type: ignore[union-attr]
    assert sample.parts[0].path == tmp_path / "data/level_1/videos/clip1.mp4"  # type: ignore[union-attr]


def test_malformed_items_are_all_reported_with_ids(tmp_path: Path) -> None:
    bad = [
        ITEM,
        {**ITEM, "id": "s2", "correct_answer": "E"},
        {**ITEM, "id": "s3", "options": "x"},
        {"id": "s4"},
        {**ITEM},
    ]
    with pytest.raises(DatasetError) as err:
        _task(_dataset(tmp_path, bad)).samples()
    message = str(err.value)
    assert "dataset.json: 4 malformed item(s)" in message
    assert "'s2'" in message and "'E'" in message
    assert "'s3'" in message and "'s4'" in message and "duplicate id 's1'" in message


def test_not_json_and_missing_dataset_are_clear(tmp_path: Path) -> None:
    root = _dataset(tmp_path, [])
    (root / "data/level_1/dataset.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        _task(root).samples()
    with pytest.raises(DatasetError, match="omnieval generate vsync"):
        VsyncBenchmark(data_dir=tmp_path / "nowhere")


def test_prompt_blocks_follow_upstream_order_once(tmp_path: Path) -> None:
    task = _task(_dataset(tmp_path, [ITEM]), prompt="upstream")
    request = task.build_request(task.samples()[0], "avt")
    text = request.text()
    blocks = text.split("\n\n")
    assert blocks[0].startswith("[SYSTEM]\nYou are a precise video-audio reasoning assistant.")
    assert blocks[1] == "[ASR]\n" + ITEM["asr_content"]
    assert blocks[2] == "Options:\n" + "\n".join(ITEM["options"])  # type: ignore[arg-type]
    assert blocks[-1] == ITEM["question"]
    for block in ("[ASR]", "Options:", "Answer ONLY with the option letter (A, B, C, or D)"):
        assert text.count(block) == 1, block  # upstream repeats these for API models


@pytest.mark.parametrize(
    ("variant", "media_type", "with_audio", "asr"),
    [
        ("avt", VideoPart, True, True),
        ("vt", VideoPart, False, False),
        ("at", AudioPart, None, True),
    ],
)
def test_variants_drop_one_channel(
    tmp_path: Path, variant: str, media_type: type, with_audio: bool | None, asr: bool
) -> None:
    task = _task(_dataset(tmp_path, [ITEM]))
    request = task.build_request(task.samples()[0], variant)
    media, text = request.parts
    assert isinstance(media, media_type) and isinstance(text, TextPart)
    if with_audio is not None:
        assert media.with_audio is with_audio  # type: ignore[attr-defined]
    assert ("[ASR]" in text.text) is asr
    assert ("we should start the meeting" in text.text) is asr


def test_letters_in_prompt_follow_the_option_count(tmp_path: Path) -> None:
    two = {**ITEM, "options": ["A. left", "B. right"], "correct_answer": "A"}
    task = _task(_dataset(tmp_path, [two]))
    text = task.build_request(task.samples()[0], "avt").text()
    assert "option letter (A or B)" in text and "C, or D" not in text


def test_default_and_parity_scoring_differ_where_upstream_is_wrong(tmp_path: Path) -> None:
    root = _dataset(tmp_path, [ITEM])
    default, parity = _task(root), _task(root, scoring="vsync")
    sample = default.samples()[0]
    ctx = ctx_for(sample)
    answer = Response(text="Based on the video, the answer is B")
    assert default.extract(ctx, answer).value == "B"
    assert parity.extract(ctx, answer).value == "B"  # "Based" -> B upstream, right by luck
    answer = Response(text="Based on the lip movements, the answer is C")
    assert default.extract(ctx, answer).value == "C"
    assert parity.extract(ctx, answer).value == "B"
    assert default.score(ctx, default.extract(ctx, answer)).values["accuracy"] == 0.0
    assert parity.score(ctx, parity.extract(ctx, answer)).values["accuracy"] == 1.0
    nothing = default.extract(ctx, Response(text="I cannot tell from this clip."))
    assert not nothing.ok and default.score(ctx, nothing).values["accuracy"] == 0.0
