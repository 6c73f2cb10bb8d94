"""J and F on hand-built masks with known answers: the DAVIS definitions (`davis`), upstream's
band boundary (`band`), the sequence statistics and the handling of frames without a
prediction."""

from __future__ import annotations

import numpy as np
import pytest

from omnieval.benchmarks.spatial.jf import (
    band_jf,
    davis_f_dilation,
    davis_jf,
    frame_jf,
    resize_nearest,
    seg2bmap,
    statistics,
    tolerance,
)
from omnieval.benchmarks.spatial.scoring import first_token, sequence_scores

DAVIS = (480, 854)


def blank(shape: tuple[int, int] = DAVIS) -> np.ndarray:
    return np.zeros(shape, dtype=bool)


def square(top: int, left: int, side: int, shape: tuple[int, int] = DAVIS) -> np.ndarray:
    mask = blank(shape)
    mask[top : top + side, left : left + side] = True
    return mask


def pixel(row: int, col: int, shape: tuple[int, int] = DAVIS) -> np.ndarray:
    mask = blank(shape)
    mask[row, col] = True
    return mask


def test_tolerance_follows_the_diagonal() -> None:
    assert tolerance((480, 854)) == 8
    assert tolerance((720, 1280)) == 12
    assert tolerance((1080, 1920)) == 18
    assert tolerance((64, 64)) == 1
    assert tolerance((480, 854), bound_th=3) == 3


def test_empty_and_full_frames() -> None:
    empty, full = blank(), np.ones(DAVIS, dtype=bool)
    assert davis_jf(empty, empty) == (1.0, 1.0)
    assert band_jf(empty, empty) == (1.0, 1.0)
    some = square(100, 100, 50)
    assert davis_jf(empty, some) == (0.0, 0.0)  # predicted nothing where there is an object
    assert davis_jf(some, empty) == (0.0, 0.0)  # predicted an object where there is none
    assert band_jf(empty, some) == (0.0, 0.0)
    # an all-ones mask has no seg2bmap boundary: both boundaries empty -> F = 1
    assert not seg2bmap(full).any()
    assert davis_jf(full, full) == (1.0, 1.0)
    j, f = davis_jf(full, some)
    assert j == pytest.approx(2500 / full.size) and f == 0.0


def test_seg2bmap_leaves_image_borders_out() -> None:
    left_half = blank((40, 60))
    left_half[:, :30] = True  # touches the top, left and bottom borders
    boundary = seg2bmap(left_half)
    assert boundary.sum() == 40  # only the column next to the right edge of the mask
    assert boundary[:, 29].all() and not boundary[:, :29].any()
    one = seg2bmap(pixel(10, 10, (40, 60)))
    assert sorted(map(tuple, np.argwhere(one))) == [(9, 9), (9, 10), (10, 9), (10, 10)]
    corner = blank((40, 60))
    corner[-1, -1] = True
    assert seg2bmap(corner)[-1, -1] == 0  # the bottom-right pixel is never boundary


def seg2bmap_by_the_definition(seg: np.ndarray) -> np.ndarray:
    """The toolkit's definition spelled out: east / south / south-east maps padded with zeros,
    then the last row and column overridden."""
    east, south, south_east = (np.zeros_like(seg) for _ in range(3))
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    out = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    out[-1, :] = seg[-1, :] ^ east[-1, :]
    out[:, -1] = seg[:, -1] ^ south[:, -1]
    out[-1, -1] = False
    return out


def test_seg2bmap_matches_its_definition() -> None:
    rng = np.random.default_rng(11)
    for shape in ((1, 1), (1, 7), (6, 1), (13, 17)):
        for _ in range(5):
            seg = rng.random(shape) > 0.5
            assert (seg2bmap(seg) == seg2bmap_by_the_definition(seg)).all()


def test_one_pixel_objects_davis_tolerates_band_does_not() -> None:
    gt = pixel(200, 300)
    assert davis_jf(gt, gt) == (1.0, 1.0)
    near = pixel(200, 305)  # 5 px away: inside the 8 px DAVIS tolerance at 480x854
    j, f = davis_jf(near, gt)
    assert j == 0.0 and f == 1.0
    j_band, f_band = band_jf(near, gt)
    assert j_band == 0.0 and f_band == 0.0  # a 2-iteration cross dilation does not reach
    far = pixel(200, 312)  # 12 px: outside 8 px, inside 12 px (720x1280's tolerance)
    assert davis_jf(far, gt)[1] == 0.0
    assert davis_jf(pixel(200, 312, (720, 1280)), pixel(200, 300, (720, 1280)))[1] == 1.0


def test_thin_lines() -> None:
    gt = blank()
    gt[240, 100:700] = True
    shifted = blank()
    shifted[244, 100:700] = True  # 4 rows down
    j, f = davis_jf(shifted, gt)
    assert j == 0.0 and f == 1.0
    assert band_jf(shifted, gt)[1] == 0.0
    one_row = blank()
    one_row[241, 100:700] = True
    assert band_jf(one_row, gt)[1] == 1.0  # within the band's 2 px


def test_partial_overlap_has_known_iou() -> None:
    gt = square(100, 100, 100)
    pred = square(100, 150, 100)  # half overlapping
    j, _ = davis_jf(pred, gt)
    assert j == pytest.approx(5000 / 15000)


def test_fast_davis_matches_the_toolkit_way_on_random_shapes() -> None:
    rng = np.random.default_rng(7)
    for shape in ((480, 854), (120, 160), (37, 53)):
        for _ in range(4):
            gt = _blobs(rng, shape)
            pred = _blobs(rng, shape) if rng.random() < 0.5 else np.roll(gt, 3, axis=1)
            _, fast = davis_jf(pred, gt)
            assert fast == pytest.approx(davis_f_dilation(pred, gt), abs=1e-12)


def test_touching_the_border_matches_the_toolkit_way() -> None:
    gt = blank()
    gt[:100, :200] = True
    gt[-50:, -80:] = True
    pred = blank()
    pred[:110, :190] = True
    pred[-40:, -90:] = True
    assert davis_jf(pred, gt)[1] == pytest.approx(davis_f_dilation(pred, gt))


def _blobs(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    mask = np.zeros(shape, dtype=bool)
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        ry, rx = rng.uniform(2, shape[0] / 3), rng.uniform(2, shape[1] / 3)
        mask |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    return mask


def test_prediction_is_resized_to_the_ground_truth() -> None:
    gt = square(0, 0, 20, (40, 40))
    small = square(0, 0, 10, (20, 20))
    assert resize_nearest(small, (40, 40)).sum() == 400
    assert frame_jf(small, gt) == (1.0, 1.0)


def test_statistics_recall_and_decay() -> None:
    stats = statistics([1.0, 1.0, 0.0, 0.0])
    assert stats.mean == 0.5 and stats.recall == 0.5 and stats.decay == 1.0
    assert statistics([0.5, 0.6]).recall == 0.5  # strictly above 0.5
    long = statistics([1.0] * 150 + [0.0] * 150)  # past 256 frames: no uint8 wrap
    assert long.decay == 1.0


def test_missing_frames_count_as_empty_by_default() -> None:
    truth = [square(50 + 5 * i, 60, 40) for i in range(6)]
    complete = dict(enumerate(truth))
    half = {i: truth[i] for i in range(3)}
    full_scores = sequence_scores(complete, truth)
    half_scores = sequence_scores(half, truth)
    assert full_scores["J&F"] == 1.0
    assert half_scores["J&F"] == pytest.approx(0.5)
    assert half_scores["predicted"] == 3 and half_scores["frames"] == 6
    # upstream parity: frames without a prediction are not scored
    assert sequence_scores(half, truth, missing_frames="skip")["J&F"] == 1.0
    assert sequence_scores({}, truth, missing_frames="skip")["J&F"] == 0.0


def test_band_and_davis_differ_on_a_sequence() -> None:
    truth = [pixel(100, 100 + i) for i in range(4)]
    shifted = {i: pixel(100, 104 + i) for i in range(4)}
    assert sequence_scores(shifted, truth, "davis")["F"] == 1.0
    assert sequence_scores(shifted, truth, "band")["F"] == 0.0


def test_first_token_parity_is_strict() -> None:
    assert first_token("A.").value == "A"
    assert first_token("b, because").value == "B"
    assert first_token("The answer is A").value == "THE"
    assert first_token("(A)").value == "(A)"
    assert not first_token("  ").ok
