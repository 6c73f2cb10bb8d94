"""`hf`: local transformers models through their processor's multimodal chat template.

One generic path for every family: the request becomes chat messages with text / image / audio /
video items (`messages.py`), the processor's chat template renders them, the processor turns
text and media into tensors, `generate` answers, and the new tokens are decoded. A small adapter
per family (`adapters.py`) picks the model class and adds what the family needs (Qwen Omni:
thinker only, `use_audio_in_video`).

Requests are answered in batches (`generate_batch`, which `omnieval serve` uses; `generate` is a
batch of one). Media are decoded on worker threads; all torch work runs on one dedicated thread,
so the event loop stays free. Weights load on the first batch (or on `await model.load()`);
construction reads only the config and the processor, so planning a run stays cheap.

torch and transformers are imported here, lazily, never at module level.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from omnieval import registry
from omnieval.media import MediaError
from omnieval.media.prepare import ChannelChoice
from omnieval.models.base import (
    Model,
    ModelCapabilities,
    ModelError,
    PermanentModelError,
    TransientModelError,
)
from omnieval.models.hf.adapters import FAMILIES, FamilyAdapter, adapter_for, detect_family
from omnieval.models.hf.messages import Conversation, MediaOptions, build_conversation
from omnieval.types import GenerationParams, Modality, Request, Response, TrialStatus, Usage

DTYPES = ("auto", "float32", "bfloat16", "float16")
ATTN_IMPLEMENTATIONS = (None, "eager", "sdpa", "flash_attention_2")
_CHANNELS: TypeAdapter[ChannelChoice] = TypeAdapter(ChannelChoice)

INSTALL_HINT = (
    'install the hf extra with `pip install "omnieval[hf]"`, and torch first: '
    "`pip install torch==2.13.0` for CPU, or the CUDA build from https://pytorch.org"
)


class HFDependencyError(ImportError):
    """torch or transformers is not installed."""


def import_backends() -> tuple[Any, Any]:
    """(torch, transformers), or an error that says what to install."""
    try:
        import torch
    except ImportError as err:
        raise HFDependencyError(
            f"the hf provider needs torch, which is missing: {INSTALL_HINT}"
        ) from err
    try:
        import transformers
    except ImportError as err:
        raise HFDependencyError(
            f"the hf provider needs transformers, which is missing: {INSTALL_HINT}"
        ) from err
    return torch, transformers


@dataclass(frozen=True)
class _Settings:
    model_path: str
    family: str
    dtype: str
    device: str
    attn_implementation: str | None
    max_batch: int
    generation_kwargs: dict[str, Any]
    media: MediaOptions
    use_audio_in_video: bool
    system_prompt: str | None
    chat_template: str | None
    trust_remote_code: bool


@registry.models.register("hf")
class HFModel(Model):
    """A local transformers model (see docs/model-hf.md).

    `model_path` is a local checkpoint directory (or a hub id already in the local cache);
    `family` is `auto` (from the config's model_type), `generic`, `qwen2-audio`,
    `qwen2.5-omni` or `qwen3-omni`. `generation_kwargs` are defaults passed to `generate`
    (e.g. `repetition_penalty`); the request's temperature, top_p, max_tokens and seed win.
    """

    name = "hf"

    def __init__(
        self,
        model_path: str,
        family: str = "auto",
        dtype: str = "auto",
        device: str = "auto",
        attn_implementation: str | None = None,
        max_batch: int = 8,
        generation_kwargs: dict[str, Any] | None = None,
        audio_sample_rate: int | None = None,
        audio_channels: ChannelChoice = "downmix",
        video_fps: float = 2.0,
        max_frames: int = 32,
        video_max_pixels: int | None = None,
        use_audio_in_video: bool = True,
        system_prompt: str | None = None,
        chat_template: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        _check_choice("family", family, ("auto", *FAMILIES))
        _check_choice("dtype", dtype, DTYPES)
        _check_choice("attn_implementation", attn_implementation, ATTN_IMPLEMENTATIONS)
        _check_device(device)
        torch, transformers = import_backends()
        try:
            config = transformers.AutoConfig.from_pretrained(
                model_path, trust_remote_code=trust_remote_code
            )
            processor = transformers.AutoProcessor.from_pretrained(
                model_path, trust_remote_code=trust_remote_code
            )
        except OSError as err:
            raise ValueError(
                f"hf model {model_path!r} cannot be read: {err}. Give a local checkpoint "
                "directory, or download the hub id first (`hf download <id>`) while online"
            ) from err
        self._setup(
            torch,
            transformers,
            config=config,
            processor=processor,
            model=None,
            model_path=model_path,
            family=family,
            dtype=dtype,
            device=device,
            attn_implementation=attn_implementation,
            max_batch=max_batch,
            generation_kwargs=generation_kwargs,
            audio_sample_rate=audio_sample_rate,
            audio_channels=audio_channels,
            video_fps=video_fps,
            max_frames=max_frames,
            video_max_pixels=video_max_pixels,
            use_audio_in_video=use_audio_in_video,
            system_prompt=system_prompt,
            chat_template=chat_template,
            trust_remote_code=trust_remote_code,
        )

    @classmethod
    def from_objects(
        cls,
        model: Any,
        processor: Any,
        *,
        family: str = "auto",
        model_path: str | None = None,
        device: str = "auto",
        max_batch: int = 8,
        generation_kwargs: dict[str, Any] | None = None,
        audio_sample_rate: int | None = None,
        audio_channels: ChannelChoice = "downmix",
        video_fps: float = 2.0,
        max_frames: int = 32,
        video_max_pixels: int | None = None,
        use_audio_in_video: bool = True,
        system_prompt: str | None = None,
        chat_template: str | None = None,
    ) -> HFModel:
        """Wrap an already built model and processor (tests, notebooks, custom loading).

        The model keeps its dtype; `device="auto"` leaves it where it is. `model_path` only
        names it in fingerprints (default: `in-memory:<model class>`).
        """
        _check_choice("family", family, ("auto", *FAMILIES))
        _check_device(device)
        torch, transformers = import_backends()
        self = cls.__new__(cls)
        self._setup(
            torch,
            transformers,
            config=model.config,
            processor=processor,
            model=model,
            model_path=model_path or f"in-memory:{type(model).__name__}",
            family=family,
            dtype=str(getattr(model, "dtype", "auto")).removeprefix("torch."),
            device=device,
            attn_implementation=None,
            max_batch=max_batch,
            generation_kwargs=generation_kwargs,
            audio_sample_rate=audio_sample_rate,
            audio_channels=audio_channels,
            video_fps=video_fps,
            max_frames=max_frames,
            video_max_pixels=video_max_pixels,
            use_audio_in_video=use_audio_in_video,
            system_prompt=system_prompt,
            chat_template=chat_template,
            trust_remote_code=False,
        )
        self._install_model(model, keep_device=True)
        return self

    def _setup(
        self,
        torch: Any,
        transformers: Any,
        *,
        config: Any,
        processor: Any,
        model: Any,
        model_path: str,
        family: str,
        dtype: str,
        device: str,
        attn_implementation: str | None,
        max_batch: int,
        generation_kwargs: dict[str, Any] | None,
        audio_sample_rate: int | None,
        audio_channels: ChannelChoice,
        video_fps: float,
        max_frames: int,
        video_max_pixels: int | None,
        use_audio_in_video: bool,
        system_prompt: str | None,
        chat_template: str | None,
        trust_remote_code: bool,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if video_fps <= 0 or max_frames < 1:
            raise ValueError("video_fps must be positive and max_frames at least 1")
        self._torch = torch
        self._transformers = transformers
        self._config = config
        self._processor = processor
        self._tokenizer = getattr(processor, "tokenizer", processor)
        if getattr(self._tokenizer, "padding_side", None) is not None:
            self._tokenizer.padding_side = "left"  # decoder-only batches pad on the left
        resolved = (
            detect_family(getattr(config, "model_type", None)) if family == "auto" else family
        )
        self._adapter: FamilyAdapter = adapter_for(resolved)
        inputs = self._adapter.inputs(processor)
        self._settings = _Settings(
            model_path=model_path,
            family=resolved,
            dtype=dtype,
            device=device,
            attn_implementation=attn_implementation,
            max_batch=max_batch,
            generation_kwargs=dict(generation_kwargs or {}),
            media=MediaOptions(
                audio_sample_rate=_audio_rate(processor, audio_sample_rate),
                audio_channels=_channel_choice(audio_channels),
                video_fps=video_fps,
                max_frames=max_frames,
                video_max_pixels=video_max_pixels,
                video_audio=self._adapter.video_audio(use_audio_in_video),
                inputs=inputs,
            ),
            use_audio_in_video=use_audio_in_video,
            system_prompt=system_prompt,
            chat_template=chat_template,
            trust_remote_code=trust_remote_code,
        )
        templates = (
            chat_template,
            getattr(processor, "chat_template", None),
            getattr(self._tokenizer, "chat_template", None),
        )
        if not any(templates):
            raise ValueError(
                f"hf model {model_path!r}: its processor has no chat template; "
                "give one with the `chat_template` init argument"
            )
        self.capabilities = ModelCapabilities(
            inputs=inputs, output="text", max_concurrency=max_batch
        )
        self._model: Any = None
        self._generator: Any = None
        self._device: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnieval-hf")

    # ------------------------------------------------------------------ public API

    @property
    def family(self) -> str:
        return self._settings.family

    @property
    def processor(self) -> Any:
        return self._processor

    @property
    def model(self) -> Any:
        """The loaded transformers model (None until the first batch or `load()`)."""
        return self._model

    def fingerprint(self) -> dict[str, Any]:
        s = self._settings
        media = s.media
        printed: dict[str, Any] = {
            "provider": self.name,
            "model_path": s.model_path,
            "family": s.family,
            "dtype": s.dtype,
            "generation_kwargs": dict(sorted(s.generation_kwargs.items())),
            "audio_sample_rate": media.audio_sample_rate,
            "video_fps": media.video_fps,
            "max_frames": media.max_frames,
            "video_max_pixels": media.video_max_pixels,
            "use_audio_in_video": s.use_audio_in_video,
            "system_prompt": s.system_prompt,
            "transport": {
                "image": "native" if Modality.IMAGE in media.inputs else "drop",
                "audio": (
                    f"native array {media.audio_policy().describe(codec=False)}"
                    if Modality.AUDIO in media.inputs
                    else "drop"
                ),
                "video": "frames" if Modality.VIDEO in media.inputs else "drop",
                "dropped": [],
            },
        }
        if s.chat_template is not None:
            printed["chat_template"] = s.chat_template
        return printed

    async def load(self) -> None:
        """Load the weights now (otherwise the first batch does)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._ensure_loaded)

    async def generate(self, request: Request) -> Response:
        [response] = await self.generate_batch([request])
        if isinstance(response, ModelError):
            raise response
        if response.failed:
            raise PermanentModelError(response.error or "the hf model failed")
        return response

    async def generate_batch(self, requests: list[Request]) -> list[Response | ModelError]:
        """Answer `requests` in order. A request that fails alone gets its own error instead of a
        response (the batched-model protocol of `omnieval serve`): `PermanentModelError` when its
        media or modalities cannot be used or generation fails on it, `TransientModelError` when
        generation ran out of memory (a smaller batch may pass); a failed response when the
        weights could not be loaded."""
        if not requests:
            return []
        started = time.perf_counter()
        prepared = await asyncio.gather(*(asyncio.to_thread(self._prepare, r) for r in requests))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._answer, list(requests), prepared, started
        )

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._model = self._generator = None

    # ------------------------------------------------------------------ media (worker threads)

    def _prepare(self, request: Request) -> Conversation | PermanentModelError:
        """The request's conversation, or the error that stops it."""
        try:
            return build_conversation(request, self._settings.media, self._settings.system_prompt)
        except (MediaError, PermanentModelError) as err:
            return PermanentModelError(f"{type(err).__name__}: {err}")
        except Exception as err:  # an unexpected decoding failure fails this request only
            return PermanentModelError(
                f"could not prepare the request: {type(err).__name__}: {err}"
            )

    # ------------------------------------------------------------------ torch (one thread)

    def _answer(
        self,
        requests: list[Request],
        prepared: list[Conversation | PermanentModelError],
        started: float,
    ) -> list[Response | ModelError]:
        responses: list[Response | ModelError | None] = [None] * len(requests)
        groups: dict[Any, list[int]] = {}
        for i, conv in enumerate(prepared):
            if isinstance(conv, PermanentModelError):
                responses[i] = conv
                continue
            params = requests[i].generation
            # A seeded sampled request runs alone: its answer must not depend on its batch.
            alone = i if params.temperature > 0 and params.seed is not None else None
            groups.setdefault((self._adapter.batch_key(conv), params, alone), []).append(i)
        try:
            self._ensure_loaded()
        except Exception as err:
            error = f"could not load {self._settings.model_path}: {type(err).__name__}: {err}"
            return [r if r is not None else _failure(error, started) for r in responses]
        size = self._settings.max_batch
        for (_, params, _), members in groups.items():
            for lo in range(0, len(members), size):
                chunk = members[lo : lo + size]
                convs = [c for c in (prepared[i] for i in chunk) if isinstance(c, Conversation)]
                try:
                    answers = self._run(convs, params)
                except Exception as err:
                    error = f"generation failed: {type(err).__name__}: {err}"
                    failure: ModelError
                    if "out of memory" in str(err).lower():
                        error += " (lower max_batch, max_frames or video_max_pixels)"
                        failure = TransientModelError(error)
                    else:
                        failure = PermanentModelError(error)
                    for i in chunk:
                        responses[i] = failure
                    continue
                latency = time.perf_counter() - started
                for i, (text, usage, finish) in zip(chunk, answers, strict=True):
                    responses[i] = Response(
                        text=text, latency_s=latency, usage=usage, finish_reason=finish
                    )
        return [r if r is not None else _failure("not answered", started) for r in responses]

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        s = self._settings
        kwargs: dict[str, Any] = {"trust_remote_code": s.trust_remote_code}
        if s.dtype != "auto":
            kwargs[_dtype_keyword(self._transformers)] = getattr(self._torch, s.dtype)
        else:
            kwargs[_dtype_keyword(self._transformers)] = "auto"
        if s.attn_implementation is not None:
            kwargs["attn_implementation"] = s.attn_implementation
        model = self._adapter.load_model(self._transformers, s.model_path, self._config, kwargs)
        self._install_model(model)

    def _install_model(self, model: Any, keep_device: bool = False) -> None:
        device = self._settings.device
        if device == "auto" and not keep_device:
            device = "cuda" if self._torch.cuda.is_available() else "cpu"
        if device != "auto":
            model = model.to(device)
        model.eval()
        self._model = model
        self._generator = self._adapter.generator(model)
        self._device = next(iter(self._generator.parameters())).device

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


def _failure(error: str, started: float) -> Response:
    return Response(status=TrialStatus.FAILED, error=error, latency_s=time.perf_counter() - started)


def _check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"hf: {name} must be one of {list(choices)}, got {value!r}")


def _channel_choice(value: Any) -> ChannelChoice:
    try:
        return _CHANNELS.validate_python(value)
    except ValidationError as err:
        raise ValueError(
            f"hf: audio_channels must be keep, downmix, left, right or a channel index, "
            f"got {value!r}"
        ) from err


def _check_device(device: str) -> None:
    if device in ("auto", "cpu", "cuda", "mps") or device.startswith("cuda:"):
        return
    raise ValueError(f"hf: device must be auto, cpu, cuda, cuda:<n> or mps, got {device!r}")


def _audio_rate(processor: Any, configured: int | None) -> int:
    extractor = getattr(processor, "feature_extractor", None) or getattr(
        processor, "audio_processor", None
    )
    native = getattr(extractor, "sampling_rate", None)
    if native is None:
        return configured or 16000
    if configured is not None and configured != native:
        raise ValueError(
            f"hf: audio_sample_rate={configured} but the processor's feature extractor takes "
            f"{native} Hz audio; leave audio_sample_rate unset"
        )
    return int(native)


def _dtype_keyword(transformers: Any) -> str:
    """`dtype` since transformers 4.56, `torch_dtype` before."""
    try:
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    except ValueError:
        return "dtype"
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
