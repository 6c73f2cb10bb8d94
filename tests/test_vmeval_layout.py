"""vmeval question directories: upstream's discovery rules, SVG inputs converted in the cache
(never in place), clear errors, and `omnieval fetch vmeval` against a loopback hub."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.vmeval.images import ImageInputError, real_png
from omnieval.benchmarks.vmeval.layout import discover
from omnieval.benchmarks.vmeval.task import VMEvalBenchmark, VMEvalTask
from omnieval.types import ImagePart

from .hub_fake import FakeHub, fetch_cli

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">'
    b'<rect width="40" height="30" fill="#ff0000"/></svg>'
)


def png_bytes(color: tuple[int, int, int], size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def task_dir(root: Path, domain: str, name: str, files: dict[str, bytes]) -> Path:
    path = root / f"{domain}_task" / name
    path.mkdir(parents=True)
    for file, data in files.items():
        (path / file).write_bytes(data)
    return path


def test_discovery_follows_upstream(tmp_path: Path) -> None:
    root = tmp_path / "questions"
    first = png_bytes((0, 0, 255))
    task_dir(root, "maze", "maze_0001", {"first_frame.png": first, "prompt.txt": b"  go \n"})
    task_dir(root, "maze", "maze_0000", {"first_frame.png": first, "prompt.txt": b"a",
                                         "final_frame.png": first, "ground_truth.mp4": b"x"})
    task_dir(root, "maze", "maze_0002", {"prompt.txt": b"no image"})
    task_dir(root, "maze", "maze_0003", {"first_frame.png": first})
    task_dir(root, "chess", "c0", {"first_frame.png": first, "prompt.txt": b"mate"})
    (root / "notes").mkdir()  # not a *_task directory: ignored
    (root / "readme_task").write_text("a file, not a domain")
    found = discover(root)
    assert list(found.questions) == ["chess", "maze"]  # sorted
    maze = found.questions["maze"]
    assert [q.id for q in maze] == ["maze_0000", "maze_0001"]
    assert maze[1].prompt == "go" and maze[1].final_image is None
    assert maze[0].final_image is not None and maze[0].ground_truth_video is not None
    assert maze[0].task_type == "maze_task"
    assert sorted(reason for _, reason in found.skipped) == [
        "missing first_frame.png",
        "missing prompt.txt",
    ]


def test_unverified_questions_need_a_judge(tmp_path: Path) -> None:
    root = tmp_path / "q"
    task_dir(root, "maze", "m0", {"first_frame.png": png_bytes((1, 2, 3)), "prompt.txt": b"x"})
    with pytest.raises(ValueError, match="judge: single"):
        VMEvalBenchmark(root).tasks()
    tasks = VMEvalBenchmark(root, judge="single").tasks()
    assert [t.name for t in tasks] == ["vmeval/maze"]
    assert isinstance(tasks[0], VMEvalTask)
    assert tasks[0].metric_names == ("judge_success", "judge_score")
    with pytest.raises(DatasetError, match="no sudoku_task"):
        VMEvalBenchmark(root, domains="sudoku", judge="single").tasks()


def test_request_carries_first_frame_prompt_and_generation_settings(tmp_path: Path) -> None:
    root = tmp_path / "q"
    task_dir(root, "maze", "m0", {"first_frame.png": png_bytes((1, 2, 3)), "prompt.txt": b"p"})
    bench = VMEvalBenchmark(root, judge="single", duration=5.0, fps=16, resolution="1280x720",
                            seed=7)
    task = bench.tasks()[0]
    request = task.build_request(task.samples()[0], "default")
    image, _text = request.parts
    assert isinstance(image, ImagePart) and image.path == root / "maze_task/m0/first_frame.png"
    assert request.text() == "p"
    assert request.generation.extra == {"duration": 5.0, "fps": 16, "resolution": "1280x720",
                                        "seed": 7}
    assert request.generation.seed == 7
    default = VMEvalBenchmark(root, judge="single").tasks()[0]
    assert default.build_request(default.samples()[0], "default").generation.extra == {
        "duration": 8.0
    }


def test_svg_saved_as_png_is_converted_in_the_cache_not_in_place(tmp_path: Path) -> None:
    root = tmp_path / "q"
    path = task_dir(root, "rotation", "r0", {"first_frame.png": SVG, "prompt.txt": b"turn"})
    cache = tmp_path / "cache"
    task = VMEvalBenchmark(root, judge="single", cache_dir=cache).tasks()[0]
    image = task.samples()[0].parts[0]
    assert isinstance(image, ImagePart) and image.path is not None
    assert (path / "first_frame.png").read_bytes() == SVG  # the input is untouched
    assert image.path.parent.parent == cache
    with Image.open(image.path) as converted:
        assert converted.format == "PNG" and converted.size == (40, 30)
        assert converted.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    assert real_png(path / "first_frame.png", cache) == image.path  # converted once
    (path / "first_frame.png").write_bytes(b"not an image at all")
    with pytest.raises(ImageInputError, match="neither a PNG image nor an SVG"):
        real_png(path / "first_frame.png", cache)


def test_bad_metadata_names_the_task_and_file(tmp_path: Path) -> None:
    root = tmp_path / "q"
    task_dir(root, "maze", "m7", {"first_frame.png": png_bytes((1, 2, 3)), "prompt.txt": b"x",
                                  "question_metadata.json": b"{broken"})
    with pytest.raises(DatasetError, match=r"task m7: cannot read .*question_metadata\.json"):
        discover(root)


COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


def _parquet() -> bytes:
    rows = {
        "prompt": ["Rotate the cube.", "", "Draw the path."],
        "image": [{"bytes": png_bytes((10, 20, 30)), "path": None},
                  {"bytes": png_bytes((0, 0, 0)), "path": None},
                  {"bytes": png_bytes((40, 50, 60)), "path": None}],
        "solution_image": [{"bytes": png_bytes((200, 0, 0)), "path": None}, None,
                           {"bytes": png_bytes((0, 200, 0)), "path": None}],
        "category": ["3D", "skip", "maze"],
    }
    buffer = io.BytesIO()
    pq.write_table(pa.table(rows), buffer)
    return buffer.getvalue()


def test_fetch_vmeval_from_a_loopback_hub(tmp_path: Path) -> None:
    files = {"README.md": b"# MME-CoF\n", "data/train-00000-of-00001.parquet": _parquet()}
    out = tmp_path / "release"
    with FakeHub("VideoReason/MME-CoF-VMEval", files, COMMIT) as hub:
        done = fetch_cli("vmeval", out, hub, tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "FETCHED.json").read_text())
    assert record["repo_id"] == "VideoReason/MME-CoF-VMEval" and record["revision"] == COMMIT
    assert (out / "data/train-00000-of-00001.parquet").read_bytes() == files[
        "data/train-00000-of-00001.parquet"
    ]
    found = discover(out / "questions")
    questions = found.questions["mme_cof"]
    assert [q.id for q in questions] == ["mme_cof_0000", "mme_cof_0001"]  # the empty prompt: out
    assert questions[1].prompt == "Draw the path."
    assert questions[0].final_image is not None
    with Image.open(questions[0].final_image) as final:
        assert np.asarray(final)[0, 0].tolist() == [200, 0, 0]
    assert questions[1].metadata is not None and questions[1].metadata["task_category"] == "maze"
