"""The generated V-SYNC edition: seeded clips and questions in V-SYNC's own Level-1 layout.

`generate_vsync(out, n, seed)` writes

    OUT/edition.json                  generator version, seed, n, full config, speech engine
    OUT/data/level_1/dataset.json     the official item list (+ `category` and `synth` extras)
    OUT/data/level_1/videos/*.mp4     H.264 (yuv420p) + AAC (mono, 16 kHz), written with PyAV

Two task kinds (the `category` of an item):

- `who-is-speaking`: 2-4 faces side by side, every mouth moving all the time with that person's
  own speech, while the soundtrack carries one person at a time (turns of about 1-2 s). "Who is
  speaking at t s?" is answerable only by matching the audible speech to a moving mouth: all
  mouths move (video alone is blind), and voices are drawn at random, independent of the seat
  (audio alone is blind).
- `sync`: one talking face or a series of flash-and-beep events, with the audio shifted by an
  offset from `sync_offsets_ms` (positive = audio later than video). "Is the audio in sync with
  the video?" with the fixed options ahead / in sync / behind.

Everything is drawn from per-item random generators seeded by (seed, index), so an edition is the
same whatever the number of workers, and a larger `n` with the same seed extends a smaller one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from omnieval.benchmarks.vsync.synth_clip import frame_rms, write_json, write_mp4
from omnieval.benchmarks.vsync.synth_config import (
    LETTERS,
    SYNC,
    SYNC_OPTIONS,
    SYNC_QUESTION,
    WHO,
    WHO_QUESTION,
    VsyncSynthConfig,
)
from omnieval.benchmarks.vsync.synth_jobs import category_counts, make_items
from omnieval.benchmarks.vsync.synth_speech import Engine, espeak_version, resolve_engine
from omnieval.benchmarks.vsync.synth_sync import sync_item
from omnieval.benchmarks.vsync.synth_who import seat_label, who_item

# the config, the clip kinds and the writers live in their own modules; importable from here
__all__ = [
    "GENERATOR_VERSION",
    "LETTERS",
    "SYNC",
    "SYNC_OPTIONS",
    "SYNC_QUESTION",
    "WHO",
    "WHO_QUESTION",
    "VsyncSynthConfig",
    "frame_rms",
    "generate_vsync",
    "item_rng",
    "make_item",
    "seat_label",
    "write_mp4",
]

GENERATOR_VERSION = "1"


# --------------------------------------------------------------------------- entry point


def generate_vsync(
    out: Path,
    n: int,
    seed: int,
    config: VsyncSynthConfig | None = None,
    workers: int = 2,
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """Write a generated V-SYNC edition of `n` items under `out`; return its dataset.json path.

    `on_progress(done)` is called after every finished clip with the number finished so far.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, not {seed}")
    cfg = config or VsyncSynthConfig()
    engine = resolve_engine(cfg.speech)
    out = Path(out)
    level = out / "data" / "level_1"
    videos = level / "videos"
    videos.mkdir(parents=True, exist_ok=True)

    jobs = [
        _Job(index=i, seed=seed, config=cfg, engine=engine, video_dir=str(videos)) for i in range(n)
    ]
    items = make_items(make_item, jobs, workers, on_progress)
    dataset = level / "dataset.json"
    write_json(dataset, items)
    # Videos of an earlier edition written to the same place are no longer listed: remove them.
    keep = {item["video_path"] for item in items}
    for stale in videos.glob("vsync-s*-*.mp4"):
        if stale.name not in keep:
            stale.unlink()
    write_json(
        out / "edition.json",
        {
            "benchmark": "vsync",
            "edition": "synth",
            "generator": "omnieval.benchmarks.vsync.synth",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "n": n,
            "config": cfg.model_dump(mode="json"),
            "speech_engine": engine,
            "espeak_version": espeak_version() if engine == "espeak" else None,
            "pyav_version": av.__version__,
            "counts": category_counts(items),
            "dataset": "data/level_1/dataset.json",
            "videos": "data/level_1/videos",
        },
    )
    return dataset


@dataclass(frozen=True)
class _Job:
    index: int
    seed: int
    config: VsyncSynthConfig
    engine: Engine
    video_dir: str


def item_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of item `index` of edition `seed` (independent of everything else)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def make_item(job: _Job) -> dict[str, Any]:
    """Draw, render and encode one item; return its dataset.json record."""
    cfg = job.config
    rng = item_rng(job.seed, job.index)
    is_sync = bool(rng.random() < cfg.sync_share)
    clip = sync_item(rng, cfg, job.engine) if is_sync else who_item(rng, cfg, job.engine)
    item_id = f"vsync-s{job.seed}-{job.index:05d}"
    video_name = f"{item_id}.mp4"
    write_mp4(Path(job.video_dir) / video_name, clip.frames, clip.audio, cfg)
    facts = {
        "generator_version": GENERATOR_VERSION,
        "seed": job.seed,
        "index": job.index,
        "task": clip.category,
        "answer_index": clip.answer,
        "speech_engine": job.engine,
        **clip.facts,
    }
    return {
        "id": item_id,
        "video_path": video_name,
        "question": clip.question,
        "options": [f"{LETTERS[i]}. {text}" for i, text in enumerate(clip.options)],
        "correct_answer": LETTERS[clip.answer],
        "asr_content": clip.asr,
        "category": clip.category,
        "synth": facts,
    }
