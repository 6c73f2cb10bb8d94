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
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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
from omnieval.models.hf.generation import HFGeneration
from omnieval.models.hf.messages import Conversation, MediaOptions, build_conversation
from omnieval.models.hf.settings import (
    ATTN_IMPLEMENTATIONS,
    DTYPES,
    INSTALL_HINT,
    HFDependencyError,
    HFSettings,
    audio_rate,
    channel_choice,
    check_choice,
    check_device,
    dtype_keyword,
    import_backends,
)
from omnieval.types import Modality, Request, Response, TrialStatus

# the backends and the accepted choices live in settings.py; importable from here as before
__all__ = [
    "ATTN_IMPLEMENTATIONS",
    "DTYPES",
    "INSTALL_HINT",
    "HFDependencyError",
    "HFModel",
    "import_backends",
]


@registry.models.register("hf")
class HFModel(HFGeneration, Model):
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
        check_choice("family", family, ("auto", *FAMILIES))
        check_choice("dtype", dtype, DTYPES)
        check_choice("attn_implementation", attn_implementation, ATTN_IMPLEMENTATIONS)
        check_device(device)
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
        check_choice("family", family, ("auto", *FAMILIES))
        check_device(device)
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
        self._settings = HFSettings(
            model_path=model_path,
            family=resolved,
            dtype=dtype,
            device=device,
            attn_implementation=attn_implementation,
            max_batch=max_batch,
            generation_kwargs=dict(generation_kwargs or {}),
            media=MediaOptions(
                audio_sample_rate=audio_rate(processor, audio_sample_rate),
                audio_channels=channel_choice(audio_channels),
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
            kwargs[dtype_keyword(self._transformers)] = getattr(self._torch, s.dtype)
        else:
            kwargs[dtype_keyword(self._transformers)] = "auto"
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


def _failure(error: str, started: float) -> Response:
    return Response(status=TrialStatus.FAILED, error=error, latency_s=time.perf_counter() - started)

