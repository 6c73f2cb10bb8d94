"""Tiny random-weight transformers models and processors built from configs, in memory.

Nothing is downloaded: the tokenizer is a byte-level BPE trained in memory with the `tokenizers`
library on a few sentences and wrapped as `PreTrainedTokenizerFast`; feature extractors and
models are built from their config classes with tiny sizes (hidden 32, one or two layers).

- `byte_bpe_tokenizer(specials)`: the shared tokenizer, with `specials` as special tokens.
- `tiny_qwen2_audio(seed)`: (Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor).
- `tiny_qwen25_omni_thinker(seed)`: (Qwen2_5OmniThinkerForConditionalGeneration, tokenizer,
  WhisperFeatureExtractor, token ids): the Qwen2.5-Omni processor itself needs image and video
  processors that need torchvision (unusable here), so its inputs are built by hand.

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
        audio_config={
            "num_mel_bins": N_MELS,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 32,
            "d_model": 16,
        },
        text_config=_text_config(len(tokenizer)),
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"),
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
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in AUDIO_TOKENS + VISION_TOKENS}
    config = Qwen2_5OmniThinkerConfig(
        audio_config={
            "num_mel_bins": N_MELS,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 32,
            "d_model": 16,
            "output_dim": 32,
        },
        vision_config={
            "depth": 1,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_heads": 2,
            "out_hidden_size": 32,
            "fullatt_block_indexes": [0],
        },
        text_config=_text_config(
            len(tokenizer),
            rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
        ),
        audio_token_index=ids["<|AUDIO|>"],
        image_token_index=ids["<|IMAGE|>"],
        video_token_index=ids["<|VIDEO|>"],
        audio_start_token_id=ids["<|audio_bos|>"],
        audio_end_token_id=ids["<|audio_eos|>"],
        vision_start_token_id=ids["<|vision_bos|>"],
        vision_end_token_id=ids["<|vision_eos|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(config).eval()
    suppress_special_tokens(model, tokenizer)
    return model, tokenizer, feature_extractor()
