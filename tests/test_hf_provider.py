"""The `hf` provider on tiny random-weight transformers models built in memory (no downloads).

Qwen2-Audio runs the whole generic path (real processor, chat template, WhisperFeatureExtractor,
BPE tokenizer). The Qwen2.5-Omni thinker runs through transformers' own Qwen2.5-Omni processor
for text and audio (its image and video processors need Pillow / torchvision, unusable here; see
tests/hf_tiny.py), and is checked against inputs built by hand. Video and image inputs are
tested up to the processor: message layout, decoded arrays and the processor / generate keyword
arguments the Qwen Omni adapter adds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from omnieval import registry
from omnieval.media import AudioSpec, encode_png, load_audio
from omnieval.models.base import PermanentModelError
from omnieval.models.hf import HFDependencyError, HFModel, import_backends
from omnieval.models.hf.adapters import adapter_for, detect_family
from omnieval.models.hf.messages import MediaOptions, build_conversation, decode_image
from omnieval.types import (
    AudioPart,
    GenerationParams,
    ImagePart,
    Modality,
    Request,
    Response,
    TextPart,
    VideoPart,
)
from tests import mediagen

# Nothing may reach the hub: everything here is built in memory (set before transformers loads).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TORCH_REASON = "the hf provider tests need torch (CPU: pip install torch==2.13.0)"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.getbasetemp() / "hf-home"))


@pytest.fixture(scope="module")
def tiny() -> Any:
    pytest.importorskip("torch", reason=TORCH_REASON)
    pytest.importorskip("transformers", reason='the hf provider needs pip install "omnieval[hf]"')
    from tests import hf_tiny

    return hf_tiny


@pytest.fixture(scope="module")
def qwen2_audio(tiny: Any) -> tuple[Any, Any]:
    return tiny.tiny_qwen2_audio(seed=0)


@pytest.fixture(scope="module")
def omni(tiny: Any) -> tuple[Any, Any, Any, Any]:
    """(thinker, processor, tokenizer, feature extractor) of a tiny Qwen2.5-Omni."""
    thinker, tokenizer, extractor = tiny.tiny_qwen25_omni_thinker(seed=0)
    return thinker, tiny.tiny_qwen25_omni_processor(tokenizer, extractor), tokenizer, extractor


@pytest.fixture(scope="module")
def wavs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("hf-audio")
    return [
        mediagen.write_test_audio(root / "a440.wav", 1.0, 16000, tones=440.0),
        mediagen.write_test_audio(root / "a880.wav", 2.0, 16000, tones=880.0),
        mediagen.write_test_audio(root / "a300.wav", 0.5, 16000, tones=300.0),
    ]


@pytest.fixture
def audio_model(qwen2_audio: tuple[Any, Any]) -> Iterator[HFModel]:
    model, processor = qwen2_audio
    hf = HFModel.from_objects(model, processor, max_batch=4)
    yield hf
    asyncio.run(hf.close())


def _ask(wav: Path, text: str, max_tokens: int = 6, **generation: Any) -> Request:
    return Request(
        parts=(AudioPart(path=wav), TextPart(text=text)),
        generation=GenerationParams(max_tokens=max_tokens, **generation),
    )


# --------------------------------------------------------------------------- without torch


def test_missing_backends_name_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("torch", "transformers"):
        with monkeypatch.context() as patch:
            if module == "transformers":  # torch present (or stood in for), transformers not
                patch.setitem(sys.modules, "torch", sys.modules.get("torch") or ModuleType("torch"))
            patch.setitem(sys.modules, module, None)  # makes `import <module>` fail
            with pytest.raises(HFDependencyError) as err:
                import_backends()
            message = str(err.value)
            assert module in message
            assert 'pip install "omnieval[hf]"' in message
            assert "pip install torch==2.13.0" in message
            with pytest.raises(ImportError):
                HFModel(model_path="anything")


def test_bad_settings_are_refused_before_anything_loads() -> None:
    with pytest.raises(ValueError, match="family"):
        HFModel(model_path="x", family="llama-omni")
    with pytest.raises(ValueError, match="dtype"):
        HFModel(model_path="x", dtype="int3")
    with pytest.raises(ValueError, match="device"):
        HFModel(model_path="x", device="tpu")


def test_registered_and_families_from_model_type() -> None:
    assert registry.models.get("hf") is HFModel
    assert detect_family("qwen2_audio") == "qwen2-audio"
    assert detect_family("qwen2_5_omni") == "qwen2.5-omni"
    assert detect_family("qwen2_5_omni_thinker") == "qwen2.5-omni"
    assert detect_family("qwen3_omni_moe") == "qwen3-omni"
    assert detect_family("llava") == "generic"


def test_messages_keep_part_order_and_decode_media(tmp_path: Path, wavs: list[Path]) -> None:
    picture = np.zeros((6, 8, 3), dtype=np.uint8)
    picture[:, :4] = (255, 0, 0)
    png = tmp_path / "red.png"
    png.write_bytes(encode_png(picture))
    request = Request(
        system="Answer with one letter.",
        parts=(
            TextPart(text="Look:"),
            ImagePart(path=png),
            TextPart(text="and listen:"),
            AudioPart(path=wavs[0]),
            TextPart(text="Which?"),
            TextPart(text="A. red B. blue"),
        ),
    )
    conv = build_conversation(request, MediaOptions(audio_sample_rate=16000))
    system, user = conv.messages
    assert system == {"role": "system", "content": [{"type": "text", "text": request.system}]}
    assert [item["type"] for item in user["content"]] == ["text", "image", "text", "audio", "text"]
    assert user["content"][-1]["text"] == "Which?\n\nA. red B. blue"
    assert np.array_equal(conv.images[0], picture)
    assert np.array_equal(decode_image(ImagePart(data=png.read_bytes())), picture)
    assert conv.audios[0].dtype == np.float32 and conv.audios[0].shape == (16000,)
    assert conv.audio_from_video == [None]


def test_a_modality_the_model_does_not_take_fails_the_request(tmp_path: Path) -> None:
    video = mediagen.write_test_video(tmp_path / "clip.mp4", 1.0, 10.0, (64, 48))
    options = MediaOptions(inputs=frozenset({Modality.TEXT, Modality.AUDIO}))
    with pytest.raises(PermanentModelError, match="video"):
        build_conversation(Request(parts=(VideoPart(path=video),)), options)
    options = MediaOptions(inputs=frozenset({Modality.TEXT, Modality.VIDEO}))
    with pytest.raises(PermanentModelError, match="with_audio"):
        build_conversation(Request(parts=(VideoPart(path=video),)), options)
    silent = Request(parts=(VideoPart(path=video, with_audio=False),))
    assert len(build_conversation(silent, options).videos) == 1


def test_qwen_omni_adapter_interleaves_a_videos_audio(tmp_path: Path, wavs: list[Path]) -> None:
    video = mediagen.write_test_video(tmp_path / "clip.mp4", 3.0, 10.0, (64, 48))
    request = Request(
        parts=(VideoPart(path=video), AudioPart(path=wavs[0]), TextPart(text="In sync?"))
    )
    adapter = adapter_for("qwen2.5-omni")
    base = MediaOptions(video_fps=2.0, max_frames=4, inputs=adapter.inputs(None))

    options = dataclasses.replace(base, video_audio=adapter.video_audio(True))
    conv = build_conversation(request, options)
    assert [item["type"] for item in conv.messages[-1]["content"]] == ["video", "audio", "text"]
    assert conv.videos[0].shape == (4, 48, 64, 3)  # 3 s at 2 fps is 6 frames: capped at 4
    assert conv.video_fps == [pytest.approx(4 / 3)]
    assert conv.audio_from_video == [0, None]  # the video's track first, then the audio part
    assert conv.audios[0].shape[0] == pytest.approx(48000, abs=400)
    assert adapter.generate_kwargs([conv]) == {"use_audio_in_video": True}

    options = dataclasses.replace(base, video_audio=adapter.video_audio(False))
    separate = build_conversation(request, options)
    types = [item["type"] for item in separate.messages[-1]["content"]]
    assert types == ["video", "audio", "audio", "text"]
    assert separate.audio_from_video == [None, None]
    assert adapter.generate_kwargs([separate]) == {"use_audio_in_video": False}
    assert adapter_for("qwen2-audio").generate_kwargs([conv]) == {}


def test_qwen_omni_processor_kwargs_name_each_videos_audio(
    omni: tuple[Any, Any, Any, Any], tmp_path: Path, wavs: list[Path]
) -> None:
    _, processor, _, _ = omni
    video = mediagen.write_test_video(tmp_path / "clip.mp4", 1.0, 10.0, (64, 48))
    adapter = adapter_for("qwen2.5-omni")
    options = MediaOptions(video_fps=2.0, inputs=adapter.inputs(None), video_audio="interleave")
    first = build_conversation(
        Request(parts=(AudioPart(path=wavs[0]), VideoPart(path=video))), options
    )
    second = build_conversation(Request(parts=(VideoPart(path=video),)), options)
    kwargs = adapter.processor_kwargs(processor, [first, second])
    assert kwargs["fps"] == 2.0
    assert kwargs["load_audio_from_video"] is True
    # One entry per audio slot across the batch: standalone (None) or the global video index.
    assert kwargs["audio_from_video_indices"] == [None, 0, 1]


# --------------------------------------------------------------------------- Qwen2-Audio


def test_qwen2_audio_answers_audio_and_text(audio_model: HFModel, wavs: list[Path]) -> None:
    assert audio_model.family == "qwen2-audio"
    assert audio_model.capabilities.inputs == {Modality.TEXT, Modality.AUDIO}
    response = asyncio.run(audio_model.generate(_ask(wavs[0], "What do you hear?")))
    assert not response.failed
    assert isinstance(response.text, str) and response.text
    assert response.latency_s > 0
    assert response.usage is not None
    assert response.usage.output_tokens == 6  # special tokens are suppressed: runs to the cap
    # The prompt holds the chat scaffold plus one <|AUDIO|> per 40 ms of audio (25 for 1 s).
    assert response.usage.input_tokens is not None and response.usage.input_tokens > 25
    assert response.finish_reason == "length"


def test_batch_of_three_in_order_and_deterministic(audio_model: HFModel, wavs: list[Path]) -> None:
    requests = [_ask(wav, f"Question {i}: which tone?") for i, wav in enumerate(wavs)]

    async def run() -> tuple[list[Any], list[Any], list[Any]]:
        first = await audio_model.generate_batch(requests)
        again = await audio_model.generate_batch(requests)
        singles = [await audio_model.generate(r) for r in requests]
        return first, again, singles

    first, again, singles = asyncio.run(run())
    assert len(first) == 3 and not any(r.failed for r in first)
    assert [r.text for r in first] == [r.text for r in again]  # greedy: deterministic
    assert [r.text for r in first] == [r.text for r in singles]  # left padding changes nothing
    assert [r.usage.input_tokens for r in first] == [r.usage.input_tokens for r in singles]
    lengths = [r.usage.input_tokens for r in first]
    assert lengths[1] > lengths[0] > lengths[2]  # 2 s, 1 s, 0.5 s of audio: in request order


def test_batch_keeps_order_across_generation_groups(
    audio_model: HFModel, wavs: list[Path], tmp_path: Path
) -> None:
    requests = [
        _ask(wavs[0], "a", max_tokens=3),
        _ask(wavs[1], "b", max_tokens=5),
        _ask(tmp_path / "missing.wav", "c"),
        _ask(wavs[2], "d", max_tokens=4),
        _ask(wavs[0], "e", max_tokens=3, temperature=1.0, seed=7),
        _ask(wavs[0], "e", max_tokens=3, temperature=1.0, seed=7),
    ]
    responses = asyncio.run(audio_model.generate_batch(requests))
    assert len(responses) == 6
    failed = responses[2]  # a request that fails alone gets its own (permanent) error
    assert isinstance(failed, PermanentModelError) and "missing.wav" in str(failed)
    ok = [r for i, r in enumerate(responses) if i != 2]
    assert all(isinstance(r, Response) and not r.failed for r in ok)
    assert [r.usage.output_tokens if isinstance(r, Response) and r.usage else None for r in ok] == [
        3,
        5,
        4,
        3,
        3,
    ]
    assert isinstance(responses[4], Response) and isinstance(responses[5], Response)
    assert responses[4].text == responses[5].text  # sampling with one seed repeats itself
    with pytest.raises(PermanentModelError, match=r"missing\.wav"):
        asyncio.run(audio_model.generate(requests[2]))


def test_torch_runs_on_one_worker_thread_and_the_loop_stays_free(
    audio_model: HFModel, wavs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = audio_model.model
    threads: set[str] = set()
    original = generator.generate
    loop: asyncio.AbstractEventLoop | None = None
    loop_ran: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.add(threading.current_thread().name)
        # Mid-generation, ask the event loop to run a callback and wait for it: this returns only
        # if the loop is free while torch works (on the loop thread it would wait forever).
        assert loop is not None
        ran = threading.Event()
        loop.call_soon_threadsafe(ran.set)
        loop_ran.append(ran.wait(10))
        return original(*args, **kwargs)

    monkeypatch.setattr(generator, "generate", spy)

    async def run() -> None:
        nonlocal loop
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            audio_model.generate_batch([_ask(w, "x", max_tokens=12) for w in wavs]),
            audio_model.generate(_ask(wavs[0], "y", max_tokens=12)),
        )

    asyncio.run(asyncio.wait_for(run(), 120))
    assert loop_ran and all(loop_ran), loop_ran
    assert len(threads) == 1 and next(iter(threads)).startswith("omnieval-hf")


def test_fingerprint(qwen2_audio: tuple[Any, Any]) -> None:
    model, processor = qwen2_audio
    plain = HFModel.from_objects(model, processor, model_path="tiny/qwen2-audio")
    printed = plain.fingerprint()
    assert printed["provider"] == "hf"
    assert printed["model_path"] == "tiny/qwen2-audio"
    assert printed["family"] == "qwen2-audio"
    assert printed["dtype"] == "float32"
    assert "device" not in printed
    tuned = HFModel.from_objects(
        model,
        processor,
        model_path="tiny/qwen2-audio",
        device="cpu",
        generation_kwargs={"repetition_penalty": 1.1},
    )
    assert tuned.fingerprint() != printed
    assert tuned.fingerprint()["generation_kwargs"] == {"repetition_penalty": 1.1}
    moved = HFModel.from_objects(model, processor, model_path="tiny/qwen2-audio", device="cpu")
    assert moved.fingerprint() == printed


def test_loads_a_checkpoint_directory(
    qwen2_audio: tuple[Any, Any], tmp_path: Path, wavs: list[Path]
) -> None:
    model, processor = qwen2_audio
    model.save_pretrained(tmp_path / "ckpt")
    processor.save_pretrained(tmp_path / "ckpt")
    loaded = HFModel(model_path=str(tmp_path / "ckpt"), dtype="float32", device="cpu")
    generic = HFModel(model_path=str(tmp_path / "ckpt"), family="generic", device="cpu")
    in_memory = HFModel.from_objects(model, processor)
    assert loaded.family == "qwen2-audio"  # from the config's model_type
    assert loaded.model is None  # weights load with the first batch
    # The generic adapter reads the inputs off the processor and picks an auto class.
    assert generic.family == "generic"
    assert generic.capabilities.inputs == {Modality.TEXT, Modality.AUDIO}
    request = _ask(wavs[0], "What do you hear?")
    text_only = Request(parts=(TextPart(text="Say something."),))

    async def run() -> list[Any]:
        await generic.load()
        assert type(generic.model) is type(model)
        return [
            await loaded.generate(request),
            await generic.generate(request),
            await in_memory.generate(request),
            await loaded.generate(text_only),
        ]

    from_disk, from_generic, from_objects, no_audio = asyncio.run(run())
    assert loaded.model is not None
    assert from_disk.text == from_objects.text == from_generic.text
    assert no_audio.text
    with pytest.raises((ValueError, OSError)):
        HFModel(model_path=str(tmp_path / "nothing-here"))


# --------------------------------------------------------------------------- Qwen2.5-Omni


def test_qwen25_omni_thinker_answers_through_the_adapter(
    omni: tuple[Any, Any, Any, Any], tiny: Any, wavs: list[Path]
) -> None:
    thinker, processor, tokenizer, extractor = omni
    hf = HFModel.from_objects(thinker, processor)
    assert hf.family == "qwen2.5-omni"
    assert hf.capabilities.inputs == frozenset(Modality)
    full = HFModel.from_objects(tiny.tiny_qwen25_omni_full(thinker), processor)
    assert full.family == "qwen2.5-omni"
    request = _ask(wavs[0], "What do you hear?", max_tokens=5)

    async def run() -> tuple[Any, Any]:
        return await hf.generate(request), await full.generate(request)

    answer, from_full = asyncio.run(run())
    assert answer.text and from_full.text == answer.text  # the full model answers via its thinker

    # The same answer from inputs built by hand: the prompt with one <|AUDIO|> per 40 ms, the
    # log-mel features padded to 30 s, and the thinker called directly.
    import torch

    audio = load_audio(wavs[0], AudioSpec(sample_rate=16000)).samples[0]
    prompt = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<|audio_bos|>" + "<|AUDIO|>" * 25 + "<|audio_eos|>"
        "What do you hear?<|im_end|>\n<|im_start|>assistant\n"
    )
    ids = tokenizer(prompt, return_tensors="pt")
    features = extractor(
        audio,
        sampling_rate=16000,
        padding="max_length",
        return_attention_mask=True,
        return_tensors="pt",
    )
    with torch.inference_mode():
        out = thinker.generate(
            input_ids=ids["input_ids"],
            attention_mask=ids["attention_mask"],
            input_features=features["input_features"],
            feature_attention_mask=features["attention_mask"],
            max_new_tokens=5,
            do_sample=False,
        )
    by_hand = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert answer.text == by_hand
    assert answer.usage is not None and answer.usage.input_tokens == ids["input_ids"].shape[1]
    asyncio.run(hf.close())
    asyncio.run(full.close())


# --------------------------------------------------------------------------- Qwen3-Omni


def test_qwen3_omni_thinker_answers_through_the_adapter(tiny: Any, wavs: list[Path]) -> None:
    thinker, processor = tiny.tiny_qwen3_omni(seed=0)
    hf = HFModel.from_objects(thinker, processor, max_batch=2)
    assert hf.family == "qwen3-omni"
    requests = [
        _ask(wav, f"Question {i}: what do you hear?", max_tokens=5) for i, wav in enumerate(wavs)
    ]

    async def run() -> tuple[list[Any], list[Any]]:
        batch = await hf.generate_batch(requests)  # chunks of max_batch=2
        return batch, [await hf.generate(r) for r in requests]

    batch, singles = asyncio.run(run())
    assert all(r.text and not r.failed for r in batch)
    assert [r.text for r in batch] == [r.text for r in singles]
    assert [r.usage for r in batch] == [r.usage for r in singles]
    asyncio.run(hf.close())
