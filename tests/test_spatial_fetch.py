"""`omnieval fetch spatial` against the fake hub on 127.0.0.1 (tests/hub_fake.py) with the real
huggingface_hub client, then the fetched release read by the loader: the revision is pinned
and recorded with sha256s, and a rerun resumes with only the missing file."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from omnieval.benchmarks.spatial.loader import load_samples
from omnieval.types import MasksTarget

from .hub_fake import FakeHub, fetch_cli

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
REPO = "LilyYang0504/BenchDatasets"


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _release() -> dict[str, bytes]:
    files: dict[str, bytes] = {"README.md": b"# BenchDatasets\n"}
    for i in range(3):
        files[f"frames/scannet/scene0001/frame_{i:04d}.png"] = _png(
            np.full((8, 10, 3), 40 * i, np.uint8)
        )
        mask = np.zeros((8, 10), np.uint8)
        mask[2:5, i : i + 3] = 255
        files[f"masks/scannet/scene0001/frame_{i:04d}_obj2.png"] = _png(mask)
    qa = [{"question": "Where is the chair?", "options": ["A. left", "B. right"], "answer": "B"}]
    files["multi_json/scannet/scene0001_sceneqa.json"] = json.dumps(qa).encode()
    masks = {"chair_2": {"question": "Segment the chair.", "crop_caption": "a chair"}}
    files["multi_json/scannet/scene0001_scenemask.json"] = json.dumps(masks).encode()
    return files


def test_fetch_spatial_pins_resumes_and_loads(tmp_path: Path) -> None:
    files = _release()
    out = tmp_path / "BenchDatasets"
    with FakeHub(REPO, files, COMMIT) as hub:
        first = fetch_cli("spatial", out, hub, tmp_path)
        assert first.returncode == 0, first.stderr
        record = json.loads((out / "FETCHED.json").read_text())
        assert record["repo_id"] == REPO and record["revision"] == COMMIT
        assert {f["path"]: f["sha256"] for f in record["files"]} == {
            p: hashlib.sha256(d).hexdigest() for p, d in files.items()
        }
        lost = "masks/scannet/scene0001/frame_0001_obj2.png"
        (out / lost).unlink()
        hub.seen.clear()
        again = fetch_cli("spatial", out, hub, tmp_path)
        assert again.returncode == 0, again.stderr
        assert hub.downloads() == [lost]
    mask, qa = load_samples(out)  # file order: scene0001_scenemask before _sceneqa
    assert qa.task == "spatial/sceneqa" and qa.category == "Object-Scene"
    assert mask.task == "spatial/scenemask" and mask.metadata["object"] == "obj2"
    assert isinstance(mask.target, MasksTarget) and len(mask.target.paths) == 3
