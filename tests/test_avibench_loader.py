"""AVI-Bench's loader on a hand-written edition in the release layout: positional ids, media
order and containment, pseudo-keys from a definitions file that is parsed and never executed,
pre-question twins and skipped empty pre slots, requests and the answer space."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnieval.benchmarks.avibench.benchmark import AviBenchmark
from omnieval.benchmarks.avibench.definitions import (
    DefinitionsError,
    parse_definitions,
    read_definitions,
)
from omnieval.benchmarks.avibench.task import AviTask
from omnieval.benchmarks.base import DatasetError
from omnieval.types import AudioPart, ChoiceTarget, ImagePart, TextPart, TextTarget, VideoPart

from .avibench_fixture import DEFINITIONS, write_edition


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_edition(tmp_path_factory.mktemp("avi") / "edition", media=False)


def _task(bench: AviBenchmark, name: str) -> AviTask:
    return next(t for t in bench._tasks if t.name == f"avibench/{name}")


def test_definitions_are_parsed_without_running_them(tmp_path: Path) -> None:
    table = read_definitions(_write(tmp_path / "ok.py", DEFINITIONS))
    assert table.constants["ASQA"]["options_yes_no"] == ["yes", "no", "not sure"]
    # names bound earlier and f-strings of them resolve as Python would format them
    assert table.constants["AVL"]["prompt_avl"].startswith("Name each sounding object from ['dog'")
    marker = tmp_path / "executed"
    for body in (
        f"havib_constants = {{'ASQA': {{'k': open({str(marker)!r}, 'w').write('x')}}}}",
        f"import pathlib\npathlib.Path({str(marker)!r}).touch()\nhavib_constants = {{}}",
        "havib_constants = {'ASQA': {'k': [x for x in 'ab']}}",
        "havib_constants = {'ASQA': {'k': ().__class__}}",
    ):
        with pytest.raises(DefinitionsError, match="not allowed in a definitions file"):
            read_definitions(_write(tmp_path / "bad.py", body))
    assert not marker.exists()
    with pytest.raises(DefinitionsError, match="no `havib_constants"):
        parse_definitions("x = 1")


def test_samples_are_positional_with_upstream_media_order(edition: Path) -> None:
    bench = AviBenchmark(edition)
    avqa = _task(bench, "AVQA")
    assert [s.id for s in avqa.samples()] == ["00000", "00001", "00002"]
    assert [s.metadata["upstream_id"] for s in avqa.samples()] == ["00000", "00001", "00001"]
    assert isinstance(avqa.samples()[1].target, TextTarget)  # a count label, no options
    avl = _task(bench, "AVL").samples()[0]
    kinds = [type(p) for p in avl.parts]
    assert kinds == [ImagePart, AudioPart]  # images, audios, video, then the text
    inside = str(edition / "levels/perception/AVL/input")
    assert all(str(getattr(p, "path", "")).startswith(inside) for p in avl.parts)
    vsqa = _task(bench, "VSQA_V").samples()[0]
    assert vsqa.target == ChoiceTarget(
        answer="Cube",
        options=("Cube", "Sphere", "None", "not sure"),
        letters=("Cube", "Sphere", "None", "not sure"),
    )
    text = vsqa.metadata["text"]
    assert (
        text
        == ". Available options are: ['Cube', 'Sphere', 'None', 'not sure']. Which shape moves?"
    )


def test_pre_questions_are_linked_twins_and_empty_slots_are_counted(edition: Path) -> None:
    bench = AviBenchmark(edition)
    asqa, pre = _task(bench, "ASQA"), _task(bench, "ASQA/pre")
    assert [s.id for s in asqa.samples()] == ["00000", "00002"]
    assert [s.metadata["pre_ids"] for s in asqa.samples()] == [["00001"], ["00003"]]
    assert [s.metadata["formal_position"] for s in pre.samples()] == [0, 2]
    assert bench.skipped_pre() == {"VSQA_I": 1}  # the null pre slot is skipped and counted
    assert "pre_ids" not in _task(bench, "VSQA_I").samples()[1].metadata
    # upstream's AVSQA scorer keeps empty pre slots: so does parity (none here)
    assert [g.gated_task for g in bench.gates()] == [
        "avibench/ASQA",
        "avibench/VSQA_I",
        "avibench/VSQA_V",
        "avibench/AVSQA",
    ]


def test_requests_send_the_soundtrack_once_and_carry_the_answer_space(edition: Path) -> None:
    avh = _task(AviBenchmark(edition), "AVH")
    request = avh.build_request(avh.samples()[0], "default")
    assert [type(p) for p in request.parts] == [VideoPart, TextPart]
    assert request.metadata["dropped"] == ["audio 00000.wav (the video's soundtrack carries it)"]
    assert request.answer_space is not None and request.answer_space.labels == (
        "yes",
        "no",
        "not sure",
    )
    assert request.system == "You are a helpful assistant."
    separate = _task(AviBenchmark(edition, video_audio="separate"), "AVH")
    parts = separate.build_request(separate.samples()[0], "default").parts
    assert isinstance(parts[0], AudioPart) and isinstance(parts[1], VideoPart)
    assert parts[1].with_audio is False
    assert separate.fingerprint() != avh.fingerprint()  # the choice enters the trial key


def test_tasks_pick_folders(edition: Path) -> None:
    bench = AviBenchmark(edition, tasks=["vsqa", "AVL"])
    assert [t.name for t in bench.tasks()] == [
        "avibench/AVL",
        "avibench/VSQA_I",
        "avibench/VSQA_I/pre",
        "avibench/VSQA_V",
        "avibench/VSQA_V/pre",
    ]
    assert [n.name for n in bench.tree()] == ["avibench/VSQA"]  # no stage is complete
    with pytest.raises(ValueError, match="unknown AVI-Bench task 'XYZ'"):
        AviBenchmark(edition, tasks=["XYZ"])


def test_bad_entries_are_named(tmp_path: Path) -> None:
    root = write_edition(tmp_path / "bad", media=False, tasks=["AVM"])
    data = root / "levels/perception/AVM/data.json"
    items = json.loads(data.read_text())
    items[0]["input"]["video"] = "../../../../secret.mp4"
    items[1]["input"]["question"]["options"] = "avm_options_typo"
    data.write_text(json.dumps(items))
    with pytest.raises(DatasetError) as err:
        _ = AviBenchmark(root, tasks=["AVM"]).tasks()
    message = str(err.value)
    assert "entry 0 (id '00000')" in message and "outside the dataset root" in message
    assert (
        "entry 1 (id '00001')" in message
        and "'avm_options_typo' is missing for task AVM" in message
    )
    (root / "definitions.py").unlink()
    with pytest.raises(DatasetError, match="no definitions file"):
        _ = AviBenchmark(root, tasks=["AVM"]).tasks()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_upstream_refine_prompts_are_read_without_running_the_script(tmp_path: Path) -> None:
    from omnieval.benchmarks.avibench.refine import FAMILIES, load_prompts, refine_request

    marker = tmp_path / "ran"
    prompts = "\n".join(f'{name} = """{name} says MODEL_MSG"""' for name in FAMILIES)
    script = f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n{prompts}\n"
    loaded = load_prompts(_write(tmp_path / "run.py", script))
    assert not marker.exists()
    assert loaded.templates["PROMPT_AVL"] == "PROMPT_AVL says MODEL_MSG"
    assert loaded.version != load_prompts(None).version  # other templates, other judge keys
    request = refine_request(loaded, "AVL", "boxes", "dog at left", "q", None)
    assert request.text() == "PROMPT_AVL says dog at left"
    with pytest.raises(DefinitionsError, match="PROMPT_QA"):
        load_prompts(_write(tmp_path / "partial.py", 'PROMPT_AVL = "x"\n'))
