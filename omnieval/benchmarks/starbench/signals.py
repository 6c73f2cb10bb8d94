"""Sound primitives of the generated STAR-Bench edition: WAV writing, tones, noise, harmonic
buzzes and a source moving in free field (numpy only)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 16000
SPEED_OF_SOUND = 343.0


def write_wav(path: Path, samples: np.ndarray) -> None:
    """16-bit PCM WAV; `samples` is [n] (mono) or [n, 2] (stereo) in [-1, 1]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.clip(samples, -1.0, 1.0)
    pcm = (data * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


def fade(x: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    n = min(int(seconds * RATE), len(x) // 2)
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float64)
    y = np.array(x, dtype=np.float64)
    y[:n] *= ramp
    y[len(y) - n :] *= ramp[::-1]
    return y


def tone(freq: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return fade(amplitude * np.sin(2 * np.pi * freq * t))


def glide(f0: float, f1: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    freq = f0 + (f1 - f0) * t / seconds
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    return fade(amplitude * np.sin(phase))


def band_noise(
    rng: np.random.Generator, seconds: float, low: float = 200.0, high: float = 7500.0
) -> np.ndarray:
    """White noise limited to `low`-`high` Hz, faded, peak 0.25."""
    noise = rng.standard_normal(int(seconds * RATE))
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(len(noise), 1 / RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    burst = np.fft.irfft(spectrum, len(noise))
    return fade(0.25 * burst / (np.max(np.abs(burst)) + 1e-9))


def buzz(f0: float, seconds: float, harmonics: int = 16, amplitude: float = 0.25) -> np.ndarray:
    """A harmonic complex (an engine-like hum): partials k f0 below 5 kHz at 1/k."""
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros(len(t))
    for k in range(1, harmonics + 1):
        if k * f0 < 5000:
            out += np.sin(2 * np.pi * k * f0 * t + 0.7 * k * k) / k
    return fade(amplitude * out / (np.max(np.abs(out)) + 1e-9))


def free_field_path(source: np.ndarray, distance_m: np.ndarray) -> np.ndarray:
    """A mono source heard at a distance that changes sample by sample (free field): delayed
    by r(t) / c (the Doppler shift) and scaled by 1/r."""
    t = np.arange(len(source), dtype=np.float64)
    delay = distance_m / SPEED_OF_SOUND * RATE
    delay -= delay.min()
    return np.interp(t - delay, t, source, left=0.0, right=0.0) / distance_m


def db(x: float) -> float:
    return float(20 * np.log10(max(x, 1e-12)))
