"""Speech for the generated V-SYNC edition: real words from espeak-ng, or formant babble.

Both engines produce *words*: short mono float32 signals at `SAMPLE_RATE`, trimmed of silence and
normalised to one loudness, with the text a transcript should show for them. The generator places
words into turns and derives each speaker's mouth opening from the very same samples.

- `espeak`: the `espeak-ng` program (when it is on PATH). One call synthesises the words of all
  speakers of a clip as SSML: per speaker a `<voice>` (language and variant, e.g. `en-us+f2`) and
  a `<prosody>` (pitch and rate), words separated by long `<break>`s; the 22,050 Hz output is cut
  at the breaks and resampled to `SAMPLE_RATE` (band-limited, by FFT). One call per clip rather
  than per speaker matters: starting espeak-ng costs as much as synthesising a dozen words.
  espeak-ng is deterministic, so the same words and voices always give the same samples.
- `formant`: a built-in synthesiser needing nothing but numpy. A glottal pulse train at a
  speaker-specific F0 (with a slow intonation contour) is shaped frame by frame (short-time
  Fourier transform) by the formant envelope of a vowel per syllable; optional fricative onsets are
  shaped noise; a syllabic amplitude envelope gives a 3-6 Hz rhythm. Its words are babble: the
  transcript shows `[speech]`.
"""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

import numpy as np

SAMPLE_RATE = 16_000
ESPEAK_RATE = 22_050
#: Every word is scaled to this RMS, so loudness carries no information about the speaker.
WORD_RMS = 0.08

Engine = Literal["espeak", "formant"]
SpeechMode = Literal["auto", "espeak", "formant"]

VOCABULARY: tuple[str, ...] = tuple(
    " ".join(
        (
            "the cat sat on a red mat while seven green birds flew over quiet hills today",
            "please open that blue door now we can walk along river banks until late evening",
            "small dogs bark loudly at yellow cars parked near old stone bridges every morning",
            "my friend bought fresh bread and warm milk from market stalls",
        )
    ).split()
)

_ESPEAK_LANGUAGES = ("en", "en-us", "en-gb-scotland", "en-029")
_ESPEAK_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7",
    "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "croak",
)  # fmt: skip

# (F1, F2, F3) in Hz for an adult male vocal tract; scaled per speaker.
_VOWELS = np.array(
    [
        (730, 1090, 2440),  # a
        (530, 1840, 2480),  # e
        (270, 2290, 3010),  # i
        (570, 840, 2410),  # o
        (300, 870, 2240),  # u
        (660, 1720, 2410),  # ae
        (490, 1350, 1690),  # er
        (520, 1190, 2390),  # uh
    ],
    dtype=np.float64,
)
_FORMANT_GAINS = np.array([1.0, 0.6, 0.3])
_FORMANT_WIDTHS = np.array([90.0, 120.0, 170.0])
_N_FFT = 512
_HOP = 256


class SpeechError(RuntimeError):
    """The speech engine could not be used (espeak-ng missing or failing)."""


@dataclass(frozen=True)
class Voice:
    """One speaker's voice. espeak: `name` like "en-us+f2", `pitch_pct` and `rate_pct` the SSML
    prosody (pitch change in %, speaking rate in % of normal). formant: `f0` in Hz, `scale` of
    the formant frequencies, `rate` syllables per second."""

    engine: Engine
    name: str = ""
    pitch_pct: int = 0
    rate_pct: int = 100
    f0: float = 120.0
    scale: float = 1.0
    rate: float = 4.5


@dataclass(frozen=True)
class Word:
    text: str
    samples: np.ndarray  # float32, SAMPLE_RATE, mono

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


# --------------------------------------------------------------------------- engine choice


def espeak_path() -> str | None:
    return shutil.which("espeak-ng")


@functools.lru_cache(maxsize=1)
def espeak_version() -> str | None:
    path = espeak_path()
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def resolve_engine(mode: SpeechMode) -> Engine:
    """`auto` means espeak-ng when it is on PATH, else the formant synthesiser."""
    if mode == "formant":
        return "formant"
    if espeak_path() is not None:
        return "espeak"
    if mode == "espeak":
        raise SpeechError(
            "speech='espeak' needs the espeak-ng program on PATH "
            "(Debian: apt-get install espeak-ng), or use speech='formant'"
        )
    return "formant"


def draw_voices(engine: Engine, count: int, rng: np.random.Generator) -> list[Voice]:
    """`count` distinct voices, drawn at random (the caller must not tie them to seats)."""
    if engine == "espeak":
        variants = rng.choice(len(_ESPEAK_VARIANTS), size=count, replace=False)
        voices = []
        for v in variants:
            lang = _ESPEAK_LANGUAGES[int(rng.integers(len(_ESPEAK_LANGUAGES)))]
            voices.append(
                Voice(
                    engine="espeak",
                    name=f"{lang}+{_ESPEAK_VARIANTS[int(v)]}",
                    pitch_pct=int(rng.integers(-30, 41)),
                    rate_pct=int(rng.integers(90, 121)),
                )
            )
        return voices
    # Spread F0 over the range so that voices in one clip are distinct.
    edges = np.linspace(np.log(85.0), np.log(260.0), count + 1)
    order = rng.permutation(count)
    voices = []
    for k in order:
        f0 = float(np.exp(rng.uniform(edges[k], edges[k + 1])))
        voices.append(
            Voice(
                engine="formant",
                name="formant",
                f0=f0,
                scale=float(
                    np.clip(0.85 + (f0 - 85.0) / 175.0 * 0.3 + rng.normal(0, 0.04), 0.8, 1.25)
                ),
                rate=float(rng.uniform(3.5, 5.5)),
            )
        )
    return voices


def synth_words(voice: Voice, count: int, rng: np.random.Generator) -> list[Word]:
    """`count` words in `voice`; the words (and, for babble, their sounds) are drawn from `rng`."""
    return synth_words_many([voice], count, [rng])[0]


def synth_words_many(
    voices: list[Voice], count: int, rngs: list[np.random.Generator]
) -> list[list[Word]]:
    """`count` words for each voice (voice i draws from `rngs[i]`); espeak voices share one call."""
    out: list[list[Word] | None] = [None] * len(voices)
    jobs: list[tuple[Voice, list[str]]] = []
    for i, (voice, rng) in enumerate(zip(voices, rngs, strict=True)):
        if voice.engine == "espeak":
            texts = [VOCABULARY[int(k)] for k in rng.integers(len(VOCABULARY), size=count)]
            jobs.append((voice, texts))
        else:
            out[i] = [Word("[speech]", _normalise(formant_word(voice, rng))) for _ in range(count)]
    spoken = iter(espeak_words(jobs) if jobs else [])
    return [words if words is not None else next(spoken) for words in out]


# --------------------------------------------------------------------------- espeak-ng

_BREAK = '<break time="500ms"/>'


def espeak_words(jobs: list[tuple[Voice, list[str]]]) -> list[list[Word]]:
    """Synthesise every (voice, texts) job in one espeak-ng call; cut at the breaks."""
    ssml = _BREAK.join(
        f'<voice name="{voice.name}"><prosody pitch="{voice.pitch_pct:+d}%" '
        f'rate="{voice.rate_pct}%">' + _BREAK.join(texts) + "</prosody></voice>"
        for voice, texts in jobs
    )
    pieces = _split_at_silence(_espeak(f"<speak>{ssml}</speak>"), ESPEAK_RATE, min_gap_s=0.25)
    if len(pieces) != sum(len(texts) for _, texts in jobs):
        # A word with an internal pause: synthesise voice by voice, then word by word.
        if len(jobs) > 1:
            return [espeak_words([job])[0] for job in jobs]
        voice, texts = jobs[0]
        pieces = [_trim(_espeak(_single(voice, text)), ESPEAK_RATE) for text in texts]
    result, at = [], 0
    for _, texts in jobs:
        chunk = pieces[at : at + len(texts)]
        at += len(texts)
        result.append(
            [
                Word(text, _normalise(resample(p, ESPEAK_RATE, SAMPLE_RATE)))
                for text, p in zip(texts, chunk, strict=True)
            ]
        )
    return result


def _single(voice: Voice, text: str) -> str:
    return (
        f'<speak><voice name="{voice.name}"><prosody pitch="{voice.pitch_pct:+d}%" '
        f'rate="{voice.rate_pct}%">{text}</prosody></voice></speak>'
    )


def _espeak(ssml: str) -> np.ndarray:
    path = espeak_path()
    if path is None:
        raise SpeechError("espeak-ng is not on PATH")
    try:
        out = subprocess.run(
            [path, "-m", "--stdout", ssml], capture_output=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as err:
        raise SpeechError(f"espeak-ng failed: {err}") from err
    data = out.stdout
    at = data.find(b"data")
    if not data.startswith(b"RIFF") or at < 0:
        raise SpeechError("espeak-ng wrote no WAV data")
    pcm = data[at + 8 :]
    pcm = pcm[: len(pcm) // 2 * 2]
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def _split_at_silence(x: np.ndarray, sr: int, min_gap_s: float) -> list[np.ndarray]:
    """Loud stretches of `x` separated by at least `min_gap_s` of quiet.

    Loudness is judged on 10 ms frames against 2% of the loudest frame's RMS (-34 dB), so the
    faint breath noise some espeak-ng variants keep up between words does not bridge a break.
    """
    hop = max(1, sr // 100)
    n = x.size // hop
    if n == 0:
        return []
    rms = np.sqrt(np.mean(x[: n * hop].astype(np.float64).reshape(n, hop) ** 2, axis=1))
    loud = np.flatnonzero(rms > max(1e-3, 0.02 * float(rms.max())))
    if loud.size == 0:
        return []
    gaps = np.flatnonzero(np.diff(loud) > int(min_gap_s * sr / hop))
    starts = np.r_[loud[0], loud[gaps + 1]] * hop
    ends = (np.r_[loud[gaps], loud[-1]] + 1) * hop
    return [x[a:b] for a, b in zip(starts, ends, strict=True)]


def _trim(x: np.ndarray, sr: int) -> np.ndarray:
    pieces = _split_at_silence(x, sr, min_gap_s=1e9)
    return pieces[0] if pieces else np.zeros(int(0.1 * sr), np.float32)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Band-limited resampling of a short signal by zero-padding / truncating its spectrum.

    The signal is zero-padded to a length whose input and output sizes both factor into small
    primes, so both FFTs are fast; the padding is cut off again afterwards.
    """
    if sr_in == sr_out or x.size == 0:
        return x.astype(np.float32)
    g = math.gcd(sr_in, sr_out)
    p_in, p_out = sr_in // g, sr_out // g
    blocks = smooth_length(-(-x.size // p_in))
    n_in, n_out = blocks * p_in, blocks * p_out
    spec = np.fft.rfft(x.astype(np.float64), n_in)
    keep = min(spec.size, n_out // 2 + 1)
    out_spec = np.zeros(n_out // 2 + 1, np.complex128)
    out_spec[:keep] = spec[:keep]
    y = np.fft.irfft(out_spec, n_out) * (n_out / n_in)
    return y[: max(1, round(x.size * sr_out / sr_in))].astype(np.float32)


def smooth_length(n: int) -> int:
    """The smallest length >= n whose prime factors are all 2, 3, 5 or 7 (fast FFT sizes)."""
    m = max(1, n)
    while True:
        k = m
        for p in (2, 3, 5, 7):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


# --------------------------------------------------------------------------- formant babble


def formant_word(voice: Voice, rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    """One babble word of 1-3 syllables in `voice` (unnormalised float32)."""
    n_syl = int(rng.integers(1, 4))
    durs = rng.uniform(0.75, 1.25, n_syl) / voice.rate
    bounds = np.r_[0, np.cumsum(np.round(durs * sr).astype(np.int64))]
    n = int(bounds[-1])
    vowels = rng.integers(len(_VOWELS), size=n_syl)
    has_onset = rng.random(n_syl) < 0.6
    onset_len = rng.uniform(0.2, 0.35, n_syl)
    wobble_hz, wobble_phase = rng.uniform(0.5, 1.5), rng.uniform(0, 2 * np.pi)
    fric_centre = float(rng.uniform(3500, 5500))
    noise = rng.standard_normal(n)

    # Source: a glottal pulse train following an F0 contour (slow wobble plus declination).
    t = np.arange(n) / sr
    f0 = voice.f0 * (1.0 + 0.06 * np.sin(2 * np.pi * wobble_hz * t + wobble_phase))
    f0 *= 1.0 - 0.08 * t / max(float(t[-1]), 1e-6)
    pulses = np.diff(np.floor(np.cumsum(f0 / sr)), prepend=0.0)

    # Amplitude envelopes: a voiced nucleus per syllable, a fricative onset before some.
    voiced_amp = np.zeros(n)
    fric_amp = np.zeros(n)
    for k in range(n_syl):
        a, b = int(bounds[k]), int(bounds[k + 1])
        v0 = a + (int(onset_len[k] * (b - a)) if has_onset[k] else 0)
        voiced_amp[v0:b] = np.sin(np.linspace(0.0, np.pi, b - v0))
        if v0 > a:
            fric_amp[a:v0] = np.sin(np.linspace(0.0, np.pi, v0 - a))

    # Vowel formants, frame by frame (the syllable under each frame's centre).
    centres = np.clip(np.arange(0, n + _HOP, _HOP), 0, n - 1)
    frame_syl = np.searchsorted(bounds, centres, side="right") - 1
    table = _vowel_envelopes(round(voice.scale, 3))
    voiced = _stft_shape(pulses, table[vowels[frame_syl]]) * voiced_amp
    voiced /= max(float(np.sqrt(np.mean(voiced**2))), 1e-9)
    out = voiced
    if has_onset.any():
        m = smooth_length(n)
        freqs = np.fft.rfftfreq(m, 1.0 / sr)
        shape = np.exp(-0.5 * ((freqs - fric_centre) / 1200.0) ** 2)
        fric = np.fft.irfft(np.fft.rfft(noise, m) * shape, m)[:n] * fric_amp
        fric /= max(float(np.sqrt(np.mean(fric**2))), 1e-9)
        out = voiced + 0.35 * fric
    return out.astype(np.float32)


@functools.lru_cache(maxsize=256)
def _vowel_envelopes(scale: float) -> np.ndarray:
    """Magnitude envelope [vowel, bin] of every vowel for a vocal tract scaled by `scale`."""
    freqs = np.fft.rfftfreq(_N_FFT, 1.0 / SAMPLE_RATE)
    formants = _VOWELS * scale
    diff = (freqs[None, None, :] - formants[:, :, None]) / _FORMANT_WIDTHS[None, :, None]
    env = (_FORMANT_GAINS[None, :, None] * np.exp(-0.5 * diff**2)).sum(axis=1)
    return env / (1.0 + freqs / 400.0)[None, :]


@functools.lru_cache(maxsize=1)
def _sqrt_hann() -> np.ndarray:
    return np.sqrt(np.hanning(_N_FFT + 1)[:-1])


def _stft_shape(x: np.ndarray, env: np.ndarray) -> np.ndarray:
    """Filter `x` frame by frame with magnitude envelopes `env` [frames, bins] (overlap-add).

    Square-root Hann analysis and synthesis windows at half overlap sum to one.
    """
    n = x.size
    n_frames = env.shape[0]
    pad = np.zeros(_N_FFT // 2 + n_frames * _HOP + _N_FFT, np.float64)
    pad[_N_FFT // 2 : _N_FFT // 2 + n] = x
    window = _sqrt_hann()
    idx = np.arange(n_frames)[:, None] * _HOP + np.arange(_N_FFT)[None, :]
    frames = pad[idx] * window
    shaped = np.fft.irfft(np.fft.rfft(frames, axis=1) * env, _N_FFT, axis=1) * window
    out = np.zeros(pad.size, np.float64)
    for r in range(_N_FFT // _HOP):
        block = shaped[:, r * _HOP : (r + 1) * _HOP].reshape(-1)
        out[r * _HOP : r * _HOP + block.size] += block
    return out[_N_FFT // 2 : _N_FFT // 2 + n]


# --------------------------------------------------------------------------- helpers


def _normalise(x: np.ndarray) -> np.ndarray:
    """Scale to WORD_RMS and fade the ends (5 ms) so placed words never click."""
    x = x.astype(np.float32)
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0
    if rms > 0:
        x = x * np.float32(WORD_RMS / rms)
    fade = min(int(0.005 * SAMPLE_RATE), x.size // 2)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]
    return x
