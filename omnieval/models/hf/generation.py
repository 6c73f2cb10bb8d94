"""The torch side of the hf provider: a batch of conversations rendered by the chat template,
encoded by the processor, generated, and decoded up to the first end-of-sequence token. Runs on
the provider's one torch thread."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omnieval.models.hf.adapters import FamilyAdapter
from omnieval.models.hf.messages import Conversation
from omnieval.models.hf.settings import HFSettings
from omnieval.types import GenerationParams, Modality, Usage


class HFGeneration:
    """What `HFModel` does with the loaded model (its attributes are set by `HFModel`)."""

    _torch: Any
    _processor: Any
    _tokenizer: Any
    _generator: Any
    _device: Any
    _adapter: FamilyAdapter
    _settings: HFSettings

    def _run(
        self, convs: Sequence[Conversation], params: GenerationParams
    ) -> list[tuple[str, Usage, str]]:
        torch = self._torch
        inputs = self._encode(convs)
        prompt_len = int(inputs["input_ids"].shape[1])
        kwargs = {**self._generation_kwargs(params), **self._adapter.generate_kwargs(convs)}
        with torch.inference_mode():
            if params.seed is not None:
                torch.manual_seed(params.seed)
            output = self._generator.generate(**inputs, **kwargs)
        sequences = getattr(output, "sequences", output)
        if not getattr(self._generator.config, "is_encoder_decoder", False):
            sequences = sequences[:, prompt_len:]
        mask = inputs.get("attention_mask")
        eos = self._eos_ids()
        answers = []
        for row, ids in enumerate(sequences.tolist()):
            stop = next((k for k, t in enumerate(ids) if t in eos), None)
            kept = ids if stop is None else ids[: stop + 1]
            text = self._tokenizer.decode(kept, skip_special_tokens=True)
            prompt_tokens = int(mask[row].sum()) if mask is not None else prompt_len
            usage = Usage(input_tokens=prompt_tokens, output_tokens=len(kept))
            answers.append((text, usage, "length" if stop is None else "stop"))
        return answers

    def _encode(self, convs: Sequence[Conversation]) -> Any:
        texts = [self._render(conv) for conv in convs]
        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        audios = [a for conv in convs for a in conv.audios]
        images = [i for conv in convs for i in conv.images]
        videos = [v for conv in convs for v in conv.videos]
        if audios:
            kwargs["audio"] = audios
            kwargs["sampling_rate"] = self._settings.media.audio_sample_rate
        if images:
            kwargs["images"] = images
        if videos:
            kwargs["videos"] = videos
        bos = getattr(self._tokenizer, "bos_token", None)
        if bos and all(text.startswith(bos) for text in texts):
            kwargs["add_special_tokens"] = False  # the template wrote it already
        kwargs.update(self._adapter.processor_kwargs(self._processor, convs))
        encoded = self._processor(**kwargs)
        dtype = getattr(self._generator, "dtype", None)
        moved = {}
        for key, value in encoded.items():
            if hasattr(value, "to"):
                if self._torch.is_floating_point(value) and dtype is not None:
                    value = value.to(self._device, dtype=dtype)
                else:
                    value = value.to(self._device)
            moved[key] = value
        return moved

    def _render(self, conv: Conversation) -> str:
        messages = conv.messages
        if self._settings.media.inputs == frozenset({Modality.TEXT}):
            # Text-only templates expect string contents.
            messages = [
                {"role": m["role"], "content": "".join(c.get("text", "") for c in m["content"])}
                for m in messages
            ]
        extra = {}
        if self._settings.chat_template is not None:
            extra["chat_template"] = self._settings.chat_template
        rendered = self._processor.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **extra
        )
        return str(rendered)

    def _generation_kwargs(self, params: GenerationParams) -> dict[str, Any]:
        kwargs = dict(self._settings.generation_kwargs)
        kwargs["max_new_tokens"] = params.max_tokens
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            # Greedy: unset the checkpoint's sampling defaults so they neither apply nor warn.
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        config = getattr(self._generator, "generation_config", None)
        if getattr(config, "pad_token_id", None) is None:
            pad = getattr(self._tokenizer, "pad_token_id", None)
            kwargs.setdefault(
                "pad_token_id", pad if pad is not None else self._tokenizer.eos_token_id
            )
        return kwargs

    def _eos_ids(self) -> set[int]:
        found: set[int] = set()
        config = getattr(self._generator, "generation_config", None)
        eos = getattr(config, "eos_token_id", None)
        if isinstance(eos, int):
            found.add(eos)
        elif isinstance(eos, list | tuple):
            found.update(int(e) for e in eos)
        tokenizer_eos = getattr(self._tokenizer, "eos_token_id", None)
        if tokenizer_eos is not None:
            found.add(int(tokenizer_eos))
        return found
