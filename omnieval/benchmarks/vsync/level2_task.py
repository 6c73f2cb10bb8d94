"""V-SYNC Levels 2 and 3 as omnieval tasks (SocialOmni's "when" and "how" questions).

- `vsync/when` (Level 2): the video prefix [0, t) and "should X speak at t?", options A (yes) and
  B (no). Per-trial accuracy; over each group the corpus metrics macro-F1, precision / recall /
  F1 of YES, extraction failures, and the always-yes and majority baselines on the same items.
- `vsync/how` (Level 3): the prefix and "what should X say?" for every YES item; the answer is
  scored by one or more judges (each a judge role of the run) with the published rubric on
  {0, 25, 50, 75, 100}; `quality` is the mean over judges, and the task's headline is QGold.
  QGold, QEns, Cov+, QEns_joint and zeros join each how-trial with the when-trial of the same
  item and model: joint metrics of the benchmark (`level3_joint`), in results.json's nodes.

Conditions as in Level 1: `avt` (prefix with sound), `vt` (prefix frames only), `at` (prefix
sound only). The prompt never holds a transcript from the dataset (`full_asr` holds the reference
continuation); a model whose transport needs a transcript gets one by ASR of the prefix file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from omnieval.benchmarks.base import Task
from omnieval.benchmarks.vsync.judge_rubric import JUDGE_PROMPT_VERSION, judge_prompt, parse_verdict
from omnieval.benchmarks.vsync.level2_loader import HOW_TASK, WHEN_TASK, how_from_when, load_when
from omnieval.benchmarks.vsync.level2_parity import parity_when_0fab46a
from omnieval.benchmarks.vsync.level23_metrics import always_yes, majority, when_metrics
from omnieval.benchmarks.vsync.prefix import video_prefix
from omnieval.media import MediaCache
from omnieval.scoring.extractors import extract_choice
from omnieval.scoring.judging import JudgeClient
from omnieval.scoring.tree import CorpusMetric
from omnieval.types import (
    AudioPart,
    ChoiceTarget,
    Extraction,
    GenerationParams,
    MetricKind,
    MetricSpec,
    Part,
    Request,
    Response,
    Sample,
    Score,
    TextPart,
    TextTarget,
    TrialContext,
    VideoPart,
)

VARIANTS = ("avt", "vt", "at")
WhenScoring = Literal["default", "socialomni", "socialomni-0fab46a"]
ANSWER_FORMAT = "Answer ONLY with the option letter (A or B). Do not include any other text."
UPSTREAM_ANSWER_FORMAT = (
    "Answer ONLY with the option letter (A, B, C, or D). Do not include any other text."
)
HOW_INSTRUCTION = "Provide a concise natural utterance only, without explanations."
_FIRST_AB = re.compile(r"\b([AB])\b")


class Level2Prompt:
    """The prompt blocks: optional `[SYSTEM]` and user blocks, the answer format (when only)."""

    def __init__(self, system: str = "", user: str = "", answer_format: str = ANSWER_FORMAT):
        self.system, self.user, self.answer_format = system, user, answer_format

    def dump(self) -> dict[str, str]:
        return {"system": self.system, "user": self.user, "answer_format": self.answer_format}

    def head(self) -> list[str]:
        return [f"[SYSTEM]\n{self.system}"] if self.system else []

    def when_text(self, question: str, target: ChoiceTarget) -> str:
        options = "\n".join(
            f"{k}. {o}" for k, o in zip(target.option_letters(), target.options, strict=True)
        )
        blocks = [*self.head(), f"Options:\n{options}"]
        blocks += [self.user] if self.user else []
        blocks += [self.answer_format] if self.answer_format else []
        return "\n\n".join(blocks) + "\n\n" + question

    def how_text(self, question: str) -> str:
        blocks = [*self.head(), *([self.user] if self.user else []), HOW_INSTRUCTION]
        return "\n\n".join(blocks) + "\n\n" + question


def parity_when(text: str | None) -> Extraction:
    """SocialOmni's reading of a when answer: the first character if A/B, else the first
    standalone A/B, else "yes" anywhere -> A, "no" anywhere -> B (a substring: "know" reads B)."""
    s = (text or "").strip()
    if not s:
        return Extraction(value=None, rule="socialomni", ok=False, detail="empty answer")
    up = s.upper()
    if up[0] in "AB":
        return Extraction(value=up[0], rule="socialomni:first-char")
    match = _FIRST_AB.search(up)
    if match:
        return Extraction(value=match.group(1), rule="socialomni:standalone")
    if "yes" in s.lower():
        return Extraction(value="A", rule="socialomni:yes")
    if "no" in s.lower():
        return Extraction(value="B", rule="socialomni:no")
    return Extraction(value=None, rule="socialomni", ok=False, detail="no A/B, yes or no")


class _PrefixTask(Task):
    """Shared: samples from the annotations, the prefix media for each condition."""

    conditions = VARIANTS
    default_conditions = VARIANTS
    builds_media = True  # build_request cuts the prefix: the runner calls it in a worker thread

    def __init__(
        self,
        dataset_path: Path,
        video_dir: Path,
        prompt: Level2Prompt,
        cache: MediaCache,
        allow_outside_paths: bool = False,
    ) -> None:
        self.dataset_path = dataset_path
        self.video_dir = video_dir
        self.prompt = prompt
        self.cache = cache
        self.allow_outside_paths = allow_outside_paths

    @cached_property
    def when_samples(self) -> list[Sample]:
        return load_when(self.dataset_path, self.video_dir, self.allow_outside_paths)

    def prefix_media(self, sample: Sample, condition: str) -> Part:
        """The prefix [0, t) of the sample's video, as this condition sends it."""
        self.check_conditions([condition])
        video = sample.parts[0]
        assert isinstance(video, VideoPart)
        prefix = video_prefix(video.path, float(sample.metadata["t"]), self.cache)
        if condition == "avt":
            return VideoPart(path=prefix, with_audio=True)
        if condition == "vt":
            return VideoPart(path=prefix, with_audio=False)
        return AudioPart(path=prefix)

    def fingerprint(self) -> dict[str, Any]:
        return {"task": self.name, "version": self.version, "prompt": self.prompt.dump()}


def _when_values(records: Sequence[Any]) -> tuple[list[bool], list[bool | None]]:
    gold: list[bool] = []
    pred: list[bool | None] = []
    for record in records:
        values = record.score.values if record.score is not None else {}
        if "gold_yes" not in values:
            continue
        gold.append(values["gold_yes"] >= 0.5)
        p = values.get("pred_yes", -1.0)
        pred.append(None if p < 0 else p >= 0.5)
    return gold, pred


def _corpus(name: str, compute: Callable[[list[bool], list[bool | None]], float]) -> CorpusMetric:
    def run(records: Sequence[Any]) -> float:
        gold, pred = _when_values(records)
        return compute(gold, pred)

    return CorpusMetric(
        spec=MetricSpec(name=name, kind=MetricKind.BOUNDED, low=0.0, high=1.0), compute=run
    )


WHEN_CORPUS = (
    _corpus("macro_f1", lambda g, p: when_metrics(g, p).macro_f1),
    _corpus("yes_precision", lambda g, p: when_metrics(g, p).yes_precision),
    _corpus("yes_recall", lambda g, p: when_metrics(g, p).yes_recall),
    _corpus("yes_f1", lambda g, p: when_metrics(g, p).yes_f1),
    CorpusMetric(
        spec=MetricSpec(
            name="extraction_failures", kind=MetricKind.CONTINUOUS, higher_is_better=False
        ),
        compute=lambda records: float(when_metrics(*_when_values(records)).extraction_failures),
    ),
    _corpus("always_yes_accuracy", lambda g, p: always_yes(g).accuracy),
    _corpus("always_yes_macro_f1", lambda g, p: always_yes(g).macro_f1),
    _corpus("majority_accuracy", lambda g, p: majority(g).accuracy),
    _corpus("majority_macro_f1", lambda g, p: majority(g).macro_f1),
)


class VsyncWhen(_PrefixTask):
    """Level 2: should the named person speak at t? (A yes / B no)."""

    name = WHEN_TASK
    version = "1"
    corpus_metrics = WHEN_CORPUS

    def __init__(self, *args: Any, scoring: WhenScoring = "default", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scoring = scoring

    def samples(self) -> Sequence[Sample]:
        return self.when_samples

    def build_request(self, sample: Sample, condition: str) -> Request:
        target = sample.target
        assert isinstance(target, ChoiceTarget)
        text = self.prompt.when_text(sample.metadata["question"], target)
        return Request(parts=(self.prefix_media(sample, condition), TextPart(text=text)))

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        if self.scoring == "socialomni":
            return parity_when(response.text)
        if self.scoring == "socialomni-0fab46a":
            return parity_when_0fab46a(response.text)
        target = ctx.target
        assert isinstance(target, ChoiceTarget)
        return extract_choice(response.text, target.option_letters(), target.options)

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        """Accuracy against the per-trial target; `gold_yes` / `pred_yes` (-1: unreadable) in
        terms of the dataset's option A (YES), so rotated options are read correctly."""
        target = ctx.target
        assert isinstance(target, ChoiceTarget)
        letters = target.option_letters()
        value = extraction.value if extraction.ok else None
        yes_text = ctx.original.target.options[0]  # type: ignore[union-attr]
        pred = -1.0
        if value in letters:
            pred = float(target.options[letters.index(value)] == yes_text)
        return Score(
            values={
                "accuracy": float(value == target.answer),
                "gold_yes": float(bool(ctx.original.metadata["gold_yes"])),
                "pred_yes": pred,
            }
        )

    def scoring_fingerprint(self) -> dict[str, Any]:
        return {"scoring": self.scoring}


#: deterministic judging (docs/judges.md): temperature 0, a fixed seed, a short verdict
JUDGE_GENERATION = GenerationParams(temperature=0.0, seed=0, max_tokens=200)  # upstream: 200
QUALITY = MetricSpec(name="quality", kind=MetricKind.BOUNDED, low=0.0, high=100.0)


class VsyncHow(_PrefixTask):
    """Level 3: what should the named person say? One utterance, judged on the rubric."""

    name = HOW_TASK
    version = "1"
    metrics = (QUALITY,)

    def __init__(
        self,
        *args: Any,
        judge_roles: Sequence[str] = ("judge",),
        parity_positive_only: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not judge_roles:
            raise ValueError("vsync/how needs at least one judge role")
        self.judge_roles = tuple(judge_roles)
        #: reported by the benchmark's joint metrics; a scoring setting (`rescore --set`)
        self.parity_positive_only = parity_positive_only

    def samples(self) -> Sequence[Sample]:
        return how_from_when(self.when_samples)

    def build_request(self, sample: Sample, condition: str) -> Request:
        text = self.prompt.how_text(sample.metadata["how_question"])
        return Request(parts=(self.prefix_media(sample, condition), TextPart(text=text)))

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        text = (response.text or "").strip()
        if not text:
            return Extraction(value=None, rule="utterance", ok=False, detail="empty answer")
        return Extraction(value=text, rule="utterance")

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        """Without judges only an empty answer can be scored (0); see `evaluate`."""
        if not extraction.ok:
            return Score(values={"quality": 0.0, "answered": 0.0})
        raise RuntimeError("vsync/how scores through its judges (Task.evaluate)")

    async def evaluate(
        self, ctx: TrialContext, response: Response, judges: JudgeClient
    ) -> tuple[Extraction, Score]:
        extraction = self.extract(ctx, response)
        if not extraction.ok:
            return extraction, self.score(ctx, extraction)
        target = ctx.target
        assert isinstance(target, TextTarget)
        ask = Request(
            parts=(TextPart(text=judge_prompt(target.references[0], extraction.value)),),
            generation=JUDGE_GENERATION,
        )
        values: dict[str, float] = {"answered": 1.0}
        for role in self.judge_roles:
            verdict = await judges.ask(role, ctx.trial.key, ask, JUDGE_PROMPT_VERSION)
            if verdict.failed:
                raise RuntimeError(f"judge {role!r} failed: {verdict.error}")
            score = parse_verdict(verdict.text)
            if score is None:
                raise RuntimeError(f"judge {role!r} gave no score: {verdict.text!r}")
            values[f"judge_{role}"] = float(score)
        scores = [values[f"judge_{role}"] for role in self.judge_roles]
        values["quality"] = sum(scores) / len(scores)
        return extraction, Score(values=values)

    def reference_answer(self, ctx: TrialContext) -> str:
        target = ctx.target
        assert isinstance(target, TextTarget)
        return target.references[0]

    def scoring_fingerprint(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "judge_prompt": JUDGE_PROMPT_VERSION,
            "judge_roles": list(self.judge_roles),
        }
        if self.parity_positive_only:  # absent when off: earlier runs keep their fingerprint
            found["parity_positive_only"] = True
        return found


__all__ = ["Level2Prompt", "VsyncHow", "VsyncWhen", "parity_when"]
