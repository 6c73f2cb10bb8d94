"""V-SYNC Levels 2/3 in the runner: prefix cuts happen in worker threads (never on the event
loop) and once per prefix even when threads race; the progress bar shows each headline metric
in its own terms (accuracy as a percentage, a 0-100 judge quality as a plain mean)."""

from __future__ import annotations

import asyncio
import io
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from omnieval import api
from omnieval.benchmarks.vsync import level2_task, prefix
from omnieval.benchmarks.vsync.level2_loader import load_when
from omnieval.benchmarks.vsync.synth_when import VsyncWhenConfig, generate_vsync_when
from omnieval.media import MediaCache
from omnieval.runner.progress import ProgressBoard
from omnieval.types import MetricKind, MetricSpec, VideoPart

N = 3  # one item of each kind: yes, no-mid-utterance, no-other-addressee


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vsync-when-runner")
    generate_vsync_when(out, N, seed=5, config=VsyncWhenConfig(speech="formant"))
    return out


def _config(edition: Path, tmp_path: Path, progress: bool) -> dict[str, Any]:
    return {
        "name": "runner",
        "output": str(tmp_path / "runs"),
        "progress": progress,
        "benchmarks": [
            {
                "name": "vsync-level2",
                "args": {"data_dir": str(edition), "cache_dir": str(tmp_path / "cache")},
                "variants": ["avt", "vt", "at"],
            }
        ],
        "models": ["vsync-solver"],
        "judges": {"judge": {"provider": "vsync-judge"}},
    }


def test_prefix_cuts_run_in_worker_threads_and_progress_shows_metric_kinds(
    edition: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = level2_task.video_prefix
    on_loop: list[bool] = []

    def watched(*args: Any, **kwargs: Any) -> Path:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real(*args, **kwargs)

    monkeypatch.setattr(level2_task, "video_prefix", watched)
    screen = io.StringIO()
    console = Console(file=screen, width=200, force_terminal=False, color_system=None)
    outcome = api.evaluate(_config(edition, tmp_path, progress=True), console=console)

    yes_items = 1
    assert len(on_loop) == 3 * (N + yes_items)  # one request per when- and how-trial
    assert not any(on_loop), "a prefix was cut on the event loop"
    cached = list((tmp_path / "cache").rglob("*.mp4"))
    assert len(cached) == N  # one prefix per item, shared by conditions and levels

    shown = screen.getvalue()
    status = re.findall(r"acc (\d+(?:\.\d+)?)%\s+quality (\d+(?:\.\d+)?)", shown)
    assert status, shown
    accuracy, quality = (float(v) for v in status[-1])
    when = [r for r in outcome.records if r.trial.task == "vsync/when"]
    how = [r for r in outcome.records if r.trial.task == "vsync/how"]
    assert accuracy == pytest.approx(
        100 * sum(r.score.values["accuracy"] for r in when if r.score) / len(when), abs=0.05
    )
    assert quality == pytest.approx(
        sum(r.score.values["quality"] for r in how if r.score) / len(how), abs=0.05
    )
    assert not re.search(r"acc (\d{4,}|[2-9]\d\d|1\d\d\.[1-9])", shown)  # never above 100%


def test_threads_racing_for_one_prefix_cut_it_once(
    edition: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = load_when(
        edition / "data" / "level_2" / "annotations.json", edition / "data" / "level_2" / "videos"
    )[0]
    video = sample.parts[0]
    assert isinstance(video, VideoPart)
    real = prefix._write_prefix
    cuts: list[int] = []

    def counted(*args: Any) -> None:
        cuts.append(1)
        real(*args)

    monkeypatch.setattr(prefix, "_write_prefix", counted)
    cache = MediaCache(tmp_path / "race")
    start = threading.Barrier(4)
    found: list[Path] = []

    def ask() -> None:
        start.wait()
        found.append(prefix.video_prefix(video.path, float(sample.metadata["t"]), cache))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(found) == 4 and len(set(found)) == 1 and found[0].is_file()
    assert len(cuts) == 1


def test_progress_status_keeps_each_metric_in_its_own_terms() -> None:
    board = ProgressBoard(totals={"m": 4}, enabled=False)
    quality = MetricSpec(name="quality", kind=MetricKind.BOUNDED, low=0.0, high=100.0)
    accuracy = MetricSpec(name="accuracy", kind=MetricKind.BINARY)
    board.record("m", False, 1.0, 0, accuracy)
    board.record("m", False, 0.0, 0, accuracy)
    board.record("m", False, 75.0, 0, quality)
    board.record("m", True, None, 2, quality)
    tally = board.tallies["m"]
    assert tally.status() == "acc 50.0%  quality 75"
    assert (tally.done, tally.failed, tally.retries) == (4, 1, 2)
    assert ProgressBoard(totals={"m": 1}, enabled=False).tallies["m"].status() == "acc -"
