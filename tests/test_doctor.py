"""The media doctor on real good and broken files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from omnieval.media import MediaProblem, check_media_file, find_media_problems
from omnieval.types import AudioPart, ChoiceTarget, Sample, TextPart, VideoPart
from tests.mediagen import (
    write_empty,
    write_garbage,
    write_test_audio,
    write_test_video,
    write_truncated,
)

TARGET = ChoiceTarget(answer="A", options=("x", "y"))


def video_sample(sample_id: str, *paths: Path) -> Sample:
    parts = [TextPart(text="Which?"), *(VideoPart(path=p) for p in paths)]
    return Sample(id=sample_id, task="t/demo", parts=tuple(parts), target=TARGET)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("doctor")
    good = write_test_video(d / "good.mp4", 3.0, 10, (64, 48))
    long_mkv = write_test_video(d / "long.mkv", 6.0, 10, (64, 48))
    faststart = write_test_video(
        d / "faststart.mp4", 6.0, 10, (64, 48), container_options={"movflags": "faststart"}
    )
    return {
        "good": good,
        "good_audio": write_test_audio(d / "good.wav", 1.0),
        "missing": d / "missing.mp4",
        "empty": write_empty(d / "empty.mp4"),
        "garbage": write_garbage(d / "garbage.mp4"),
        "no_index": write_truncated(good, d / "no_index.mp4", 0.5),
        "cut_mkv": write_truncated(long_mkv, d / "cut.mkv", 0.5),
        "cut_faststart": write_truncated(faststart, d / "cut_faststart.mp4", 0.5),
        "long_mkv": long_mkv,
        "faststart": faststart,
    }


def test_good_files_have_no_problem(files: dict[str, Path]) -> None:
    for name in ("good", "good_audio", "long_mkv", "faststart"):
        assert check_media_file(files[name]) is None, name
    samples = [
        video_sample("s1", files["good"], files["long_mkv"]),
        Sample(
            id="s2",
            task="t/demo",
            parts=(AudioPart(path=files["good_audio"]), VideoPart(path=files["faststart"])),
            target=TARGET,
        ),
    ]
    assert find_media_problems(samples) == []


def test_doctor_lists_missing_empty_and_corrupt_files_with_sample_ids(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Make rich treat the captured stderr as a terminal, so the progress bar really renders.
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    samples = [
        video_sample("ok", files["good"]),
        video_sample("m1", files["missing"]),
        video_sample("m2", files["good"], files["missing"]),  # shares both files
        video_sample("e1", files["empty"]),
        video_sample("g1", files["garbage"]),
        video_sample("t1", files["no_index"]),
        video_sample("t2", files["cut_mkv"]),
        video_sample("t3", files["cut_faststart"]),
        video_sample("a1", files["good_audio"]),  # an audio file used as a video
    ]
    problems = find_media_problems(samples, workers=3, progress=True)
    assert all(isinstance(p, MediaProblem) for p in problems)
    assert [p.path for p in problems] == sorted(p.path for p in problems)
    found = {p.path.name: (p.problem, p.sample_ids) for p in problems}
    assert found == {
        "missing.mp4": ("missing", ("m1", "m2")),
        "empty.mp4": ("empty", ("e1",)),
        "garbage.mp4": ("undecodable", ("g1",)),
        "no_index.mp4": ("undecodable", ("t1",)),
        "cut.mkv": ("undecodable", ("t2",)),
        "cut_faststart.mp4": ("undecodable", ("t3",)),
        "good.wav": ("no_video", ("a1",)),
    }
    details = {p.path.name: p.detail for p in problems}
    assert "truncated" in details["cut.mkv"] and "truncated" in details["cut_faststart.mp4"]
    out, err = capsys.readouterr()
    assert out == ""  # stdout stays clean for the problem list (`omnieval doctor` prints it)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err)
    assert "checking media" in shown and "8/8" in shown  # eight distinct files, all checked


def test_each_file_is_checked_once(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import omnieval.media.doctor as doctor_mod

    checked: list[Path] = []
    real = doctor_mod.check_media_file

    def spy(path: Path, **kwargs: bool) -> object:
        checked.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(doctor_mod, "check_media_file", spy)
    samples = [video_sample(f"s{i}", files["good"], files["empty"]) for i in range(5)]
    problems = find_media_problems(samples, workers=1)
    assert sorted(checked) == sorted([files["good"], files["empty"]])
    assert problems[0].sample_ids == ("s0", "s1", "s2", "s3", "s4")


def test_audio_part_needs_an_audio_stream(tmp_path: Path) -> None:
    silent = write_test_video(tmp_path / "silent.mp4", 1.0, 10, (64, 48), audio_hz=None)
    sample = Sample(id="x", task="t/demo", parts=(AudioPart(path=silent),), target=TARGET)
    [problem] = find_media_problems([sample])
    assert (problem.problem, problem.sample_ids) == ("no_audio", ("x",))
    assert str(silent) not in problem.detail  # the path is its own field
