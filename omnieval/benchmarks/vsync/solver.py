"""`vsync-solver`: a reference model that answers the generated V-SYNC edition from the raw signal.

It reads only what a real model is given: the prompt text and the media parts of the request,
through the media layer. Which media it may read follows the request, never the sample: a
`VideoPart(with_audio=True)` gives frames and sound (variant `avt`), `VideoPart(with_audio=False)`
frames only (`vt`), an `AudioPart` sound only (`at`).

Who is speaking at t (options "The person at position k (...)"):
- frames and sound: the picture is cut into as many equal vertical strips as there are positions;
  in each strip, the mouth signal of a frame is its *darkness* (the sum of (DARK_LUMA - luma) over
  pixels darker than that: only open mouths are dark and move). Over the frames within
  +-`window_s` of t, each strip's series is correlated (Pearson) with the sound's RMS over each
  frame's display interval [pts, pts + 1/fps); the best-correlated strip is the answer.
- frames only: the strip whose mouth moves most (largest standard deviation of darkness) around
  t. Every mouth moves all the time, so this carries no information: accuracy is at chance.
- sound only: the position indexed by a hash (sha256, salted with `seed`) of the decoded 16-bit
  audio. Voices are drawn independently of seats, so the sound carries no information: chance.
- no media: the same hash of the prompt text.

Is the audio in sync with the video (options "ahead" / "in sync" / "behind"):
- frames and sound: two visual event signals are computed per frame, the darkness (a talking
  mouth) and the *brightness* (pixels brighter than BRIGHT_LUMA: a flash); each is correlated
  with the sound's RMS over the frame intervals shifted by a lag d, for d in +-`max_lag_ms` on a
  2 ms grid. The signal with the higher peak wins; the lag of its peak (refined by a parabola) is
  the estimated offset (positive = sound later than picture). |offset| <= `sync_tolerance_ms`
  answers "in sync", a positive offset "behind", a negative one "ahead".
- frames only or sound only: an offset cannot be measured from one stream, so the answer is the
  neutral "in sync" option.

`Response.text` is exactly the option letter. `analyze(request)` returns the evidence (scores,
estimated offset, rule) for tests and debugging. An unreadable media file raises
`PermanentModelError` naming the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from omnieval import registry
from omnieval.benchmarks.vsync import solver_when
from omnieval.media import (
    AudioSpec,
    FrameSpec,
    MediaCache,
    MediaError,
    load_audio,
    sample_frames,
)
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.types import (
    AudioPart,
    Modality,
    Request,
    Response,
    TimeWindow,
    VideoPart,
)

SOLVER_VERSION = "1"
SAMPLE_RATE = 16_000
DARK_LUMA = 80.0
BRIGHT_LUMA = 200.0

_OPTION = re.compile(r"^\s*\(?([A-H])[.)]\s+(.+?)\s*$", re.M)
_WHO = re.compile(r"\bwho is speaking at (\d+(?:\.\d+)?)\s*(?:s|sec|seconds)\b", re.I)
_SYNC = re.compile(r"\bis the audio in sync with the video\b", re.I)
_POSITION = re.compile(r"\bposition (\d+)\b", re.I)


@dataclass
class Analysis:
    """What the solver concluded and why."""

    letter: str  # the answer text: an option letter, or the utterance of a "how" question
    kind: str  # "who" | "sync" | "when" | "how"
    rule: str  # which rule produced the answer
    scores: dict[str, float] = field(default_factory=dict)
    offset_ms: float | None = None


@dataclass(frozen=True)
class _Media:
    path: Path | None
    window: TimeWindow | None
    frames: bool
    sound: bool


@registry.models.register("vsync-solver")
class VsyncSolver(Model):
    """Signal-level reference solver for the generated V-SYNC edition (see the module doc)."""

    name = "vsync-solver"
    capabilities = ModelCapabilities(
        inputs=frozenset({Modality.TEXT, Modality.AUDIO, Modality.VIDEO}), max_concurrency=4
    )

    def __init__(
        self,
        seed: int = 0,
        cache_dir: str | None = None,
        window_s: float = 0.6,
        sync_tolerance_ms: float = 60,
        max_lag_ms: float = 700,
    ) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.seed = int(seed)
        self.window_s = float(window_s)
        self.sync_tolerance_ms = float(sync_tolerance_ms)
        self.max_lag_ms = float(max_lag_ms)
        # Without a cache_dir nothing is cached: these clips decode faster than a disk cache of
        # raw frames can be written and read back.
        self.cache = MediaCache(cache_dir) if cache_dir else None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "version": SOLVER_VERSION,
            "seed": self.seed,
            "window_s": self.window_s,
            "sync_tolerance_ms": self.sync_tolerance_ms,
            "max_lag_ms": self.max_lag_ms,
        }

    async def generate(self, request: Request) -> Response:
        started = time.perf_counter()
        analysis = await asyncio.to_thread(self.analyze, request)
        return Response(text=analysis.letter, latency_s=time.perf_counter() - started)

    # ------------------------------------------------------------------ analysis

    def analyze(self, request: Request) -> Analysis:
        """Answer `request`, with the evidence. Raises PermanentModelError on unusable input."""
        text = request.text()
        options = _options(text)
        media = _media(request)
        try:
            who = _WHO.search(text)
            if who:
                return self._who(float(who.group(1)), options, media, text)
            if _SYNC.search(text):
                return self._sync(options, media)
            if solver_when.WHEN.search(text):
                letter, rule, evidence = solver_when.when_answer(
                    text, options, media.path, media.frames, media.sound, self.cache
                )
                return Analysis(letter=letter, kind="when", rule=rule, scores=evidence)
            if solver_when.HOW.search(text):
                return Analysis(letter=solver_when.HOW_ANSWER, kind="how", rule="template")
        except MediaError as err:
            raise PermanentModelError(str(err)) from err
        raise PermanentModelError(
            "vsync-solver: the prompt asks neither 'Who is speaking at <t> s?' nor "
            "'Is the audio in sync with the video?' (Level 1) nor a generated Level 2/3 'when' or "
            "'how' question; it only answers the generated V-SYNC editions"
        )

    # ------------------------------------------------------------------ who is speaking

    def _who(self, t: float, options: dict[str, str], media: _Media, text: str) -> Analysis:
        seats: dict[int, str] = {}
        for letter, option in options.items():
            m = _POSITION.search(option)
            if m:
                seats.setdefault(int(m.group(1)), letter)
        if not seats:
            raise PermanentModelError("vsync-solver: no 'position k' options found in the prompt")
        count = max(seats)
        if media.path is not None and media.frames:
            darkness, stamps, fps = self._strip_darkness(media, t, count)
            if media.sound:
                envelope = self._envelope(media, stamps, 1.0 / fps, 0.0)
                # Frames near t count most: a window edge may reach into a neighbouring turn.
                weight = np.exp(-0.5 * ((stamps + 0.5 / fps - t) / (0.5 * self.window_s)) ** 2)
                scores = np.array([_pearson(d, envelope, weight) for d in darkness])
                rule = "mouth-audio-correlation"
            else:
                scores = darkness.std(axis=1)
                rule = "most-mouth-motion"
            scores = np.where(np.isfinite(scores), scores, -np.inf)
            best = int(np.argmax(scores))  # the lowest position among equal scores
            letter = seats.get(best + 1, seats[min(seats)])
            return Analysis(
                letter=letter,
                kind="who",
                rule=rule,
                scores={f"position {i + 1}": float(s) for i, s in enumerate(scores)},
            )
        if media.path is not None and media.sound:
            clip = load_audio(
                media.path, AudioSpec(sample_rate=SAMPLE_RATE, window=media.window), self.cache
            )
            pcm = np.clip(np.round(clip.samples[0] * 32767), -32768, 32767).astype("<i2").tobytes()
            rule, payload = "audio-hash", pcm
        else:
            rule, payload = "text-hash", text.encode("utf-8")
        digest = hashlib.sha256(self.seed.to_bytes(8, "little", signed=True) + payload).digest()
        letters = [seats[k] for k in sorted(seats)]
        return Analysis(
            letter=letters[int.from_bytes(digest[:8], "little") % len(letters)],
            kind="who",
            rule=rule,
        )

    def _strip_darkness(
        self, media: _Media, t: float, count: int
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Darkness per strip and frame around t: ([strips, frames], frame times, fps)."""
        assert media.path is not None
        start = max(0.0, t - self.window_s)
        if media.window is not None:
            start = max(start, media.window.start)
        frames = sample_frames(
            media.path, FrameSpec(window=TimeWindow(start=start, end=t + self.window_s)), self.cache
        )
        y = _luma(frames.images)  # [F, H, W]
        edges = np.round(np.linspace(0, y.shape[2], count + 1)).astype(int)
        per_strip = np.stack(
            [_below(y[:, :, a:b], DARK_LUMA) for a, b in itertools.pairwise(edges)]
        )
        return per_strip, frames.timestamps, _fps(frames.timestamps, frames.source_fps)

    # ------------------------------------------------------------------ sync

    def _sync(self, options: dict[str, str], media: _Media) -> Analysis:
        choice: dict[str, str] = {}
        for letter, option in options.items():
            low = option.lower()
            for key, word in (("ahead", "ahead"), ("sync", "in sync"), ("behind", "behind")):
                if word in low:
                    choice.setdefault(key, letter)
        if "sync" not in choice:
            raise PermanentModelError("vsync-solver: no 'in sync' option found in the prompt")
        if media.path is None or not (media.frames and media.sound):
            return Analysis(letter=choice["sync"], kind="sync", rule="neutral-in-sync")
        offset_ms, scores = self._estimate_offset(media)
        if offset_ms > self.sync_tolerance_ms and "behind" in choice:
            key = "behind"
        elif offset_ms < -self.sync_tolerance_ms and "ahead" in choice:
            key = "ahead"
        else:
            key = "sync"
        return Analysis(
            letter=choice[key],
            kind="sync",
            rule="lag-correlation",
            scores=scores,
            offset_ms=offset_ms,
        )

    def _estimate_offset(self, media: _Media) -> tuple[float, dict[str, float]]:
        """(offset in ms, evidence): the lag of the sound behind the picture's events."""
        assert media.path is not None
        spec = FrameSpec(window=media.window) if media.window is not None else FrameSpec()
        frames = sample_frames(media.path, spec, self.cache)
        y = _luma(frames.images)
        signals = {"darkness": _below(y, DARK_LUMA), "brightness": _above(y, BRIGHT_LUMA)}
        stamps = frames.timestamps
        dt = 1.0 / _fps(stamps, frames.source_fps)
        lags = np.arange(-self.max_lag_ms, self.max_lag_ms + 1e-9, 2.0) / 1000.0
        envelopes = self._envelope(media, stamps, dt, lags)  # [lags, frames]
        best: tuple[float, float, str] = (-np.inf, 0.0, "")
        scores: dict[str, float] = {}
        for name, signal in signals.items():
            curve = _pearson_rows(signal, envelopes)
            k = int(np.argmax(curve))
            peak = float(curve[k])
            scores[f"{name}_peak"] = peak
            if peak > best[0]:
                best = (peak, _refine(lags, curve, k), name)
        scores["signal_is_brightness"] = float(best[2] == "brightness")
        return best[1] * 1000.0, scores

    # ------------------------------------------------------------------ sound

    def _envelope(
        self, media: _Media, stamps: np.ndarray, dt: float, lags: float | np.ndarray
    ) -> np.ndarray:
        """RMS of the sound over [stamp + lag, stamp + lag + dt) for every frame (and lag)."""
        assert media.path is not None
        clip = load_audio(
            media.path, AudioSpec(sample_rate=SAMPLE_RATE, window=media.window), self.cache
        )
        x = clip.samples.mean(axis=0).astype(np.float64)
        energy = np.concatenate([[0.0], np.cumsum(x * x)])
        lag = np.atleast_1d(np.asarray(lags, dtype=np.float64))
        starts = (stamps[None, :] + lag[:, None] - clip.start_s) * clip.sample_rate
        a = np.clip(np.round(starts).astype(np.int64), 0, x.size)
        b = np.clip(np.round(starts + dt * clip.sample_rate).astype(np.int64), 0, x.size)
        rms = np.sqrt((energy[b] - energy[a]) / max(dt * clip.sample_rate, 1.0))
        return rms[0] if np.ndim(lags) == 0 else rms


# --------------------------------------------------------------------------- helpers


def _options(text: str) -> dict[str, str]:
    """Lettered option lines of the prompt, first occurrence of each letter."""
    found: dict[str, str] = {}
    for m in _OPTION.finditer(text):
        found.setdefault(m.group(1), m.group(2))
    return found


def _media(request: Request) -> _Media:
    """The one media input of the request, and which of its streams the solver may read."""
    for part in request.parts:
        if isinstance(part, VideoPart):
            return _Media(Path(part.path), part.window, frames=True, sound=part.with_audio)
    for part in request.parts:
        if isinstance(part, AudioPart):
            return _Media(Path(part.path), part.window, frames=False, sound=True)
    return _Media(None, None, frames=False, sound=False)


def _luma(images: np.ndarray) -> np.ndarray:
    """BT.601 luma of uint8 RGB images, in 1/256 steps of a grey level: int32 [..., H, W]."""
    rgb = images.astype(np.int32)
    return rgb[..., 0] * 77 + rgb[..., 1] * 150 + rgb[..., 2] * 29


def _below(luma: np.ndarray, level: float) -> np.ndarray:
    """Per-frame sum of (level - luma) over pixels darker than `level`, in grey levels."""
    return np.maximum(int(level * 256) - luma, 0).sum(axis=(-2, -1)) / 256.0


def _above(luma: np.ndarray, level: float) -> np.ndarray:
    """Per-frame sum of (luma - level) over pixels brighter than `level`, in grey levels."""
    return np.maximum(luma - int(level * 256), 0).sum(axis=(-2, -1)) / 256.0


def _fps(stamps: np.ndarray, source_fps: float) -> float:
    if source_fps and source_fps > 0:
        return float(source_fps)
    if stamps.size >= 2:
        step = float(np.median(np.diff(stamps)))
        if step > 0:
            return 1.0 / step
    return 25.0


def _pearson(a: np.ndarray, b: np.ndarray, weight: np.ndarray | None = None) -> float:
    """(Weighted) Pearson correlation; NaN when either series is constant."""
    w = np.ones(a.shape, np.float64) if weight is None else weight.astype(np.float64)
    w = w / w.sum()
    a = a - (w * a).sum()
    b = b - (w * b).sum()
    denom = float(np.sqrt((w * a * a).sum() * (w * b * b).sum()))
    return float((w * a * b).sum() / denom) if denom > 1e-12 else float("nan")


def _pearson_rows(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Pearson correlation of `a` with every row of `rows`; -inf where undefined."""
    a = a - a.mean()
    r = rows - rows.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum() * (r * r).sum(axis=1))
    out = np.full(rows.shape[0], -np.inf)
    ok = denom > 1e-12
    out[ok] = (r[ok] @ a) / denom[ok]
    return out


def _refine(lags: np.ndarray, curve: np.ndarray, k: int) -> float:
    """Peak position refined by a parabola through the peak and its neighbours."""
    if 0 < k < len(curve) - 1 and np.isfinite(curve[k - 1]) and np.isfinite(curve[k + 1]):
        left, mid, right = curve[k - 1], curve[k], curve[k + 1]
        denom = left - 2 * mid + right
        if denom < 0:
            shift = 0.5 * (left - right) / denom
            return float(lags[k] + np.clip(shift, -0.5, 0.5) * (lags[1] - lags[0]))
    return float(lags[k])
