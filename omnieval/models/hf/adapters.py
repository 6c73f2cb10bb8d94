"""Per-family adapters: the few things that differ between model families on the generic path.

The generic path is the same for every family: messages -> `processor.apply_chat_template` ->
`processor(text, audio, images, videos)` -> `generate` -> decode. An adapter only says

- which model class to load (and, for the Qwen Omni models, that only the *thinker* generates:
  text output, the talker is never built),
- which inputs the model takes,
- how a video's own audio travels (`interleave` for Qwen Omni's `use_audio_in_video`),
- the extra processor and `generate` keyword arguments that follow from it, and which requests
  may share one batch (the interleaving flag and the video frame rate hold per processor call).

Families are told apart by the checkpoint config's `model_type`, never by the model's name.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

from omnieval.models.hf.messages import Conversation, VideoAudio
from omnieval.types import Modality

FAMILIES = ("generic", "qwen2-audio", "qwen2.5-omni", "qwen3-omni")

#: Auto classes the generic adapter tries, in order, for a config they know.
_GENERIC_AUTO_CLASSES = (
    "AutoModelForMultimodalLM",
    "AutoModelForImageTextToText",
    "AutoModelForVision2Seq",
    "AutoModelForCausalLM",
    "AutoModelForSeq2SeqLM",
)


class FamilyAdapter:
    """The generic adapter; subclasses override what their family does differently."""

    family: ClassVar[str] = "generic"
    #: config `model_type`s this family is detected from ("auto")
    model_types: ClassVar[tuple[str, ...]] = ()

    def inputs(self, processor: Any) -> frozenset[Modality]:
        """What the processor can prepare: text always, plus each media processor it holds."""
        found = {Modality.TEXT}
        if _has(processor, "feature_extractor") or _has(processor, "audio_processor"):
            found.add(Modality.AUDIO)
        if _has(processor, "image_processor"):
            found.add(Modality.IMAGE)
        if _has(processor, "video_processor"):
            found.add(Modality.VIDEO)
        return frozenset(found)

    def video_audio(self, use_audio_in_video: bool) -> VideoAudio:
        return "separate"

    def load_model(
        self, transformers: Any, model_path: str, config: Any, kwargs: dict[str, Any]
    ) -> Any:
        auto_map = getattr(config, "auto_map", None) or {}
        for name in _GENERIC_AUTO_CLASSES:
            auto = getattr(transformers, name, None)
            if auto is None:
                continue
            mapping = getattr(auto, "_model_mapping", None)
            known = name in auto_map or (mapping is not None and type(config) in mapping)
            if known:
                return auto.from_pretrained(model_path, config=config, **kwargs)
        raise ValueError(
            f"{model_path}: no transformers auto class generates text for model_type "
            f"{getattr(config, 'model_type', '?')!r} (tried {', '.join(_GENERIC_AUTO_CLASSES)})"
        )

    def generator(self, model: Any) -> Any:
        """The module whose `generate` produces the text tokens."""
        return model

    def batch_key(self, conv: Conversation) -> Hashable:
        """Requests with equal keys may share one processor and `generate` call."""
        return (conv.interleaved, tuple(sorted(set(conv.video_fps))))

    def processor_kwargs(self, processor: Any, convs: Sequence[Conversation]) -> dict[str, Any]:
        rates = sorted({fps for conv in convs for fps in conv.video_fps})
        if not rates:
            return {}
        # Frames are already sampled; the rate tells the processor how far apart they are.
        return {"fps": rates[0] if len(rates) == 1 else [f for c in convs for f in c.video_fps]}

    def generate_kwargs(self, convs: Sequence[Conversation]) -> dict[str, Any]:
        return {}


class Qwen2AudioAdapter(FamilyAdapter):
    """Qwen2-Audio(-Instruct): text and audio in (audio is cut at 30 s by its processor)."""

    family = "qwen2-audio"
    model_types = ("qwen2_audio",)

    def inputs(self, processor: Any) -> frozenset[Modality]:
        return frozenset({Modality.TEXT, Modality.AUDIO})

    def load_model(
        self, transformers: Any, model_path: str, config: Any, kwargs: dict[str, Any]
    ) -> Any:
        cls = transformers.Qwen2AudioForConditionalGeneration
        return cls.from_pretrained(model_path, config=config, **kwargs)


class QwenOmniAdapter(FamilyAdapter):
    """Qwen Omni models, thinker only (text out); a video's audio is interleaved with its
    frames when `use_audio_in_video` is on."""

    full_class: ClassVar[str] = ""
    thinker_class: ClassVar[str] = ""
    thinker_model_type: ClassVar[str] = ""

    def inputs(self, processor: Any) -> frozenset[Modality]:
        return frozenset(Modality)

    def video_audio(self, use_audio_in_video: bool) -> VideoAudio:
        return "interleave" if use_audio_in_video else "separate"

    def load_model(
        self, transformers: Any, model_path: str, config: Any, kwargs: dict[str, Any]
    ) -> Any:
        if getattr(config, "model_type", None) == self.thinker_model_type:
            cls = getattr(transformers, self.thinker_class)
            return cls.from_pretrained(model_path, config=config, **kwargs)
        # The full checkpoint: build it without the talker (no speech output is ever asked for).
        if hasattr(config, "enable_audio_output"):
            config.enable_audio_output = False
        model = getattr(transformers, self.full_class).from_pretrained(
            model_path, config=config, **kwargs
        )
        if getattr(model, "has_talker", False) and hasattr(model, "disable_talker"):
            model.disable_talker()
        return model

    def generator(self, model: Any) -> Any:
        return getattr(model, "thinker", model)

    def processor_kwargs(self, processor: Any, convs: Sequence[Conversation]) -> dict[str, Any]:
        kwargs = super().processor_kwargs(processor, convs)
        if not any(conv.interleaved for conv in convs):
            return kwargs
        if _accepts(processor, "audio_from_video_indices"):
            # transformers >= 5: one audio per slot, each naming its video (None: standalone).
            indices: list[int | None] = []
            videos_before = 0
            for conv in convs:
                indices += [None if i is None else i + videos_before for i in conv.audio_from_video]
                videos_before += len(conv.videos)
            kwargs["load_audio_from_video"] = True
            kwargs["audio_from_video_indices"] = indices
        else:
            kwargs["use_audio_in_video"] = True  # transformers 4.x
        return kwargs

    def generate_kwargs(self, convs: Sequence[Conversation]) -> dict[str, Any]:
        return {"use_audio_in_video": any(conv.interleaved for conv in convs)}


class Qwen25OmniAdapter(QwenOmniAdapter):
    family = "qwen2.5-omni"
    model_types = ("qwen2_5_omni", "qwen2_5_omni_thinker")
    full_class = "Qwen2_5OmniForConditionalGeneration"
    thinker_class = "Qwen2_5OmniThinkerForConditionalGeneration"
    thinker_model_type = "qwen2_5_omni_thinker"


class Qwen3OmniAdapter(QwenOmniAdapter):
    family = "qwen3-omni"
    model_types = ("qwen3_omni_moe", "qwen3_omni_moe_thinker")
    full_class = "Qwen3OmniMoeForConditionalGeneration"
    thinker_class = "Qwen3OmniMoeThinkerForConditionalGeneration"
    thinker_model_type = "qwen3_omni_moe_thinker"


_ADAPTERS: dict[str, type[FamilyAdapter]] = {
    cls.family: cls
    for cls in (FamilyAdapter, Qwen2AudioAdapter, Qwen25OmniAdapter, Qwen3OmniAdapter)
}


def adapter_for(family: str) -> FamilyAdapter:
    try:
        return _ADAPTERS[family]()
    except KeyError:
        raise ValueError(
            f"unknown hf model family {family!r}; choose one of auto, {', '.join(FAMILIES)}"
        ) from None


def detect_family(model_type: str | None) -> str:
    """The family of a checkpoint config's `model_type`; `generic` for any other model."""
    for family, cls in _ADAPTERS.items():
        if model_type in cls.model_types:
            return family
    return "generic"


def _has(obj: Any, attribute: str) -> bool:
    return getattr(obj, attribute, None) is not None


def _accepts(processor: Any, name: str) -> bool:
    """Whether some `__call__` along the processor's class hierarchy takes `name`."""
    for cls in type(processor).__mro__:
        call = cls.__dict__.get("__call__")
        if call is None:
            continue
        try:
            if name in inspect.signature(call).parameters:
                return True
        except (TypeError, ValueError):
            continue
    return False
