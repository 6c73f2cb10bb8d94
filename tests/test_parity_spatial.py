"""Parity with upstream dyn-bench's metric code (`utils/cal_metrics.py` at b5b3ce8): the
fixture holds what upstream's own functions returned (tests/parity/spatial_upstream.py says how
it was made); omnieval's parity settings must give the same numbers on every row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnieval.benchmarks.spatial.masks import decode_rle
from omnieval.benchmarks.spatial.scoring import first_token, sequence_scores

FIXTURE = json.loads(
    (Path(__file__).parent / "parity" / "fixtures" / "spatial.json").read_text(encoding="utf-8")
)


def _masks(rows: list[dict[str, Any]]) -> list[np.ndarray]:
    return [decode_rle(r["rle"], r["size"]) for r in rows]


@pytest.mark.parametrize("row", FIXTURE["jf"], ids=lambda r: r["name"])
def test_band_jf_with_skipped_frames_matches_upstream(row: dict[str, Any]) -> None:
    pred, gt = _masks(row["pred"]), _masks(row["gt"])
    ours = sequence_scores(
        dict(enumerate(pred)), gt, "band", "skip", band_threshold=row["bound_th"]
    )
    for metric in ("J", "F", "J&F"):
        assert ours[metric] == pytest.approx(row["upstream"][metric], abs=1e-12), metric


def test_first_token_matches_upstream() -> None:
    for row in FIXTURE["qa"]:
        right = first_token(row["prediction"]).value == row["answer"].strip().upper()
        assert float(right) == row["upstream"], row


def test_the_fixture_names_its_source() -> None:
    assert FIXTURE["upstream"].endswith("LilyYang0504/dyn-bench")
    assert FIXTURE["commit"].startswith("b5b3ce8") and len(FIXTURE["jf"]) >= 40
