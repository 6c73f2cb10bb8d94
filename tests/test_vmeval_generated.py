"""vmeval generated edition: generator -> reference models -> verifier in a real run; lossy and
lower-resolution re-encodes; the export in upstream's layout read back by upstream's rules."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from omnieval.api import RunOutcome, evaluate_config
from omnieval.benchmarks.vmeval.domains import DOMAINS
from omnieval.benchmarks.vmeval.layout import discover
from omnieval.benchmarks.vmeval.synth import generate_vmeval
from omnieval.benchmarks.vmeval.verify import final_image, verify_frame, verify_video
from omnieval.benchmarks.vmeval.video import read_video, write_video
from omnieval.config import resolve_run_config
from omnieval.report.vmeval_export import export_run

MODELS = ("oracle-video", "still", "wrong-move")
#: what a wrong-move reason must name, per domain
WRONG_REASON = {
    "chess": "is legal but not mate",
    "maze": "without reaching the goal",
    "sudoku": "instead of",
    "rotation": "instead of",
    "sliding_puzzle": "instead of",
    "tower_of_hanoi": "peg C holds",
    "counting_objects": "the box shows",
    "object_subtraction": "should have been removed",
    "shape_sorter": "bin",
}


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vmeval") / "questions"
    generate_vmeval(root, n=1, seed=3)
    return root


@pytest.fixture(scope="module")
def run(edition: Path) -> RunOutcome:
    config, redactor = resolve_run_config(
        {
            "name": "vmeval-generated",
            "output": str(edition.parent / "runs"),
            "benchmarks": [{"name": "vmeval", "args": {"data_dir": str(edition)}}],
            "models": list(MODELS),
        },
        where="test",
    )
    return evaluate_config(config, redactor, console=Console(file=open("/dev/null", "w")))


def test_the_edition_is_in_upstreams_layout(edition: Path) -> None:
    found = discover(edition)
    assert sorted(found.questions) == sorted(DOMAINS)
    for q in found.all():
        assert q.id == f"{q.domain}_0000"
        assert q.final_image is not None and q.ground_truth_video is not None
        meta = json.loads((q.dir / "question_metadata.json").read_text())
        assert meta["id"] == q.id and meta["domain"] == q.domain and meta["prompt"] == q.prompt
        assert meta["first_image_path"] == "first_frame.png"


def test_oracle_solves_every_task_still_and_wrong_move_none(run: RunOutcome) -> None:
    by_model: dict[str, list[float]] = {m: [] for m in MODELS}
    for record in run.records:
        assert record.score is not None and record.score.error is None, record
        by_model[record.trial.model].append(record.score.values["solved"])
        reason = record.extraction.detail if record.extraction else ""
        assert reason, record
        domain = record.trial.task.removeprefix("vmeval/")
        if record.trial.model == "wrong-move":
            assert WRONG_REASON[domain] in reason, (domain, reason)
    assert len(by_model["oracle-video"]) == len(DOMAINS)
    assert by_model["oracle-video"] == [1.0] * len(DOMAINS)
    assert by_model["still"] == [0.0] * len(DOMAINS)
    assert by_model["wrong-move"] == [0.0] * len(DOMAINS)


def test_a_chess_wrong_move_names_the_square(edition: Path) -> None:
    q = discover(edition).questions["chess"][0]
    assert q.metadata is not None
    task = DOMAINS["chess"]
    frame = task.board(q.metadata).render(task.wrong(q.metadata)[-1])
    verdict = verify_frame("chess", q.metadata, frame)
    assert not verdict.solved
    mate_to = q.metadata["solution_move"][2:4]
    assert f"instead of {mate_to}" in verdict.reason


def test_lossy_lower_resolution_reencodes_are_still_solved(edition: Path, tmp_path: Path) -> None:
    for q in discover(edition).all():
        assert q.ground_truth_video is not None and q.metadata is not None
        video = read_video(q.ground_truth_video)
        lossy = write_video(tmp_path / f"{q.id}.mp4", video.frames, crf=35, size=(160, 160))
        assert read_video(lossy).frames[0].shape == (160, 160, 3)
        verdict = verify_video(q.domain, q.metadata, lossy)
        assert verdict.solved, (q.id, verdict)


def test_a_letterboxed_widescreen_video_is_read_in_its_centre(
    edition: Path, tmp_path: Path
) -> None:
    """Provider clients letterbox the square first frame into the model's 16:9 size; a video
    that keeps that framing is read from its centred square."""
    for domain in ("chess", "maze"):
        q = discover(edition).questions[domain][0]
        assert q.ground_truth_video is not None and q.metadata is not None
        frames = []
        for frame in read_video(q.ground_truth_video).frames:
            wide = np.full((256, 456, 3), 255, np.uint8)
            wide[:, 100:356] = frame
            frames.append(wide)
        video = write_video(tmp_path / f"{domain}.mp4", frames, crf=28, size=(320, 180))
        assert verify_video(domain, q.metadata, video).solved


def test_generator_noise_is_tolerated_but_a_changed_state_is_not(edition: Path) -> None:
    rng = np.random.default_rng(0)
    q = discover(edition).questions["sudoku"][0]
    assert q.metadata is not None
    task = DOMAINS["sudoku"]
    board = task.board(q.metadata)
    solved = board.render(task.solution(q.metadata)[-1]).astype(np.int16)
    noisy = [np.clip(solved + rng.normal(0, 20, solved.shape), 0, 255).astype(np.uint8)
             for _ in range(3)]
    assert verify_frame("sudoku", q.metadata, final_image(noisy)).solved
    # a frame that shows something else entirely is unreadable, not silently solved
    blank = np.full_like(noisy[0], 30)
    verdict = verify_frame("sudoku", q.metadata, blank)
    assert not verdict.solved and "match no known drawing" in verdict.reason


def test_last_frames_of_a_long_video_seek_to_its_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import av

    from omnieval.benchmarks.vmeval import video as video_module

    path = tmp_path / "long.mp4"
    with av.open(str(path), "w", format="mp4") as container:  # 10 s, a keyframe every 2 s
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"crf": "10", "g": "48"}
        for i in range(240):
            image = np.full((48, 64, 3), i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    whole = read_video(path).frames

    def no_full_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole video was decoded")

    monkeypatch.setattr(video_module, "read_video", no_full_decode)
    tail = video_module.last_frames(path, 3)
    assert len(whole) == 240
    assert all(np.array_equal(a, b) for a, b in zip(tail, whole[-3:], strict=True))


def test_bad_inputs_name_the_question_and_file(edition: Path, tmp_path: Path) -> None:
    from omnieval.benchmarks.vmeval.verify import MetadataError
    from omnieval.benchmarks.vmeval.video import VideoReadError

    q = discover(edition).questions["maze"][0]
    assert q.metadata is not None and q.ground_truth_video is not None
    broken = {k: v for k, v in q.metadata.items() if k != "grid"}
    with pytest.raises(MetadataError, match="maze question maze_0000: its question_metadata"):
        verify_video("maze", broken, q.ground_truth_video)
    garbage = tmp_path / "video.mp4"
    garbage.write_bytes(b"not a video")
    with pytest.raises(VideoReadError, match=r"cannot decode video .*video\.mp4"):
        verify_video("maze", q.metadata, garbage)


def test_same_seed_same_puzzles(tmp_path: Path, edition: Path) -> None:
    # on two processes: each task is seeded by itself, so the edition is the same
    again = generate_vmeval(tmp_path / "again", n=1, seed=3, domains="maze,chess", workers=2)
    for domain in ("maze", "chess"):
        name = f"{domain}_task/{domain}_0000/question_metadata.json"
        a = json.loads((edition / name).read_text())
        b = json.loads((again / name).read_text())
        assert a == b


def _select_latest_run(task_dir: Path) -> Path | None:
    """Upstream's run_selector.select_latest_run: the flat layout, else the newest sub-dir."""
    if (task_dir / "video").is_dir():
        return task_dir
    runs = sorted((p for p in task_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    return runs[-1] if runs else None


def test_export_is_read_back_by_upstreams_rules(run: RunOutcome, tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    summary = export_run(run.run_dir, out)
    assert summary.exported == len(MODELS) * len(DOMAINS)
    assert export_run(run.run_dir, out).unchanged == summary.exported  # idempotent
    seen = 0
    for model in MODELS:  # upstream's evaluator: model/task_type/task_id, then the run dir
        for task_type_dir in sorted((out / model).iterdir()):
            assert task_type_dir.name.endswith("_task")
            for task_dir in sorted(task_type_dir.iterdir()):
                run_dir = _select_latest_run(task_dir)
                assert run_dir is not None
                videos = sorted((run_dir / "video").glob("*.mp4"))
                assert [v.name for v in videos] == ["video.mp4"]
                question = run_dir / "question"
                for name in ("first_frame.png", "final_frame.png", "prompt.txt"):
                    assert (question / name).is_file()
                meta = json.loads((run_dir / "metadata.json").read_text())
                assert set(meta) >= {"inference", "input", "output", "paths", "question_data"}
                assert meta["inference"]["model"] == model
                assert meta["input"]["question_id"] == task_dir.name
                assert meta["question_data"]["domain"] + "_task" == task_type_dir.name
                assert meta["output"]["video_path"] == str(videos[0])
                # the exported video is the one scored: the verifier agrees with the journal
                q_meta = json.loads((question / "question_metadata.json").read_text())
                verdict = verify_video(q_meta["domain"], q_meta, videos[0])
                assert verdict.solved == (meta["omnieval"]["scores"]["solved"] == 1.0)
                seen += 1
    assert seen == len(MODELS) * len(DOMAINS)


def test_rescore_reverifies_the_stored_videos(run: RunOutcome, tmp_path: Path) -> None:
    import shutil

    from omnieval import api

    again = api.rescore(run.run_dir, console=Console(file=io.StringIO()))
    before = {r.trial.key: r.score for r in run.records}
    after = {r.trial.key: r.score for r in again.records}
    assert after == before and len(after) == len(MODELS) * len(DOMAINS)
    assert all(s is not None and s.error is None for s in after.values())
    # the verifier really reads the stored files: swap one oracle video for the still one
    oracle = next(r for r in run.records if r.trial.model == "oracle-video")
    still = next(r for r in run.records if r.trial.model == "still"
                 and r.trial.sample_id == oracle.trial.sample_id)
    copy = shutil.copytree(run.run_dir, tmp_path / "copy")
    target = copy / str(oracle.response.artifacts[0].path)
    target.write_bytes((copy / str(still.response.artifacts[0].path)).read_bytes())
    swapped = api.rescore(copy, console=Console(file=io.StringIO()))
    score = next(r.score for r in swapped.records if r.trial.key == oracle.trial.key)
    assert score is not None and score.values["solved"] == 0.0
