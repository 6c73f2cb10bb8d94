"""V-SYNC Level 1 as an omnieval task: conditions `avt` / `vt` / `at`, letter extraction, accuracy.

Conditions are modality ablations, as upstream's `benchmark.level1.modality`:
- `avt`: the video with its audio track, and the ASR transcript block;
- `vt`: the video without its audio track, and no ASR block;
- `at`: the audio track alone (no frames), and the ASR block.
A model that takes video natively loses the channel; a model that needs frames and a transcript
(transport policy) loses the frames or the transcript.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, Task, choice_target
from omnieval.benchmarks.vsync.level1_parity import level1_parity_metrics
from omnieval.benchmarks.vsync.loader import TASK_NAME, find_layout, load_vsync
from omnieval.benchmarks.vsync.prompts import VsyncPrompt, build_prompt
from omnieval.scoring.extract import CHOICE_RULES_VERSION
from omnieval.scoring.extractors import (
    ANSWER_PATHS,
    AnswerPath,
    extract_choice,
    extract_choice_vsync_parity,
)
from omnieval.scoring.metrics import accuracy
from omnieval.scoring.tree import JointMetric
from omnieval.types import (
    AudioPart,
    ChoiceTarget,
    Extraction,
    Part,
    Request,
    Response,
    Sample,
    Score,
    TextPart,
    TrialContext,
    VideoPart,
)

Scoring = Literal["default", "vsync"]
AnswerPathChoice = Literal["auto", "direct", "http"]
#: providers through which upstream's API models (GPT-4o, Gemini) answer: its "direct" path
API_PROVIDERS = ("openai", "gemini")
VARIANTS = ("avt", "vt", "at")


class VsyncLevel1(Task):
    """ "At time t, who is speaking?"-style questions with four (or fewer) lettered options."""

    name = TASK_NAME
    version = "1"
    conditions = VARIANTS
    default_conditions = VARIANTS

    def __init__(
        self,
        dataset_path: Path,
        video_dir: Path,
        prompt: VsyncPrompt,
        scoring: Scoring = "default",
        allow_outside_paths: bool = False,
        answer_path: AnswerPathChoice = "auto",
    ) -> None:
        self.dataset_path = dataset_path
        self.video_dir = video_dir
        self.prompt = prompt
        self.scoring = scoring
        self.allow_outside_paths = allow_outside_paths
        self.answer_path = answer_path

    @cached_property
    def _samples(self) -> list[Sample]:
        return load_vsync(self.dataset_path, self.video_dir, self.allow_outside_paths)

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def build_request(self, sample: Sample, condition: str) -> Request:
        self.check_conditions([condition])
        variant = condition
        target = choice_target(sample)
        use_audio = variant in ("avt", "at")
        video = sample.parts[0]
        assert isinstance(video, VideoPart)
        media: Part
        if variant == "avt":
            media = VideoPart(path=video.path, window=video.window, with_audio=True)
        elif variant == "vt":
            media = VideoPart(path=video.path, window=video.window, with_audio=False)
        else:
            media = AudioPart(path=video.path, window=video.window)
        text = build_prompt(
            self.prompt,
            question=sample.metadata["question"],
            options=_option_lines(sample, target),
            letters=target.option_letters(),
            asr=sample.metadata.get("asr_content", "") if use_audio else None,
        )
        return Request(parts=(media, TextPart(text=text)))

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        target = choice_target(ctx.sample)
        if self.scoring == "vsync":
            return extract_choice_vsync_parity(
                response.text, target.option_letters(), (), answer_path=self.path_for(ctx)
            )
        return extract_choice(response.text, target.option_letters(), target.options)

    def path_for(self, ctx: TrialContext) -> AnswerPath:
        """Upstream's answer path for this trial's model: API models are parsed as returned
        (`direct`), local models through V-SYNC's HTTP client with its last-line trim (`http`)."""
        if self.answer_path != "auto":
            return self.answer_path
        return "direct" if ctx.model.get("provider") in API_PROVIDERS else "http"

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        return Score(values=accuracy(extraction, choice_target(ctx.sample)))

    def groups(self, sample: Sample) -> list[str]:
        groups = super().groups(sample)
        offset = sample.metadata.get("synth", {}).get("offset_ms")
        if sample.category and offset is not None:
            groups.append(f"{sample.category}/offset{int(offset):+d}ms")
        return groups

    def fingerprint(self) -> dict[str, Any]:
        return {"task": self.name, "version": self.version, "prompt": self.prompt.model_dump()}

    def scoring_fingerprint(self) -> dict[str, Any]:
        fingerprint: dict[str, Any] = {
            "scoring": self.scoring,
            "choice_rules": CHOICE_RULES_VERSION,
        }
        if self.scoring == "vsync":
            fingerprint["answer_path"] = self.answer_path
        return fingerprint


def _option_lines(sample: Sample, target: ChoiceTarget) -> list[str]:
    """The dataset's own option lines, unless the options were rotated (then `X. text`)."""
    raw = [str(o) for o in sample.metadata.get("options", [])]
    if len(raw) == len(target.options) and all(
        line.rstrip().endswith(text.strip()) for line, text in zip(raw, target.options, strict=True)
    ):
        return raw
    return target.lettered_options()


@registry.benchmarks.register("vsync")
class VsyncBenchmark(Benchmark):
    """V-SYNC from a directory in the official layout (released data or a generated edition).

    Arguments (the `args:` of a benchmark in the run config):
    - `data_dir`: the V-SYNC root (holding `data/level_1/dataset.json`), or
      `dataset_path` + `video_dir` to point at the files directly;
    - `scoring`: `default` (robust letter extraction) or `vsync` (upstream parity);
    - `answer_path` (parity only): `auto` (default: `direct` for models reached through the
      `openai` / `gemini` providers, as upstream parses API models; `http` for the others, as
      upstream's local-model client trims), or `direct` / `http` to force one;
    - `prompt`: overrides of the prompt blocks `system`, `user`, `answer_format`;
      `prompt: upstream` uses the exact upstream strings;
    - `allow_outside_paths`: read `video_path`s that leave the video directory (default: such
      items are refused).
    """

    name = "vsync"

    def __init__(
        self,
        data_dir: str | Path | None = None,
        dataset_path: str | Path | None = None,
        video_dir: str | Path | None = None,
        scoring: Scoring = "default",
        prompt: dict[str, str] | str | None = None,
        allow_outside_paths: bool = False,
        answer_path: AnswerPathChoice = "auto",
    ) -> None:
        if answer_path not in ("auto", *ANSWER_PATHS):
            raise ValueError(f"vsync answer_path must be auto, direct or http, not {answer_path!r}")
        if dataset_path is not None:
            dataset = Path(dataset_path)
            videos = Path(video_dir) if video_dir else dataset.parent / "videos"
        elif data_dir is not None:
            dataset, videos = find_layout(Path(data_dir))
            if video_dir is not None:
                videos = Path(video_dir)
        else:
            raise ValueError("vsync needs `data_dir` (or `dataset_path` and `video_dir`)")
        if scoring not in ("default", "vsync"):
            raise ValueError(f"vsync scoring must be 'default' or 'vsync', not {scoring!r}")
        if prompt == "upstream":
            blocks = VsyncPrompt.upstream()
        elif isinstance(prompt, dict):
            blocks = VsyncPrompt(**prompt)
        else:
            blocks = VsyncPrompt()
        self._task = VsyncLevel1(dataset, videos, blocks, scoring, allow_outside_paths, answer_path)

    def tasks(self) -> list[Task]:
        return [self._task]

    def joint_metrics(self) -> list[JointMetric]:
        """With `scoring: vsync`, upstream's accuracy counting failed calls wrong."""
        return level1_parity_metrics() if self._task.scoring == "vsync" else []
