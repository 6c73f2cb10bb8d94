"""The ASR engines behind `omnieval.media.asr`: offline pocketsphinx, and an OpenAI-compatible
transcription endpoint. Both read audio through `load_audio` (16 kHz mono), so a video's audio
track and a time window work the same way for either.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, SecretStr

from omnieval.media.asr import AsrError, Transcript, Word
from omnieval.media.audio import AudioClip, AudioSpec, load_audio
from omnieval.media.encode import encode_wav
from omnieval.retry_after import parse_retry_after
from omnieval.types import Frozen, TimeWindow

SAMPLE_RATE = 16_000


def _load(path: Path, window: TimeWindow | None) -> AudioClip:
    return load_audio(path, AudioSpec(sample_rate=SAMPLE_RATE, mono=True, window=window))


# --------------------------------------------------------------------------- pocketsphinx


class PocketsphinxSpec(Frozen):
    """Settings of the offline engine.

    - `grammar_words`: restrict recognition to these words, in any order and number (a JSGF
      word loop). Words missing from the pronunciation dictionary are dropped; it is an error
      when none remains.
    - `jsgf`: a full JSGF grammar (text) instead; its first public rule is used.
    - `hmm`, `dictionary`, `lm`: paths to another acoustic model, dictionary or language model
      (default: the US-English model bundled with pocketsphinx).
    - `max_utterance_s`: longer audio is first split at pauses (pocketsphinx's voice activity
      detector) and each piece decoded on its own.
    """

    engine: Literal["pocketsphinx"] = "pocketsphinx"
    grammar_words: tuple[str, ...] = ()
    jsgf: str | None = None
    hmm: str | None = None
    dictionary: str | None = None
    lm: str | None = None
    max_utterance_s: float = Field(default=30.0, gt=0)


_FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
_ALTERNATE = re.compile(r"\(\d+\)$")
_WORD_TOKEN = re.compile(r"[a-z][a-z'.-]*")

_engines: dict[str, PocketsphinxEngine] = {}
_engines_lock = threading.Lock()


def pocketsphinx_engine(spec: PocketsphinxSpec) -> PocketsphinxEngine:
    """One engine per distinct setting, shared across callers (its decoders load the model once
    per thread)."""
    key = spec.model_dump_json()
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = PocketsphinxEngine(spec)
        return engine


class PocketsphinxEngine:
    """CMU pocketsphinx with word timestamps. One decoder per thread (decoders are not
    thread-safe, and building one loads the model: ~0.2 s, ~0.6 s with the language model)."""

    def __init__(self, spec: PocketsphinxSpec | None = None) -> None:
        self.spec = spec or PocketsphinxSpec()
        if self.spec.grammar_words and self.spec.jsgf:
            raise ValueError("pocketsphinx: give either `grammar_words` or `jsgf`, not both")
        self._local = threading.local()
        self.grammar_words: tuple[str, ...] = ()

    def identity(self) -> dict[str, Any]:
        return {
            "engine": "pocketsphinx",
            "version": _package_version("pocketsphinx"),
            **self.spec.model_dump(mode="json", exclude={"engine"}),
        }

    def preflight(self) -> None:
        """Build this thread's decoder now: raises `AsrError` when pocketsphinx is missing or
        its model cannot be loaded (a run checks this before any trial)."""
        self._decoder()

    def transcribe(self, path: Path, window: TimeWindow | None = None) -> Transcript:
        clip = _load(Path(path), window)
        samples = clip.samples[0] if clip.num_samples else np.zeros(0, dtype=np.float32)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
        decoder = self._decoder()
        words: list[Word] = []
        if len(pcm) <= self.spec.max_utterance_s * SAMPLE_RATE:
            words = self._decode(decoder, pcm.tobytes(), clip.start_s)
        else:
            for offset, piece in _speech_pieces(pcm):
                words += self._decode(decoder, piece, clip.start_s + offset)
        return Transcript(words=tuple(words), text=" ".join(w.text for w in words))

    def _decode(self, decoder: Any, pcm: bytes, offset_s: float) -> list[Word]:
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return []
        frate = float(decoder.config["frate"])
        words: list[Word] = []
        for seg in decoder.seg() or ():
            text = _ALTERNATE.sub("", seg.word)
            if not text or _FILLER.match(text):
                continue
            start = offset_s + seg.start_frame / frate
            end = offset_s + (seg.end_frame + 1) / frate
            words.append(Word(start=round(start, 3), end=round(end, 3), text=text))
        return words

    def _decoder(self) -> Any:
        decoder = getattr(self._local, "decoder", None)
        if decoder is None:
            decoder = self._local.decoder = self._build_decoder()
        return decoder

    def _build_decoder(self) -> Any:
        try:
            from pocketsphinx import Decoder
        except ImportError as err:
            raise AsrError(
                'the pocketsphinx ASR engine needs pocketsphinx: pip install "omnieval[asr]"'
            ) from err
        spec = self.spec
        options: dict[str, Any] = {"samprate": SAMPLE_RATE, "loglevel": "FATAL"}
        if spec.hmm:
            options["hmm"] = spec.hmm
        if spec.dictionary:
            options["dict"] = spec.dictionary
        grammar = spec.jsgf
        if spec.grammar_words or grammar:
            options["lm"] = None
        elif spec.lm:
            options["lm"] = spec.lm
        try:
            decoder = Decoder(**options)
        except (RuntimeError, ValueError, OSError) as err:
            raise AsrError(f"pocketsphinx could not load its model ({options}): {err}") from err
        if spec.grammar_words:
            known = _known_words(decoder, spec.grammar_words)
            if not known:
                raise AsrError(
                    "pocketsphinx: none of the grammar_words is in the pronunciation "
                    f"dictionary: {list(spec.grammar_words)[:10]}"
                )
            self.grammar_words = known
            grammar = "#JSGF V1.0;\ngrammar words;\npublic <utterance> = ( {} )* ;\n".format(
                " | ".join(known)
            )
        if grammar:
            try:
                decoder.add_jsgf_string("grammar", grammar)
                decoder.activate_search("grammar")
            except (RuntimeError, ValueError) as err:
                raise AsrError(f"pocketsphinx rejected the JSGF grammar: {err}") from err
        return decoder


def _known_words(decoder: Any, words: tuple[str, ...]) -> tuple[str, ...]:
    """Lower-cased single words from `words` that the dictionary can pronounce, in order."""
    found: dict[str, None] = {}
    for entry in words:
        for token in _WORD_TOKEN.findall(entry.lower()):
            if decoder.lookup_word(token) is not None:
                found.setdefault(token, None)
    return tuple(found)


def _speech_pieces(pcm: np.ndarray) -> list[tuple[float, bytes]]:
    """(start offset in seconds, 16-bit PCM bytes) of each speech region found by the VAD."""
    from pocketsphinx import Segmenter

    segmenter = Segmenter(sample_rate=SAMPLE_RATE)
    reader = _BytesReader(pcm.tobytes())
    return [(float(seg.start_time), bytes(seg.pcm)) for seg in segmenter.segment(reader)]


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------- OpenAI-compatible


class OpenAITranscriptionSpec(Frozen):
    """Settings of an OpenAI-compatible transcription endpoint.

    `base_url` ends before `/audio/transcriptions` (e.g. `https://api.openai.com/v1`).
    `api_key` is sent as a bearer token and never enters cache keys, logs or errors.
    """

    engine: Literal["openai"] = "openai"
    base_url: str = "https://api.openai.com/v1"
    model: str = "whisper-1"
    api_key: SecretStr | None = None
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    retry_base_s: float = Field(default=1.0, ge=0)


_TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_MAX_RETRY_AFTER_S = 30.0


class OpenAITranscriptionEngine:
    """`POST {base_url}/audio/transcriptions` (multipart: `file` as 16 kHz mono WAV, `model`,
    `response_format=verbose_json`, `timestamp_granularities[]=word`). Synchronous (stdlib
    urllib): it runs in a worker thread. Retries 408/429/5xx, timeouts and connection errors up
    to `max_retries` times (backoff from `retry_base_s`, doubling, at most 8 s), honouring
    Retry-After (up to 30 s)."""

    def __init__(self, spec: OpenAITranscriptionSpec | None = None) -> None:
        self.spec = spec or OpenAITranscriptionSpec()
        self.url = self.spec.base_url.rstrip("/") + "/audio/transcriptions"

    def identity(self) -> dict[str, Any]:
        return self.spec.model_dump(
            mode="json", exclude={"api_key", "timeout_s", "max_retries", "retry_base_s", "engine"}
        ) | {"engine": "openai"}

    def transcribe(self, path: Path, window: TimeWindow | None = None) -> Transcript:
        path = Path(path)
        clip = _load(path, window)
        body, content_type = self._form(encode_wav(clip))
        attempt = 0
        while True:
            try:
                data = self._post(body, content_type, path)
                return _parse_verbose_json(data, clip.start_s, path, self.url)
            except AsrError as err:
                attempt += 1
                if not err.transient or attempt > self.spec.max_retries:
                    raise
                delay = min(self.spec.retry_base_s * 2.0 ** (attempt - 1), 8.0)
                if err.retry_after_s is not None:
                    delay = max(delay, min(err.retry_after_s, _MAX_RETRY_AFTER_S))
                time.sleep(delay)

    def _form(self, wav: bytes) -> tuple[bytes, str]:
        boundary = f"omnieval-{uuid.uuid4().hex}"
        fields: list[tuple[str, str]] = [
            ("model", self.spec.model),
            ("response_format", "verbose_json"),
            ("timestamp_granularities[]", "word"),
        ]
        if self.spec.language:
            fields.append(("language", self.spec.language))
        if self.spec.prompt:
            fields.append(("prompt", self.spec.prompt))
        if self.spec.temperature is not None:
            fields.append(("temperature", f"{self.spec.temperature:g}"))
        chunks: list[bytes] = []
        for name, value in fields:
            chunks.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="audio.wav"\r\nContent-Type: audio/wav\r\n\r\n'.encode()
        )
        chunks.append(wav)
        chunks.append(f"\r\n--{boundary}--\r\n".encode())
        return b"".join(chunks), f"multipart/form-data; boundary={boundary}"

    def _post(self, body: bytes, content_type: str, path: Path) -> Any:
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self.spec.api_key is not None:
            headers["Authorization"] = f"Bearer {self.spec.api_key.get_secret_value()}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        where = f"transcribing {path.name} at {self.url}"
        try:
            with urllib.request.urlopen(request, timeout=self.spec.timeout_s) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as err:
            detail = self._scrub(err.read()[:500].decode("utf-8", "replace"))
            retry_after = parse_retry_after(err.headers.get("Retry-After") if err.headers else None)
            raise AsrError(
                f"{where}: HTTP {err.code}: {detail}",
                transient=err.code in _TRANSIENT_STATUS,
                retry_after_s=retry_after,
            ) from None
        except TimeoutError:
            raise AsrError(
                f"{where}: no answer within {self.spec.timeout_s:g} s", transient=True
            ) from None
        except (urllib.error.URLError, ConnectionError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise AsrError(f"{where}: {self._scrub(str(reason))}", transient=True) from None
        try:
            return json.loads(raw)
        except ValueError:
            excerpt = self._scrub(raw[:200].decode("utf-8", "replace"))
            raise AsrError(f"{where}: the answer is not JSON: {excerpt!r}") from None

    def _scrub(self, text: str) -> str:
        key = self.spec.api_key.get_secret_value() if self.spec.api_key else ""
        return text.replace(key, "***") if key else text


def _parse_verbose_json(data: Any, offset_s: float, path: Path, url: str) -> Transcript:
    """Words from `words` (or, failing that, one entry per `segments` item), shifted onto the
    file's timeline."""
    if not isinstance(data, dict) or not isinstance(data.get("text", ""), str):
        raise AsrError(f"transcribing {path.name} at {url}: unexpected answer: {str(data)[:200]}")
    text = str(data.get("text") or "").strip()
    entries = data.get("words") or []
    text_key = "word"
    if not entries and data.get("segments"):
        entries, text_key = data["segments"], "text"
    words: list[Word] = []
    try:
        for entry in entries:
            token = str(entry.get(text_key, "")).strip()
            if not token:
                continue
            words.append(
                Word(
                    start=round(offset_s + float(entry["start"]), 3),
                    end=round(offset_s + float(entry["end"]), 3),
                    text=token,
                )
            )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise AsrError(
            f"transcribing {path.name} at {url}: malformed word timestamps: {err}"
        ) from None
    words.sort(key=lambda w: (w.start, w.end))
    if not text:
        text = " ".join(w.text for w in words)
    return Transcript(words=tuple(words), text=text)
