"""STAR-Bench loader, request layout and circular evaluation on a hand-checked fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.starbench.circular import upstream_permutation
from omnieval.benchmarks.starbench.loader import resolve_datasets
from omnieval.benchmarks.starbench.prompts import CHANNEL_SENTENCE
from omnieval.benchmarks.starbench.task import StarBenchmark, StarTask
from omnieval.config import ReplicateSpec
from omnieval.runner.transforms import apply_replicate, replicates_for
from omnieval.scoring.tree import Formula, Node
from omnieval.types import AudioPart, ChoiceTarget, Sample, TextPart
from tests.starbench_fixture import PERCEPTION, SPATIAL, temporal_item, write_release


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_release(tmp_path_factory.mktemp("starbench-release"))


def _task(root: Path, data: str, name: str | None = None) -> StarTask:
    tasks = StarBenchmark(data_dir=str(root), data=data).tasks()
    found = [t for t in tasks if name is None or t.name == name]
    assert len(found) == 1, [t.name for t in tasks]
    task = found[0]
    assert isinstance(task, StarTask)
    return task


def _sample(task: StarTask, sample_id: str) -> Sample:
    return next(s for s in task.samples() if s.id == sample_id)


# --------------------------------------------------------------------------- loader


def test_aliases_and_groups_resolve_like_upstream() -> None:
    def names(x: str | list[str]) -> list[str]:
        return [d.alias for d in resolve_datasets(x)]

    assert names("starbench_default") == ["pc", "tr", "sr"]
    assert names("TR+sr_ch+tr") == ["tr", "sr_ch"]
    assert names(["perception_all", "pc_sp"]) == ["pc_sp", "pc_nsp"]
    # upstream's spatial_all names "sp" and "sp_ch", which do not exist
    assert names("spatial_all") == ["sr", "sr_ch"]
    assert names("starbench_all") == ["tr", "tr_cap", "tr_uncut", "sr", "sr_ch", "pc_sp", "pc_nsp"]
    with pytest.raises(ValueError, match="'sp'"):
        resolve_datasets("sp")


def test_tasks_and_tree(release: Path) -> None:
    bench = StarBenchmark(data_dir=str(release), data="starbench_default")
    assert [t.name for t in bench.tasks()] == [
        "starbench/pc/pitch",
        "starbench/pc/loudness",
        "starbench/tr",
        "starbench/sr",
    ]
    nodes = {n.name: n for n in bench.tree() if isinstance(n, Node)}
    formulas = {n.name: n for n in bench.tree() if isinstance(n, Formula)}
    assert formulas["starbench/pc:non-spatial"].inputs == ("starbench/pc/pitch",)
    assert formulas["starbench/pc:level"].inputs == ("starbench/pc/loudness",)
    assert nodes["starbench/pc:total"].children == ("starbench/pc/pitch", "starbench/pc/loudness")
    assert nodes["starbench/pc:total"].mode == "macro"
    assert nodes["starbench:final-MA"].children == (
        "starbench/pc:total",
        "starbench/tr",
        "starbench/sr",
    )
    twin = nodes["starbench:final-MA:ACR"]
    assert twin.metric == "ACR" and twin.children == (
        "starbench/pc:total:ACR",
        "starbench/tr",
        "starbench/sr",
    )
    assert nodes["starbench/pc:total:ACR"].metric == "ACR"
    assert formulas["starbench/pc:level:ACR"].metric == "ACR"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answer": "nope"}, "answer 'nope' is not one of the options"),
        ({"options": "p1low"}, "'options' must be a list of strings"),
        ({"audio_paths": ["../outside.wav"]}, "outside"),
        ({"question": ""}, "missing question"),
    ],
)
def test_malformed_perception_items_name_file_and_item(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    broken = [PERCEPTION[0], {**PERCEPTION[1], **change}]
    root = write_release(tmp_path, {"foundation_perception.json": broken})
    with pytest.raises(DatasetError) as err:
        StarBenchmark(data_dir=str(root), data="pc").tasks()
    text = str(err.value)
    assert "foundation_perception.json" in text and "item 1 (id 'P2')" in text
    assert message in text


# TAO is index 2, subid 2: r0 shows permutation 4 = (3, 1, 2), which needs "clip 2 -> clip 3 ->
# clip 1"; this subset lacks it
ORDER_SUBSET = ["clip 1 -> clip 2 -> clip 3", "clip 1 -> clip 3 -> clip 2"]


def test_malformed_temporal_items(tmp_path: Path) -> None:
    bad_id = temporal_item("t_XYZ_1")
    no_option = {**temporal_item("t_TAO_2"), "options": ORDER_SUBSET}
    root = write_release(tmp_path, {"holistic_reasoning_temporal.json": [bad_id, no_option]})
    with pytest.raises(DatasetError) as err:
        StarBenchmark(data_dir=str(root), data="tr").tasks()
    text = str(err.value)
    assert "2 malformed item(s)" in text
    assert "item 0 (id 't_XYZ_1')" in text and "_<SUBCAT>_<n>" in text
    assert (
        "item 1 (id 't_TAO_2')" in text and "needs the option 'clip 2 -> clip 3 -> clip 1'" in text
    )


def test_missing_meta_file_says_how_to_generate(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="omnieval generate starbench"):
        StarBenchmark(data_dir=str(tmp_path), data="sr").tasks()


# --------------------------------------------------------------------------- requests


def test_perception_request_labels_several_audios(release: Path) -> None:
    task = _task(release, "pc", "starbench/pc/pitch")
    parts = task.build_request(_sample(task, "P1"), "default").parts
    assert [type(p).__name__ for p in parts] == [
        "TextPart",
        "AudioPart",
        "TextPart",
        "AudioPart",
        "TextPart",
    ]
    assert [p.text for p in parts if isinstance(p, TextPart)] == [
        "Audio 1:",
        "Audio 2:",
        "Which is highest?\n<A>: p1low\n<B>: p1mid\n<C>: p1high\n",
    ]
    single = task.build_request(_sample(task, "P2"), "default").parts
    assert isinstance(single[0], AudioPart) and isinstance(single[1], TextPart)


def test_channelwise_request_splits_left_and_right(release: Path) -> None:
    task = _task(release, "sr_ch")
    parts = task.build_request(_sample(task, "S1"), "default").parts
    audio = [p for p in parts if isinstance(p, AudioPart)]
    assert [a.channel for a in audio] == ["left", "right"]
    assert [a.layout for a in audio] == ["binaural", "binaural"]
    assert audio[0].path == audio[1].path == release / SPATIAL[0]["audio_paths"][0]
    texts = [p.text for p in parts if isinstance(p, TextPart)]
    assert texts[:3] == ["Audio 1:", "Audio 2:", CHANNEL_SENTENCE]
    assert texts[3].startswith("Where does it go?\n<A>: s1a")


def test_temporal_requests_question_first_then_labelled_clips(release: Path) -> None:
    plain = _task(release, "tr")
    parts = plain.build_request(_sample(plain, "t_OSM_1"), "default").parts
    assert isinstance(parts[0], TextPart) and parts[0].text.startswith("In which order?\n<A>: clip")
    assert [p.text for p in parts[1:] if isinstance(p, TextPart)] == [
        "\nclip 1:",
        "\nclip 2:",
        "\nclip 3:",
    ]
    # r = 0 for OSM_1 shows the clips in the order (1, 3, 2)
    names = [p.path.name for p in parts if isinstance(p, AudioPart)]
    assert names == ["t_OSM_1_c1.wav", "t_OSM_1_c3.wav", "t_OSM_1_c2.wav"]

    cap = _task(release, "tr_cap")
    cap_parts = cap.build_request(_sample(cap, "t_OSM_1"), "default").parts
    assert isinstance(cap_parts[1], TextPart)
    assert "a caption of the whole scene" in cap_parts[1].text

    uncut = _task(release, "tr_uncut")
    uncut_parts = uncut.build_request(_sample(uncut, "t_OSM_1"), "default").parts
    audio_names = [p.path.name for p in uncut_parts if isinstance(p, AudioPart)]
    assert audio_names[0] == "t_OSM_1_uncut.wav" and len(audio_names) == 4
    assert isinstance(uncut_parts[1], TextPart) and "uncut audio" in uncut_parts[1].text


# --------------------------------------------------------------------------- circular


def test_upstream_permutation_table() -> None:
    # (subid + (r mod 6 + index of the sub-category)) mod 6 into the lexicographic permutations
    assert [upstream_permutation("OSM", 1, r) for r in range(3)] == [
        (1, 3, 2),
        (2, 1, 3),
        (2, 3, 1),
    ]
    assert [upstream_permutation("DSS", 5, r) for r in range(3)] == [
        (2, 1, 3),
        (2, 3, 1),
        (3, 1, 2),
    ]
    assert upstream_permutation("ETC", 0, 8) == upstream_permutation("ETC", 0, 2) == (1, 2, 3)


DEFAULT = ReplicateSpec(scheme="rotation")


@pytest.mark.parametrize(
    ("data", "task_name", "sample_id", "runs"),
    [
        # perception: one run per option, options rotated right by r
        ("pc", "starbench/pc/pitch", "P1", [("p1low", "C"), ("p1high", "A"), ("p1mid", "B")]),
        ("pc", "starbench/pc/pitch", "P2", [("p2a", "A"), ("p2b", "B")]),
        (
            "pc",
            "starbench/pc/loudness",
            "P3",
            [("p3x", "B"), ("p3w", "C"), ("p3z", "D"), ("p3y", "A")],
        ),
        # spatial: three runs whatever the option count (a left rotation would show s1b first)
        ("sr", None, "S1", [("s1a", "A"), ("s1d", "B"), ("s1c", "C")]),
    ],
)
def test_rotation_replicates_match_upstream(
    release: Path, data: str, task_name: str | None, sample_id: str, runs: list[tuple[str, str]]
) -> None:
    task = _task(release, data, task_name)
    assert task.default_replicates is not None
    sample = _sample(task, sample_id)
    replicates = replicates_for(task.default_replicates, task, sample)
    assert [r.label for r in replicates] == [f"rotation{r}" for r in range(len(runs))]
    for replicate, (first, letter) in zip(replicates, runs, strict=True):
        seen = apply_replicate(task, sample, replicate)
        assert isinstance(seen.target, ChoiceTarget)
        assert seen.target.options[0] == first and seen.target.answer == letter
        text = task.build_request(seen, "default").text()
        assert f"<A>: {first}\n" in text


@pytest.mark.parametrize(
    ("sample_id", "runs"),
    [
        # (slot order shown, right option letter among the lexicographic orderings)
        ("t_OSM_1", [((1, 3, 2), "B"), ((2, 1, 3), "C"), ((2, 3, 1), "E")]),
        ("t_DSS_5", [((2, 1, 3), "C"), ((2, 3, 1), "E"), ((3, 1, 2), "D")]),
    ],
)
def test_permutation_replicates_match_upstream(
    release: Path, sample_id: str, runs: list[tuple[tuple[int, ...], str]]
) -> None:
    task = _task(release, "tr")
    assert task.default_replicates is not None
    assert task.default_replicates.scheme == "permutation"
    sample = _sample(task, sample_id)
    assert isinstance(sample.target, ChoiceTarget)
    replicates = replicates_for(task.default_replicates, task, sample)
    assert [r.label for r in replicates] == ["permutation0", "permutation1", "permutation2"]
    for replicate, (shown, letter) in zip(replicates, runs, strict=True):
        assert replicate.params["order"] == [k - 1 for k in shown]
        seen = apply_replicate(task, sample, replicate)
        assert isinstance(seen.target, ChoiceTarget)
        assert seen.target.answer == letter
        assert seen.target.options == sample.target.options  # options never move
        assert seen.metadata["clip_order"] == list(shown)
        names = [
            p.path.name
            for p in task.build_request(seen, "default").parts
            if isinstance(p, AudioPart)
        ]
        assert names == [f"{sample_id}_c{k}.wav" for k in shown]
    # robust evaluation off: one run, the r = 0 presentation (the canonical sample)
    assert isinstance(sample.target, ChoiceTarget) and sample.target.answer == runs[0][1]
    assert replicates_for(ReplicateSpec(scheme="none"), task, sample)[0].label == ""
