"""The release-layout loader (numeric frame order, subsampling with aligned ground truth, clear
errors) and the mask artifact encodings (PNG, run-length, stored by reference with digests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.spatial.loader import load_samples, natural_key, subsample
from omnieval.benchmarks.spatial.masks import (
    MaskFormatError,
    artifact_reader,
    decode_rle,
    encode_rle,
    mask_artifacts,
    object_masks,
    read_masks,
)
from omnieval.benchmarks.spatial.scoring import ground_truth, sequence_scores
from omnieval.runner.artifacts import ArtifactStore
from omnieval.types import Artifact, ChoiceTarget, ImagePart, MasksTarget


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def moving_square(frame: int, shape: tuple[int, int] = (24, 32)) -> np.ndarray:
    """A mask that differs on every frame: a 6x6 square sliding right by 2 px per frame."""
    mask = np.zeros(shape, dtype=np.uint8)
    mask[8:14, 2 + 2 * frame : 8 + 2 * frame] = 255
    return mask


def release(root: Path, frames: int = 11, qa: object = None, masks: object = None) -> Path:
    """A one-scene release: frames frame_0..frame_{n-1} (unpadded, so the numeric order
    matters), a moving object obj1, a QA file and a mask file."""
    scene = "kitchen_01"
    for i in range(frames):
        image = np.stack([moving_square(i)] * 3, axis=-1)
        _png(root / "frames" / "ds" / scene / f"frame_{i}.png", image)
        _png(root / "masks" / "ds" / scene / f"frame_{i:04d}_obj1.png", moving_square(i))
    base = root / "multi_json" / "ds"
    base.mkdir(parents=True, exist_ok=True)
    qa_items = (
        qa
        if qa is not None
        else [
            {
                "question": "Is the square moving right?",
                "options": ["A. yes", "B. no"],
                "answer": "a",
            }
        ]
    )
    mask_items = masks if masks is not None else {"square_1": {"question": "Segment the square."}}
    (base / f"{scene}_cameraqa.json").write_text(json.dumps(qa_items))
    (base / f"{scene}_objmask.json").write_text(json.dumps(mask_items))
    (base / f"{scene}_frame_sampling.json").write_text("not json: skipped like upstream")
    return root


def test_frames_sort_numerically_and_items_are_typed(tmp_path: Path) -> None:
    root = release(tmp_path)
    samples = load_samples(root)
    assert [s.task for s in samples] == ["spatial/cameraqa", "spatial/objmask"]
    qa, mask = samples
    names = [p.path.name for p in qa.parts if isinstance(p, ImagePart) and p.path]
    assert names == [f"frame_{i}.png" for i in range(11)]  # frame_10 last, not third
    assert isinstance(qa.target, ChoiceTarget)
    assert qa.target.answer == "A" and qa.target.options == ("yes", "no")
    assert qa.category == "Camera-Object" and mask.category == "Inter-Object"
    assert mask.metadata["object"] == "obj1" and mask.metadata["gt_frames"] == list(range(11))
    assert natural_key("frame_9") < natural_key("frame_10")


def test_subsampled_frames_score_against_their_own_ground_truth(tmp_path: Path) -> None:
    root = release(tmp_path)
    assert subsample(11, 4) == [0, 3, 6, 10]
    (sample,) = load_samples(root, task_type="mask", max_frames=4)
    shown = sample.metadata["frames"]
    assert shown == [0, 3, 6, 10]
    assert isinstance(sample.target, MasksTarget)
    assert [p.name for p in sample.target.paths] == [f"frame_{i:04d}_obj1.png" for i in shown]
    # a perfect model: the true mask of every frame it was shown, read off the frame itself
    frames = [p.path for p in sample.parts if isinstance(p, ImagePart) and p.path]
    predicted = {i: np.asarray(Image.open(f).convert("L")) > 0 for i, f in enumerate(frames)}
    truth = ground_truth(sample.target.paths, sample.metadata["gt_frames"], 4, (24, 32))
    assert sequence_scores(predicted, truth)["J&F"] == 1.0
    # upstream's bug, kept as a labelled parity switch: GT frames 0..3 whatever was shown
    (parity,) = load_samples(root, task_type="mask", max_frames=4, alignment="upstream")
    assert isinstance(parity.target, MasksTarget)
    assert [p.name for p in parity.target.paths] == [f"frame_{i:04d}_obj1.png" for i in range(4)]
    wrong = ground_truth(parity.target.paths, parity.metadata["gt_frames"], 4, (24, 32))
    assert sequence_scores(predicted, wrong)["J&F"] < 0.7


def test_missing_ground_truth_frames_are_empty(tmp_path: Path) -> None:
    root = release(tmp_path, frames=4)
    (root / "masks" / "ds" / "kitchen_01" / "frame_0002_obj1.png").unlink()
    (sample,) = load_samples(root, task_type="mask")
    assert sample.metadata["gt_frames"] == [0, 1, 3]
    assert isinstance(sample.target, MasksTarget)
    truth = ground_truth(sample.target.paths, sample.metadata["gt_frames"], 4, (480, 640))
    assert truth[2].shape == (24, 32) and not truth[2].any()


def test_task_type_and_limit(tmp_path: Path) -> None:
    qa = [{"question": f"q{i}", "options": ["A. x", "B. y"], "answer": "B"} for i in range(5)]
    root = release(tmp_path, frames=2, qa=qa)
    assert {s.task for s in load_samples(root, task_type="qa")} == {"spatial/cameraqa"}
    assert len(load_samples(root, task_type="qa", limit=2)) == 2


def test_bad_files_are_named(tmp_path: Path) -> None:
    root = release(tmp_path, frames=2, qa=[{"question": "q", "options": ["A. x"], "answer": "C"}])
    with pytest.raises(DatasetError, match=r"kitchen_01_cameraqa\.json item 0.*'C'"):
        load_samples(root)
    root2 = release(tmp_path / "two", frames=2, masks={"nonumber": {"question": "q"}})
    with pytest.raises(DatasetError, match=r"objmask\.json object 'nonumber'"):
        load_samples(root2)
    (root2 / "multi_json" / "ds" / "x_weird.json").write_text("[]")
    with pytest.raises(DatasetError, match=r"x_weird\.json: the name must be"):
        load_samples(root2, task_type="qa")
    with pytest.raises(DatasetError, match="multi_json does not exist"):
        load_samples(tmp_path / "nothing")


def test_run_length_round_trip() -> None:
    rng = np.random.default_rng(3)
    for mask in (rng.random((17, 23)) > 0.5, np.ones((4, 5), bool), np.zeros((4, 5), bool)):
        assert (decode_rle(encode_rle(mask), mask.shape) == mask).all()
    assert encode_rle(np.array([[1, 1, 0]])) == "0 2 1"
    with pytest.raises(MaskFormatError, match="sum to"):
        decode_rle("1 2", (2, 2))


def test_mask_artifacts_stored_by_reference_and_read_back(tmp_path: Path) -> None:
    masks = {"obj1": {0: moving_square(0) > 0, 2: moving_square(2) > 0}}
    store = ArtifactStore(tmp_path / "run")
    for encoding in ("png", "rle"):
        stored = store.store(f"trial{encoding}", mask_artifacts(masks, encoding))
        assert all(a.path and a.sha256 and a.data is None for a in stored)
        read = read_masks(stored, artifact_reader(tmp_path / "run"))
        assert sorted(read["obj1"]) == [0, 2]
        assert (read["obj1"][2] == masks["obj1"][2]).all()
    # another name for the only object is still read as the expression's object
    assert sorted(object_masks({"person": masks["obj1"]}, "obj1")) == [0, 2]
    # a stored file whose bytes changed no longer matches its digest
    (stored_png,) = store.store("tamper", mask_artifacts({"obj1": {0: masks["obj1"][0]}}))
    assert stored_png.path is not None
    (tmp_path / "run" / stored_png.path).write_bytes(b"not the same bytes")
    with pytest.raises(MaskFormatError, match="does not match its sha256"):
        read_masks([stored_png], artifact_reader(tmp_path / "run"))


def test_ground_truth_named_artifacts_map_to_positions(tmp_path: Path) -> None:
    path = tmp_path / "frame_0007_obj2.png"
    _png(path, moving_square(1))
    artifact = Artifact(name=path.name, kind="mask", mime="image/png", source=path)
    read = read_masks(
        [artifact], artifact_reader(None), [path.name], target_frames=[3], target_object="obj2"
    )
    assert list(read["obj2"]) == [3]
