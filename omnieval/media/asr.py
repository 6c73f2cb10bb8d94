"""Speech recognition behind one small interface, cached per audio content.

```python
from omnieval.media.asr import get_transcriber

asr = get_transcriber({"engine": "pocketsphinx", "grammar_words": ["red", "blue", "cat"]})
transcript = asr.transcribe(Path("clip.mp4"))        # a video's audio track works too
print(transcript.timestamped())                       # "[0.33-1.05] red cat\n[1.43-2.24] ..."
```

Engines (see `omnieval.media.asr_engines` and docs/asr.md):
- `pocketsphinx` (the default): offline, the English model bundled with the package, word
  timestamps; optionally restricted to a word list (`grammar_words`) or a JSGF grammar (`jsgf`),
  which is far more reliable on synthetic speech than the open-vocabulary language model.
- `openai`: any OpenAI-compatible `POST {base_url}/audio/transcriptions` endpoint
  (`response_format=verbose_json`, word timestamps).

Every transcript is cached on disk, in the media cache directory, under the sha256 of (audio file
content digest, time window, engine settings without secrets, cache format): transcribing the same
audio again never runs the engine, whatever the file is called. Entries are small JSON files,
written atomically (temporary file + rename). Times are seconds on the file's timeline (a window
[2, 5) gives words between 2 and 5 s, not between 0 and 3 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from omnieval.media.cache import MediaCache
from omnieval.media.digest import file_digest
from omnieval.types import Frozen, TimeWindow

#: Bump when an engine's output for the same settings would change; old entries are then missed.
ASR_CACHE_FORMAT = 1
_SUFFIX = ".asr.json"
_TMP_PREFIX = ".tmp-"


class AsrError(Exception):
    """A transcription failed. `transient` says whether retrying may help (rate limit, server
    error, timeout, dropped connection); `retry_after_s` is the server's hint, if it gave one."""

    def __init__(
        self, message: str, transient: bool = False, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after_s = retry_after_s


class Word(Frozen):
    """One recognised word; `start` / `end` in seconds on the file's timeline."""

    start: float
    end: float
    text: str


class Transcript(Frozen):
    """Recognised words (in time order) and the full text."""

    words: tuple[Word, ...] = ()
    text: str = ""

    def timestamped(self, segment_s: float = 2.0) -> str:
        """One line per segment: `[start-end] words`, times with two decimals.

        Consecutive words share a segment while the segment spans at most `segment_s` seconds
        and no pause inside it is longer than `min(1, segment_s / 2)` seconds. A transcript
        without word times (an engine gave only text) is returned as its text; an empty one as "".
        """
        if segment_s <= 0:
            raise ValueError(f"segment_s must be positive, not {segment_s}")
        if not self.words:
            return self.text.strip()
        pause = min(1.0, segment_s / 2)
        lines: list[str] = []
        group: list[Word] = []
        for word in self.words:
            if group and (
                word.end - group[0].start > segment_s or word.start - group[-1].end > pause
            ):
                lines.append(_segment_line(group))
                group = []
            group.append(word)
        lines.append(_segment_line(group))
        return "\n".join(lines)


def _segment_line(words: list[Word]) -> str:
    text = " ".join(w.text for w in words)
    return f"[{words[0].start:.2f}-{max(w.end for w in words):.2f}] {text}"


@runtime_checkable
class Transcriber(Protocol):
    """Anything that turns (a window of) a file's audio into a transcript."""

    def transcribe(self, path: Path, window: TimeWindow | None = None) -> Transcript: ...


class AsrEngine(Protocol):
    """An uncached recogniser. `identity()` names every setting that can change its output and
    nothing secret (it enters cache keys and may be logged)."""

    def transcribe(self, path: Path, window: TimeWindow | None = None) -> Transcript: ...

    def identity(self) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- cache


class TranscriptCache:
    """Transcripts on disk, beside the decoded media of a `MediaCache`:
    `<dir>/<key[:2]>/<key>.asr.json` (so `MediaCache.clear()` removes them too)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = MediaCache(directory).directory

    def key(self, path: Path, window: TimeWindow | None, identity: dict[str, Any]) -> str:
        payload = {
            "format": ASR_CACHE_FORMAT,
            "digest": file_digest(path),
            "window": window.model_dump(mode="json") if window is not None else None,
            "engine": identity,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def entry_path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}{_SUFFIX}"

    def load(self, key: str) -> Transcript | None:
        """The cached transcript, or None on a miss (a damaged entry is removed)."""
        path = self.entry_path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Transcript.model_validate(data["transcript"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            path.unlink(missing_ok=True)
            return None

    def store(self, key: str, transcript: Transcript, identity: dict[str, Any]) -> Path:
        path = self.entry_path(key)
        body = json.dumps(
            {
                "format": ASR_CACHE_FORMAT,
                "engine": identity,
                "transcript": transcript.model_dump(mode="json"),
            },
            ensure_ascii=False,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_SUFFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


#: One lock per cache key being computed, shared by every transcriber of this process.
_pending: dict[str, threading.Lock] = {}
_pending_guard = threading.Lock()


class CachedTranscriber:
    """A `Transcriber` that asks `engine` only on a cache miss. Thread-safe: concurrent calls
    for the same (audio, window, settings), through this transcriber or another one of this
    process, wait for one engine run instead of each starting their own."""

    def __init__(self, engine: AsrEngine, cache: TranscriptCache | None = None) -> None:
        self.engine = engine
        self.cache = cache or TranscriptCache()
        self._identity = engine.identity()

    def __repr__(self) -> str:
        return f"CachedTranscriber({self._identity}, cache={str(self.cache.directory)!r})"

    def transcribe(self, path: Path, window: TimeWindow | None = None) -> Transcript:
        path = Path(path)
        window = _normalise_window(window)
        key = self.cache.key(path, window, self._identity)
        hit = self.cache.load(key)
        if hit is not None:
            return hit
        with _pending_guard:
            lock = _pending.setdefault(key, threading.Lock())
        with lock:
            hit = self.cache.load(key)
            if hit is None:
                hit = self.engine.transcribe(path, window)
                self.cache.store(key, hit, self._identity)
        with _pending_guard:
            if _pending.get(key) is lock and not lock.locked():
                del _pending[key]
        return hit


def _normalise_window(window: TimeWindow | None) -> TimeWindow | None:
    """The whole file is `None`, however it was spelled."""
    if window is None or (window.start == 0 and window.end is None):
        return None
    return window


# --------------------------------------------------------------------------- factory

_ENGINES = ("pocketsphinx", "openai")


def get_transcriber(
    spec: dict[str, Any] | None = None,
    cache: TranscriptCache | MediaCache | str | os.PathLike[str] | None = None,
) -> Transcriber:
    """A cached transcriber for `spec` (default `{"engine": "pocketsphinx"}`).

    `spec` holds `engine` plus that engine's settings (docs/asr.md); `cache_dir` in it (or the
    `cache` argument: a directory, a `MediaCache` or a `TranscriptCache`) chooses where
    transcripts are kept, by default the media cache directory. Unknown settings raise
    `ValueError`.
    """
    settings = dict(spec or {})
    settings.setdefault("engine", "pocketsphinx")
    cache_dir = settings.pop("cache_dir", None)
    if cache is None:
        store = TranscriptCache(cache_dir)
    elif isinstance(cache, TranscriptCache):
        store = cache
    elif isinstance(cache, MediaCache):
        store = TranscriptCache(cache.directory)
    else:
        store = TranscriptCache(cache)
    engine_name = settings["engine"]
    from omnieval.media import asr_engines

    try:
        if engine_name == "pocketsphinx":
            engine: AsrEngine = asr_engines.pocketsphinx_engine(
                asr_engines.PocketsphinxSpec.model_validate(settings)
            )
        elif engine_name == "openai":
            engine = asr_engines.OpenAITranscriptionEngine(
                asr_engines.OpenAITranscriptionSpec.model_validate(settings)
            )
        else:
            raise ValueError(f"unknown ASR engine {engine_name!r}; known: {', '.join(_ENGINES)}")
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in err.errors()
        )
        raise ValueError(f"bad {engine_name} ASR settings: {problems}") from None
    return CachedTranscriber(engine, store)
