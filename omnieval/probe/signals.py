"""The probe set's primitive signals, shared by the generator and the `probe-solver`.

Everything here is deterministic: seven-segment digits drawn inside a bordered display, tone
trains, a spoken digit (espeak-ng when it is installed, else a small formant synthesiser), a
full-frame flash. The solver reads the same shapes back from pixels and samples.
"""

from __future__ import annotations

import functools
import io
import itertools
import shutil
import subprocess
import wave

import numpy as np

SAMPLE_RATE = 16_000
TONE_HZ = 1000.0
TONE_S = 0.15
TONE_GAP_S = 0.30

#: digit -> lit segments (a top, b upper right, c lower right, d bottom, e lower left,
#: f upper left, g middle)
SEGMENTS: dict[int, str] = {
    0: "abcdef",
    1: "bc",
    2: "abdeg",
    3: "abcdg",
    4: "bcfg",
    5: "acdfg",
    6: "acdefg",
    7: "abc",
    8: "abcdefg",
    9: "abcdfg",
}
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

#: the display box, relative to the image: left, top, width, height
DISPLAY = (0.30, 0.15, 0.40, 0.70)
#: segment rectangles inside the display box, relative units (x0, y0, x1, y1)
_SEGMENT_BOXES: dict[str, tuple[float, float, float, float]] = {
    "a": (0.25, 0.10, 0.75, 0.18),
    "b": (0.70, 0.14, 0.80, 0.48),
    "c": (0.70, 0.52, 0.80, 0.86),
    "d": (0.25, 0.82, 0.75, 0.90),
    "e": (0.20, 0.52, 0.30, 0.86),
    "f": (0.20, 0.14, 0.30, 0.48),
    "g": (0.25, 0.46, 0.75, 0.54),
}
BORDER = 0.03  # of the display's width


def draw_digit(image: np.ndarray, digit: int) -> None:
    """Draw `digit` in white on a white-bordered dark display centred in `image` (RGB, in place)."""
    height, width = image.shape[:2]
    x0, y0 = int(DISPLAY[0] * width), int(DISPLAY[1] * height)
    w, h = int(DISPLAY[2] * width), int(DISPLAY[3] * height)
    border = max(2, int(BORDER * w))
    image[y0 : y0 + h, x0 : x0 + w] = 255
    image[y0 + border : y0 + h - border, x0 + border : x0 + w - border] = 20
    for name in SEGMENTS[digit]:
        sx0, sy0, sx1, sy1 = _SEGMENT_BOXES[name]
        image[y0 + int(sy0 * h) : y0 + int(sy1 * h), x0 + int(sx0 * w) : x0 + int(sx1 * w)] = 255


def digit_image(digit: int, width: int = 320, height: int = 240) -> np.ndarray:
    image = np.full((height, width, 3), 60, dtype=np.uint8)
    draw_digit(image, digit)
    return image


def read_digit(image: np.ndarray) -> int | None:
    """The seven-segment digit shown in `image` (any size, JPEG-noisy), or None if no display.

    The display is the largest bright rectangle outline; each segment is lit when the mean
    brightness of its rectangle is high."""
    luma = _luma(image)
    bright = luma > 150
    rows, cols = (
        np.flatnonzero(bright.mean(axis=1) > 0.25),
        np.flatnonzero(bright.mean(axis=0) > 0.25),
    )
    if rows.size < 2 or cols.size < 2:
        return None
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    h, w = y1 - y0, x1 - x0
    if h < 10 or w < 6:
        return None
    box = luma[y0:y1, x0:x1]
    inside = box[int(0.08 * h) : int(0.92 * h), int(0.12 * w) : int(0.88 * w)]
    if inside.size == 0 or float(np.median(inside)) > 120:  # a filled area, not a display
        return None
    lit = ""
    for name, (sx0, sy0, sx1, sy1) in _SEGMENT_BOXES.items():
        patch = box[
            int(sy0 * h + 0.02 * h) : max(int(sy1 * h - 0.02 * h), int(sy0 * h) + 1),
            int(sx0 * w + 0.02 * w) : max(int(sx1 * w - 0.02 * w), int(sx0 * w) + 1),
        ]
        if patch.size and float(patch.mean()) > 128:
            lit += name
    for digit, segments in SEGMENTS.items():
        if set(segments) == set(lit):
            return digit
    return None


def _luma(image: np.ndarray) -> np.ndarray:
    rgb = np.asarray(image, dtype=np.float32)
    if rgb.ndim == 2:
        return rgb
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def mean_luma(image: np.ndarray) -> float:
    return float(_luma(image).mean())


# ------------------------------------------------------------------------------------ audio


def tone(seconds: float = TONE_S, hz: float = TONE_HZ, sr: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    ramp = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)
    return (0.6 * np.sin(2 * np.pi * hz * t) * ramp).astype(np.float32)


def tone_train(count: int, lead_s: float, total_s: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """`count` tones starting at `lead_s`, in a `total_s` second mono track."""
    track = np.zeros(int(total_s * sr), dtype=np.float32)
    beep = tone(sr=sr)
    for k in range(count):
        at = int((lead_s + k * (TONE_S + TONE_GAP_S)) * sr)
        track[at : at + beep.size] += beep[: max(0, track.size - at)]
    return track


def envelope(samples: np.ndarray, sr: int, hop_s: float = 0.01) -> np.ndarray:
    """RMS per `hop_s` frame of a mono signal."""
    hop = max(1, int(hop_s * sr))
    n = samples.size // hop
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    frames = samples[: n * hop].reshape(n, hop).astype(np.float64)
    return np.sqrt((frames**2).mean(axis=1)).astype(np.float32)


def active_runs(env: np.ndarray, floor: float = 0.02, relative: float = 0.3) -> list[int]:
    """Start frames of the runs where `env` is above max(floor, relative x peak)."""
    if env.size == 0 or float(env.max()) < floor:
        return []
    above = env > max(floor, relative * float(env.max()))
    starts = np.flatnonzero(above & ~np.concatenate([[False], above[:-1]]))
    return [int(s) for s in starts]


def count_tones(samples: np.ndarray, sr: int) -> int:
    """Tone bursts in a mono signal: runs above threshold, merged across gaps < 80 ms."""
    env = envelope(samples, sr)
    starts = active_runs(env)
    merged: list[int] = []
    for start in starts:
        if merged and start - merged[-1] < 8 + int(TONE_S * 100):
            continue
        merged.append(start)
    return len(merged)


def onset_s(samples: np.ndarray, sr: int) -> float | None:
    starts = active_runs(envelope(samples, sr))
    return starts[0] * 0.01 if starts else None


# ---------------------------------------------------------------------------- spoken digits


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=32)
def spoken_digit(digit: int, engine: str) -> np.ndarray:
    """The word for `digit` at SAMPLE_RATE, mono float32, by `engine` (`espeak` or `formant`)."""
    if engine == "espeak":
        return _espeak_word(DIGIT_WORDS[digit])
    return _formant_word(digit)


def speech_engine() -> str:
    return "espeak" if espeak_available() else "formant"


def _espeak_word(word: str) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed")
    wav = subprocess.run(
        [exe, "-v", "en-us", "-s", "150", "-p", "50", "--stdout", word],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        data = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    samples = data.astype(np.float32) / 32768.0
    samples = _resample(samples, rate, SAMPLE_RATE)
    keep = np.flatnonzero(np.abs(samples) > 0.01)
    if keep.size:
        samples = samples[keep[0] : keep[-1] + 1]
    return (0.8 * samples / max(1e-6, float(np.abs(samples).max()))).astype(np.float32)


#: per digit, the two vowel formant pairs (F1, F2) of the built-in synthesiser's "word"
_FORMANTS: dict[int, tuple[tuple[float, float], tuple[float, float]]] = {
    0: ((300, 2300), (500, 900)),
    1: ((600, 1000), (500, 1500)),
    2: ((300, 900), (300, 900)),
    3: ((300, 2300), (300, 2300)),
    4: ((500, 900), (700, 1200)),
    5: ((700, 1200), (300, 2300)),
    6: ((400, 2000), (600, 1700)),
    7: ((550, 1800), (450, 1500)),
    8: ((450, 2100), (300, 2300)),
    9: ((700, 1200), (350, 1900)),
}


def _formant_word(digit: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Two vowels on a 120 Hz glottal buzz, each shaped by its formant pair."""
    segment = int(0.22 * sr)
    t = np.arange(segment) / sr
    out = []
    for f1, f2 in _FORMANTS[digit]:
        wave_ = np.zeros(segment)
        for harmonic in range(1, 40):
            freq = 120.0 * harmonic
            gain = 1.0 / (1 + ((freq - f1) / 90) ** 2) + 0.7 / (1 + ((freq - f2) / 120) ** 2)
            wave_ += gain * np.sin(2 * np.pi * freq * t) / harmonic**0.5
        out.append(wave_ * np.hanning(segment))
    word = np.concatenate(out)
    return (0.8 * word / np.abs(word).max()).astype(np.float32)


def _resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out or x.size == 0:
        return x.astype(np.float32)
    n = round(x.size * sr_out / sr_in)
    return np.interp(np.arange(n) * sr_in / sr_out, np.arange(x.size), x).astype(np.float32)


def spectral_profile(samples: np.ndarray, sr: int, bands: int = 24) -> np.ndarray:
    """Log band energies [frames, bands] of a mono signal (25 ms windows, 10 ms hop), trimmed to
    its active part."""
    x = _resample(samples.astype(np.float32), sr, SAMPLE_RATE)
    keep = np.flatnonzero(np.abs(x) > 0.02 * max(1e-6, float(np.abs(x).max())))
    if keep.size == 0:
        return np.zeros((0, bands), dtype=np.float32)
    x = x[keep[0] : keep[-1] + 1]
    win, hop = 400, 160
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    count = 1 + (x.size - win) // hop
    frames = np.stack([x[i * hop : i * hop + win] for i in range(count)]) * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.geomspace(100, 7000, bands + 1) / (SAMPLE_RATE / 2) * (power.shape[1] - 1)
    energy = np.stack(
        [
            power[:, int(lo) : max(int(hi), int(lo) + 1)].sum(axis=1)
            for lo, hi in itertools.pairwise(edges)
        ],
        axis=1,
    )
    logs = np.log(energy + 1e-8)
    return (logs - logs.mean(axis=1, keepdims=True)).astype(np.float32)


def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Dynamic time warping distance between two profiles, normalised by path length."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return float("inf")
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        row = cost[i - 1]
        for j in range(1, m + 1):
            acc[i, j] = row[j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return float(acc[n, m] / (n + m))
