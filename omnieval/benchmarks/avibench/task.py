"""AVI-Bench tasks: requests, extraction (rules, then the optional refine judge), per-trial
scores in `parity` or `default` mode, and the corpus metrics of the counting, localisation and
retrieval tasks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from omnieval.benchmarks.avibench import metrics_default as fixed
from omnieval.benchmarks.avibench import metrics_parity as upstream
from omnieval.benchmarks.avibench.candidates import structured_candidates
from omnieval.benchmarks.avibench.captions import (
    CaptionMetric,
    caption_score,
    metric_name,
    shared_sbert,
)
from omnieval.benchmarks.avibench.extract import RULES_VERSION, extract
from omnieval.benchmarks.avibench.layout import NO_REFINE, TASKS, Shape
from omnieval.benchmarks.avibench.prompts import SYSTEM, option_words
from omnieval.benchmarks.avibench.refine import (
    ROLE,
    RefinePolicy,
    RefinePrompts,
    default_cleanup,
    refine_request,
)
from omnieval.benchmarks.base import ACCURACY, Task
from omnieval.scoring.tree import CorpusMetric
from omnieval.types import (
    AnswerSpace,
    AudioPart,
    ChoiceTarget,
    DictTarget,
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
    TrialRecord,
    VideoPart,
)

if TYPE_CHECKING:
    from omnieval.scoring.judging import JudgeClient

Mode = Literal["default", "parity"]
VideoAudio = Literal["soundtrack", "separate"]


def _bounded(name: str) -> MetricSpec:
    return MetricSpec(name=name, kind=MetricKind.BOUNDED, low=0.0, high=1.0)


def _records_values(records: Sequence[TrialRecord]) -> list[dict[str, float]]:
    return [r.score.values for r in records if r.score is not None]


class _Corpus:
    """The corpus values of one family (all its metrics at once), remembered for the last
    record list asked about: the metrics of a task share each bootstrap draw, so Average,
    Semantic and Instance are computed once per draw, not once each."""

    def __init__(self, compute: Callable[[Sequence[TrialRecord]], dict[str, float]]) -> None:
        self.compute = compute
        self._last: tuple[Sequence[TrialRecord], dict[str, float]] | None = None

    def metric(self, name: str) -> CorpusMetric:
        def value(records: Sequence[TrialRecord]) -> float:
            last = self._last
            if last is None or last[0] is not records:
                last = (records, self.compute(records))  # holds the list: its id stays unique
                self._last = last
            return last[1][name]

        return CorpusMetric(_bounded(name), value)


def _mic_family() -> tuple[CorpusMetric, ...]:
    family = _Corpus(lambda records: upstream.mic_corpus(_records_values(records)))
    return tuple(family.metric(n) for n in ("Average", "Semantic", "Instance"))


def _avl_family() -> tuple[CorpusMetric, ...]:
    family = _Corpus(lambda records: upstream.avl_corpus(_records_values(records)))
    return tuple(family.metric(n) for n in ("Average", "mIoU", "Instance"))


def _retrieval_family(mode: Mode) -> tuple[CorpusMetric, ...]:
    def compute(records: Sequence[TrialRecord]) -> dict[str, float]:
        scored = [r for r in records if r.score is not None]
        values = [r.score.values for r in scored if r.score is not None]
        lists = [_ranked(r, mode) for r in scored]
        return upstream.retrieval_corpus(values, lists, rounded=mode == "parity")

    family = _Corpus(compute)
    return tuple(family.metric(n) for n in ("Average", "Recall@1", "Recall@3", "F1_score"))


def _ranked(record: TrialRecord, mode: Mode) -> tuple[int, ...]:
    """The index list an item's score used (for the repeat penalty)."""
    value = record.extraction.value if record.extraction is not None else None
    if not isinstance(value, dict):
        return ()
    if mode == "parity":
        return _parity_list(str(value.get("text") or ""))
    return tuple(value.get("answer") or ())


@lru_cache(maxsize=65536)
def _parity_list(text: str) -> tuple[int, ...]:
    return tuple(upstream.retrieval_list(text))


class AviTask(Task):
    """One AVI-Bench task folder (or the pre-questions of one)."""

    version = "1"

    def __init__(
        self,
        name: str,
        folder_task: str,
        samples: list[Sample],
        mode: Mode = "default",
        refine: RefinePolicy = "never",
        prompts: RefinePrompts | None = None,
        video_audio: VideoAudio = "soundtrack",
        caption_metric: CaptionMetric = "sbert",
        is_pre: bool = False,
    ) -> None:
        self.name = name
        self.folder_task = folder_task
        self.shape: Shape = TASKS[folder_task][1]
        self._samples = samples
        self.mode: Mode = mode
        self.refine: RefinePolicy = refine
        self.prompts = prompts or RefinePrompts()
        self.video_audio: VideoAudio = video_audio
        self.caption_metric: CaptionMetric = caption_metric
        self.is_pre = is_pre
        self.metrics, self.corpus_metrics = self._metric_specs()
        self._references_embedded = False

    def _embed_references(self) -> None:
        """Embed every reference caption of the task in one batch (much faster than one
        forward pass per trial); candidates are embedded as their trials are scored."""
        texts = [
            ref
            for sample in self._samples
            if isinstance(sample.target, TextTarget)
            for ref in sample.target.references
        ]
        shared_sbert().embed(texts)
        self._references_embedded = True

    def _metric_specs(self) -> tuple[tuple[MetricSpec, ...], tuple[CorpusMetric, ...]]:
        if self.shape in ("choice", "multi"):
            return (ACCURACY,), ()
        if self.shape == "counts":
            return (), _mic_family()
        if self.shape == "boxes":
            return (), _avl_family()
        if self.shape == "indices":
            return (), _retrieval_family(self.mode)
        if self.shape == "frames":
            return (_bounded("mIoU"),), ()
        return (_bounded(metric_name(self.caption_metric)),), ()

    def samples(self) -> Sequence[Sample]:
        return self._samples

    # ------------------------------------------------------------------ requests

    def build_request(self, sample: Sample, condition: str) -> Request:
        """Images, audios, video, then the text (upstream's order). With a video and separate
        audio, the audio goes once: in the video's soundtrack (`soundtrack`, as upstream's
        adapter sends it) or as the wav beside a muted video (`separate`); the request's
        `dropped` note records which copy was left out."""
        self.check_conditions([condition])
        media = list(sample.parts)
        has_video = any(isinstance(p, VideoPart) for p in media)
        has_audio = any(isinstance(p, AudioPart) for p in media)
        dropped: list[str] = []
        parts: list[Part] = []
        for part in media:
            both = has_video and has_audio
            if both and isinstance(part, AudioPart) and self.video_audio == "soundtrack":
                dropped.append(f"audio {part.path.name} (the video's soundtrack carries it)")
                continue
            if both and isinstance(part, VideoPart) and self.video_audio == "separate":
                dropped.append(f"soundtrack of {part.path.name} (the wav carries the audio)")
                part = part.model_copy(update={"with_audio": False})
            parts.append(part)
        parts.append(TextPart(text=str(sample.metadata["text"])))
        metadata: dict[str, Any] = {"dropped": dropped} if dropped else {}
        return Request(
            parts=tuple(parts),
            system=SYSTEM,
            metadata=metadata,
            answer_space=self._answer_space(sample),
            generation=GenerationParams(max_tokens=1024),
        )

    def _answer_space(self, sample: Sample) -> AnswerSpace | None:
        """The option words of a choice task; otherwise a few candidate answers in the task's
        format (`structured`), so `random` and `constant` can answer every task."""
        options = sample.metadata.get("options")
        words = option_words(options)
        listed = bool(words) and not isinstance(options, str)
        if listed and self.shape in ("choice", "multi"):
            return AnswerSpace(labels=words, options=words)
        candidates = structured_candidates(self.shape, self.folder_task, sample)
        if not candidates:
            return None
        return AnswerSpace(kind="structured", labels=candidates)

    def reference_answer(self, ctx: TrialContext) -> str:
        """The answer text the extractors read back as the truth (the `oracle`)."""
        target = ctx.target
        if self.shape == "multi" and isinstance(target, TextTarget):
            return f"#{target.references[0]}#"
        if isinstance(target, DictTarget):
            return _reference_dict(self.shape, target.value)
        return super().reference_answer(ctx)

    # ------------------------------------------------------------------ extraction

    def _label(self, ctx: TrialContext) -> str | None:
        target = ctx.target
        if isinstance(target, ChoiceTarget):
            return target.answer
        if isinstance(target, TextTarget) and target.references:
            return target.references[0]
        return None

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        options = ctx.sample.metadata.get("options")
        return extract(self.shape, response.text, options, self._label(ctx))

    async def evaluate(
        self, ctx: TrialContext, response: Response, judges: JudgeClient
    ) -> tuple[Extraction, Score]:
        rules = self.extract(ctx, response)
        refinable = self.folder_task not in NO_REFINE
        wanted = self.refine == "always" or (self.refine == "fallback" and not rules.ok)
        if not (refinable and wanted):
            return rules, self.score(ctx, rules)
        request = refine_request(
            self.prompts,
            self.folder_task,
            self.shape,
            response.text or "",
            str(ctx.sample.metadata["text"]),
            ctx.sample.metadata.get("subtask"),
        )
        reply = await judges.ask(ROLE, ctx.trial.key, request, self.prompts.version)
        if reply.failed or reply.text is None:
            if self.mode == "parity":
                # upstream's refine loop catches the error and leaves the raw answer to be scored
                detail = f"refine failed: {reply.error}; the raw answer is scored, as upstream"
                kept = rules.model_copy(update={"detail": detail})
                return kept, self.score(ctx, kept)
            failed = rules.model_copy(update={"detail": f"refine failed: {reply.error}"})
            return failed, Score(values={}, error=f"refine judge failed: {reply.error}")
        text = reply.text
        if self.shape not in ("choice", "multi"):
            text = upstream.clean_refined(text) if self.mode == "parity" else default_cleanup(text)
        refined = extract(
            self.shape,
            text,
            ctx.sample.metadata.get("options"),
            self._label(ctx),
            source=f"refine:{ROLE}",
        )
        why = "rules failed" if not rules.ok else "refine always"
        refined = refined.model_copy(
            update={"detail": f"{why} ({rules.rule}); refine reply: {reply.text[:120]!r}"}
        )
        return refined, self.score(ctx, refined)

    # ------------------------------------------------------------------ scoring

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        value = extraction.value if isinstance(extraction.value, dict) else {}
        text = str(value.get("text") or "")
        answer = value.get("answer")
        target = ctx.target
        parity = self.mode == "parity"
        if self.shape == "choice":
            label = self._label(ctx) or ""
            if parity:
                got = upstream.full_match(text, label, ctx.sample.metadata.get("options"))
            else:
                got = fixed.choice_correct(answer, label)
            return Score(values={"accuracy": got})
        if self.shape == "multi":
            label = self._label(ctx) or ""
            if parity:
                got = upstream.multi_match(text, label)
            else:
                got = fixed.multi_correct(answer, label)
            return Score(values={"accuracy": got})
        if self.shape == "caption":
            assert isinstance(target, TextTarget)
            if parity and (text == ""):
                return Score(values={})  # upstream drops empty captions
            candidate = text if parity else str(answer or "")
            if not candidate.strip() and not parity:
                return Score(values={metric_name(self.caption_metric): 0.0})
            if self.caption_metric == "sbert" and not self._references_embedded:
                self._embed_references()
            got = caption_score(self.caption_metric, candidate, target.references)
            return Score(values={metric_name(self.caption_metric): got})
        assert isinstance(target, DictTarget)
        gold = target.value
        if self.shape == "counts":
            if parity:
                return Score(values=upstream.mic_item(self.folder_task, text, gold))
            return Score(values=fixed.mic_item(self.folder_task, answer, gold))
        if self.shape == "boxes":
            if parity:
                return Score(values=upstream.avl_item(text, gold))
            return Score(values=fixed.avl_item(answer, gold))
        if self.shape == "indices":
            truth = gold["indices"]
            if parity:
                return Score(values=upstream.retrieval_item(upstream.retrieval_list(text), truth))
            return Score(values=fixed.retrieval(answer, truth))
        if parity:
            return Score(values={"mIoU": upstream.avlg_item(text, gold)})
        return Score(values={"mIoU": fixed.avlg_item(answer, gold)})

    # ------------------------------------------------------------------ keys

    def groups(self, sample: Sample) -> list[str]:
        return [str(sample.category)] if sample.category else []

    def fingerprint(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "version": self.version,
            "video_audio": self.video_audio,
        }

    def scoring_fingerprint(self) -> dict[str, Any]:
        found: dict[str, Any] = {"mode": self.mode, "rules": RULES_VERSION, "refine": self.refine}
        if self.refine != "never":
            found["refine_prompts"] = self.prompts.version
            if self.mode == "parity":  # a failed refine call: the raw answer is scored
                found["refine_failed"] = "raw"
        if self.shape == "caption":
            found["caption_metric"] = metric_name(self.caption_metric)
        return found


def _reference_dict(shape: Shape, value: dict[str, Any]) -> str:
    """The truth written in the answer format the prompt asks for (normalised xyxy boxes)."""
    if shape == "counts":
        return repr({k: int(v) for k, v in value.items()})
    if shape == "indices":
        return repr(list(value["indices"]))
    width, height = value["original_wh"]
    boxes: dict[str, Any] = {}
    for key, box in value["bbox"].items():
        if box is None:
            boxes[key] = None
            continue
        x, y, w, h = (float(v) for v in box)
        boxes[key] = [x / width, y / height, (x + w) / width, (y + h) / height]
    return repr(boxes)
