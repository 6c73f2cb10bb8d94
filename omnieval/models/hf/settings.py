"""The hf provider's backends (torch and transformers, imported lazily) and its settings: the
accepted choices, their checks, and the frozen settings one model is built with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from omnieval.media.prepare import ChannelChoice
from omnieval.models.hf.messages import MediaOptions

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
class HFSettings:
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




def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"hf: {name} must be one of {list(choices)}, got {value!r}")


def channel_choice(value: Any) -> ChannelChoice:
    try:
        return _CHANNELS.validate_python(value)
    except ValidationError as err:
        raise ValueError(
            f"hf: audio_channels must be keep, downmix, left, right or a channel index, "
            f"got {value!r}"
        ) from err


def check_device(device: str) -> None:
    if device in ("auto", "cpu", "cuda", "mps") or device.startswith("cuda:"):
        return
    raise ValueError(f"hf: device must be auto, cpu, cuda, cuda:<n> or mps, got {device!r}")


def audio_rate(processor: Any, configured: int | None) -> int:
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


def dtype_keyword(transformers: Any) -> str:
    """`dtype` since transformers 4.56, `torch_dtype` before."""
    try:
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    except ValueError:
        return "dtype"
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
