"""Shared pieces of the generated AVI-Bench tasks: one task folder, its `data.json` entries in
the release format, and per-item random generators seeded by (seed, task, index)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from omnieval.benchmarks.avibench.synth_definitions import STAGE_OF
from omnieval.benchmarks.avibench.synth_signals import write_mp4, write_wav


def item_rng(seed: int, task: str, index: int) -> np.random.Generator:
    """The same (seed, task, index) always draws the same item, whatever else is generated."""
    return np.random.default_rng([seed, zlib.crc32(task.encode()), index])


@dataclass
class TaskFolder:
    """`levels/<stage>/<TASK>/`: media under `input/`, entries collected for `data.json`."""

    levels: Path
    task: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.levels / STAGE_OF[self.task] / self.task

    def media(self, relative: str) -> tuple[Path, str]:
        """(absolute path to write, the `./input/...` reference data.json records)."""
        return self.root / "input" / relative, f"./input/{relative}"

    def add(
        self,
        item_id: str,
        subtask: str,
        text: str | None,
        answer: Any,
        *,
        prompt: str | None = None,
        options: str | None = None,
        video: str | None = None,
        audios: list[str] | None = None,
        images: list[str] | None = None,
    ) -> None:
        question: dict[str, Any] = {"prompt": prompt, "text": text}
        if options is not None:
            question["options"] = options
        self.entries.append(
            {
                "id": item_id,
                "task": self.task,
                "subtask": subtask,
                "input": {
                    "question": question,
                    "video": video,
                    "audio_list": audios,
                    "image_list": images,
                },
                "output": {"question_answer": answer},
            }
        )

    def add_pair(
        self,
        item_id: str,
        subtask: str,
        text: str,
        answer: Any,
        pre_text: str,
        pre_answer: str,
        *,
        pre_options: str,
        **media: Any,
    ) -> None:
        """A formal question followed by its `pre_` double-confirm question on the same media."""
        self.add(item_id, subtask, text, answer, **media)
        media = {**media, "options": pre_options}
        self.add(f"pre_{item_id}", subtask, pre_text, pre_answer, **media)


def write_clip(
    folder: TaskFolder, item: str, frames: np.ndarray, audio: np.ndarray
) -> dict[str, Any]:
    """An mp4 with its soundtrack plus the same soundtrack as a wav (upstream ships both): the
    media keyword arguments of `TaskFolder.add`."""
    video, video_ref = folder.media(f"videos/{item}.mp4")
    wav, wav_ref = folder.media(f"wavs/{item}.wav")
    write_mp4(video, frames, audio)
    write_wav(wav, audio)
    return {"video": video_ref, "audios": [wav_ref]}
