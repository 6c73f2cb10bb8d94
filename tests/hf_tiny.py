"""Tiny random-weight transformers models and processors built from configs, in memory.

Nothing is downloaded: the tokenizer is a byte-level BPE trained in memory with the `tokenizers`
library on a few sentences and wrapped as `PreTrainedTokenizerFast`; feature extractors and
models are built from their config classes with tiny sizes (hidden 32, one or two layers).

- `byte_bpe_tokenizer(specials)`: the shared tokenizer, with `specials` as special tokens.
- `tiny_qwen2_audio(seed)`: (Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor).
- `tiny_qwen25_omni_thinker(seed)`: (Qwen2_5OmniThinkerForConditionalGeneration, tokenizer,
  WhisperFeatureExtractor), for inputs built by hand.
- `tiny_qwen25_omni_processor(tokenizer, feature_extractor)`: the real `Qwen2_5OmniProcessor`
  for text and audio. Its image and video processors need Pillow / torchvision, which do not
  work here, so it is built without them (`audio_only_processor`): only the constructor's class
  check lets `None` through for those two; every other line is transformers' own. Image or
  video inputs cannot be processed by it.
- `tiny_qwen3_omni(seed)`: a Qwen3-Omni MoE thinker (4 experts) and its audio-only processor.
- `tiny_qwen25_omni_full(thinker)`: the full `Qwen2_5OmniForConditionalGeneration` around that
  thinker, built without a talker (`enable_audio_output=False`).

Random weights emit special tokens as often as any other; `suppress_special_tokens` stops the
model from generating them, so greedy output is never empty (and always runs to max_new_tokens).
Requires torch and transformers; import this module only after `pytest.importorskip("torch")`.
"""

from __future__ import annotations

from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, WhisperFeatureExtractor

#: Chat-template tokens shared by the Qwen families.
CHAT_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
AUDIO_TOKENS = ("<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>")
VISION_TOKENS = ("<|IMAGE|>", "<|VIDEO|>", "<|vision_bos|>", "<|vision_eos|>")

_CORPUS = [
    "You are a helpful assistant.",
    "Listen to the audio and answer the question.",
    "Which option is right? A. left B. right C. centre D. none",
    "The answer is B.",
    "Audio 1: a sine tone at four hundred and forty hertz.",
    "system user assistant",
] * 4

#: Mel bins of the tiny feature extractors and audio encoders (Whisper's classic 80).
N_MELS = 80


def byte_bpe_tokenizer(specials: tuple[str, ...], vocab_size: int = 320) -> PreTrainedTokenizerFast:
    """A byte-level BPE (every byte is in the vocabulary, so any text encodes) plus `specials`."""
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(specials)})
    return tokenizer


def feature_extractor() -> WhisperFeatureExtractor:
    return WhisperFeatureExtractor(feature_size=N_MELS, sampling_rate=16000)


def token_id(tokenizer: PreTrainedTokenizerFast, token: str) -> int:
    found = tokenizer.convert_tokens_to_ids(token)
    assert isinstance(found, int), token
    return found


def suppress_special_tokens(model: Any, tokenizer: PreTrainedTokenizerFast) -> None:
    """Greedy decoding of random weights must not stop at once or emit only special tokens."""
    ids = sorted(set(tokenizer.all_special_ids))
    model.generation_config.suppress_tokens = ids
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tokenizer.pad_token_id


def _text_config(vocab_size: int, **extra: Any) -> dict[str, Any]:
    return {
        "vocab_size": vocab_size,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 2048,
        **extra,
    }


#: the tiny audio and vision encoders every model here shares (each adds its own fields)
_AUDIO_ENCODER: dict[str, Any] = {
    "num_mel_bins": N_MELS,
    "encoder_layers": 1,
    "encoder_attention_heads": 2,
    "encoder_ffn_dim": 32,
    "d_model": 16,
}
_VISION_ENCODER: dict[str, Any] = {
    "depth": 1,
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_heads": 2,
    "out_hidden_size": 32,
}


#: multimodal rotary positions (a section per time / height / width)
_MROPE = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]}


def _boundary_token_ids(ids: dict[str, int]) -> dict[str, Any]:
    """The audio and vision start / end ids; get_rope_index reads them from the thinker config
    (the released configs carry them)."""
    return {
        "audio_start_token_id": ids["<|audio_bos|>"],
        "audio_end_token_id": ids["<|audio_eos|>"],
        "vision_start_token_id": ids["<|vision_bos|>"],
        "vision_end_token_id": ids["<|vision_eos|>"],
    }


def tiny_qwen2_audio(seed: int = 0) -> tuple[Any, Any]:
    """A random-weight Qwen2-Audio and its processor (WhisperFeatureExtractor + byte BPE)."""
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
    )

    tokenizer = byte_bpe_tokenizer(CHAT_TOKENS + AUDIO_TOKENS)
    processor = Qwen2AudioProcessor(feature_extractor=feature_extractor(), tokenizer=tokenizer)
    config = Qwen2AudioConfig(
        audio_config=dict(_AUDIO_ENCODER),
        text_config=_text_config(len(tokenizer)),
        audio_token_index=token_id(tokenizer, "<|AUDIO|>"),
    )
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config).eval()
    suppress_special_tokens(model, tokenizer)
    return model, processor


def tiny_qwen25_omni_thinker(seed: int = 0) -> tuple[Any, PreTrainedTokenizerFast, Any]:
    """A random-weight Qwen2.5-Omni thinker, its tokenizer and a Whisper feature extractor."""
    from transformers import (
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
    )

    tokenizer = byte_bpe_tokenizer(CHAT_TOKENS + AUDIO_TOKENS + VISION_TOKENS)
    ids = {t: token_id(tokenizer, t) for t in AUDIO_TOKENS + VISION_TOKENS}
    config = Qwen2_5OmniThinkerConfig(
        audio_config={**_AUDIO_ENCODER, "output_dim": 32},
        vision_config={**_VISION_ENCODER, "fullatt_block_indexes": [0]},
        text_config=_text_config(len(tokenizer), rope_parameters=_MROPE),
        audio_token_index=ids["<|AUDIO|>"],
        image_token_index=ids["<|IMAGE|>"],
        video_token_index=ids["<|VIDEO|>"],
        **_boundary_token_ids(ids),
    )
    torch.manual_seed(seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(config).eval()
    suppress_special_tokens(model, tokenizer)
    return model, omni_tokenizer(tokenizer), feature_extractor()


#: Qwen Omni tokenizers name their multimodal tokens; the processor reads them by these names.
_OMNI_TOKEN_NAMES = {
    "audio_token": "<|AUDIO|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
    "image_token": "<|IMAGE|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
}

#: A Qwen-Omni style chat template (written for these tests, same placeholder layout).
OMNI_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message.role != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message.role }}\n"
    "{% if message.content is string %}{{ message.content }}"
    "{% else %}{% for item in message.content %}"
    "{% if item.type == 'audio' %}<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif item.type == 'image' %}<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{% elif item.type == 'video' %}<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% else %}{{ item.text }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def omni_tokenizer(tokenizer: PreTrainedTokenizerFast) -> PreTrainedTokenizerFast:
    """The same vocabulary, with the named multimodal tokens Qwen Omni processors look up."""
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer.backend_tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=_OMNI_TOKEN_NAMES,
    )


def tiny_qwen25_omni_processor(
    tokenizer: PreTrainedTokenizerFast, extractor: WhisperFeatureExtractor
) -> Any:
    """The Qwen2.5-Omni processor for text and audio (see the module docstring)."""
    from transformers import Qwen2_5OmniProcessor

    return audio_only_processor(Qwen2_5OmniProcessor, tokenizer, extractor)


def audio_only_processor(
    processor_class: type, tokenizer: PreTrainedTokenizerFast, extractor: WhisperFeatureExtractor
) -> Any:
    """A Qwen Omni processor without image and video processors (Pillow / torchvision are
    unusable here): only the constructor's class check is relaxed, for those two, to None."""

    class AudioOnly(processor_class):
        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument is None and argument_name in ("image_processor", "video_processor"):
                return type(None)
            return super().check_argument_for_proper_class(argument_name, argument)

    AudioOnly.__name__ = f"AudioOnly{processor_class.__name__}"
    return AudioOnly(
        image_processor=None,
        video_processor=None,
        feature_extractor=extractor,
        tokenizer=tokenizer,
        chat_template=OMNI_CHAT_TEMPLATE,
    )


def tiny_qwen3_omni(seed: int = 0) -> tuple[Any, Any]:
    """A random-weight Qwen3-Omni (MoE) thinker and its text + audio processor."""
    from transformers import (
        Qwen3OmniMoeProcessor,
        Qwen3OmniMoeThinkerConfig,
        Qwen3OmniMoeThinkerForConditionalGeneration,
    )

    tokenizer = omni_tokenizer(byte_bpe_tokenizer(CHAT_TOKENS + AUDIO_TOKENS + VISION_TOKENS))
    ids = {t: token_id(tokenizer, t) for t in AUDIO_TOKENS + VISION_TOKENS}
    config = Qwen3OmniMoeThinkerConfig(
        audio_config={**_AUDIO_ENCODER, "output_dim": 32, "downsample_hidden_size": 8},
        vision_config={
            **_VISION_ENCODER,
            "deepstack_visual_indexes": [0],
            "num_position_embeddings": 64,
        },
        text_config=_text_config(
            len(tokenizer),
            head_dim=16,
            moe_intermediate_size=16,
            num_experts=4,
            num_experts_per_tok=2,
            rope_parameters={**_MROPE, "mrope_interleaved": True},
        ),
        audio_token_id=ids["<|AUDIO|>"],
        image_token_id=ids["<|IMAGE|>"],
        video_token_id=ids["<|VIDEO|>"],
        **_boundary_token_ids(ids),
    )
    torch.manual_seed(seed)
    model = Qwen3OmniMoeThinkerForConditionalGeneration(config).eval()
    suppress_special_tokens(model, tokenizer)
    return model, audio_only_processor(Qwen3OmniMoeProcessor, tokenizer, feature_extractor())


def tiny_qwen25_omni_full(thinker: Any) -> Any:
    """The full Qwen2.5-Omni model (no talker) whose thinker is `thinker`."""
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration
    from transformers.utils import logging

    # The talker's default config names token ids beyond this tiny vocabulary: it says so,
    # loudly, although no talker is built.
    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        config = Qwen2_5OmniConfig(
            thinker_config=thinker.config.to_dict(), enable_audio_output=False
        )
        model = Qwen2_5OmniForConditionalGeneration(config).eval()
    finally:
        logging.set_verbosity(verbosity)
    model.thinker = thinker
    return model
