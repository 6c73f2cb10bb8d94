"""Signal measurements `starbench-solver` answers from. Audio is [channels, n] float at
`RATE`; two channels are left and right.

- `peak_hz`: the strongest spectral peak (Hann window, zero-padded, parabolic interpolation);
- `f0_hz`: the fundamental maximising the summed log spectrum at its first 12 harmonics;
- `centroid_hz`: the power-weighted mean frequency (a resonance's trend);
- `rms_dbfs`: RMS level, dB re full scale; `db_peak`: peak level;
- `active_s`: seconds of 10 ms frames above a tenth of the loudest frame's RMS;
- `onsets_s`, `mean_interval_s`: impact onsets (the 5 ms envelope doubling above a quarter of
  its peak, 30 ms apart at least) and the mean interval between them;
- `itd_s`: interaural time difference by generalised cross-correlation with phase transform
  (200 Hz-4 kHz) on a 5 us grid (> 0: the left ear lags, the source is right), turned into a
  lateral angle by Woodworth's formula inverted (`lateral`);
- `tone_laterals`: each band's strongest tone's lateral angle, the duplex theory: below 1 kHz
  from its interaural phase difference, above from its level difference, each inverted
  through the head model (`head.lateral_from_ipd`, `head.lateral_from_ild`);
- `hf_ild_db`: the 1.5-5 kHz interaural level difference (the head shadow);
- `notch_elevation`: the frequency (2.8-7.6 kHz) whose sixth of an octave is deepest against
  the neighbouring bands, mapped back through the pinna model;
- `drr_db`: direct-to-reverberant ratio: the 5 ms from the onset against everything after 6 ms.
"""

from __future__ import annotations

import numpy as np

from omnieval.benchmarks.starbench import head
from omnieval.benchmarks.starbench.signals import RATE

__all__ = ["RATE"]


def mono(audio: np.ndarray) -> np.ndarray:
    return np.asarray(audio.mean(axis=0), dtype=np.float64)


def _spectrum(x: np.ndarray, pad: int = 4) -> tuple[np.ndarray, np.ndarray]:
    size = 1 << int(np.ceil(np.log2(max(len(x), 2) * pad)))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), size))
    return spectrum, np.fft.rfftfreq(size, 1 / RATE)


def peak_hz(audio: np.ndarray, low: float = 50.0, high: float = 7900.0) -> float:
    spectrum, freqs = _spectrum(mono(audio))
    band = np.flatnonzero((freqs >= low) & (freqs < high))
    k = int(band[np.argmax(spectrum[band])])
    if 0 < k < len(spectrum) - 1:
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
        return float((k + shift) * (freqs[1] - freqs[0]))
    return float(freqs[k])


def f0_hz(audio: np.ndarray, low: float = 80.0, high: float = 400.0) -> float:
    spectrum, freqs = _spectrum(mono(audio), pad=8)
    step = freqs[1] - freqs[0]
    grid = np.arange(low, high, 0.05)
    harmonics = np.arange(1, 13)
    bins = np.rint(np.outer(grid, harmonics) / step).astype(int)
    bins = np.minimum(bins, len(spectrum) - 1)
    score = np.log(spectrum[bins] + 1e-9).sum(axis=1)
    return float(grid[int(np.argmax(score))])


def centroid_hz(audio: np.ndarray, low: float = 150.0, high: float = 4500.0) -> float:
    spectrum, freqs = _spectrum(mono(audio), pad=1)
    band = (freqs >= low) & (freqs < high)
    power = spectrum[band] ** 2
    return float(np.sum(freqs[band] * power) / (np.sum(power) + 1e-12))


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(audio, dtype=np.float64) ** 2)))


def rms_dbfs(audio: np.ndarray) -> float:
    return float(20 * np.log10(rms(audio) + 1e-12))


def _frames(x: np.ndarray, size: int) -> np.ndarray:
    count = len(x) // size
    return np.asarray(x[: count * size].reshape(count, size))


def active_s(audio: np.ndarray) -> float:
    size = int(0.01 * RATE)
    level = np.sqrt(np.mean(_frames(mono(audio), size) ** 2, axis=1))
    return float(np.sum(level > 0.1 * (level.max() + 1e-12)) * size / RATE)


def onsets_s(audio: np.ndarray) -> list[float]:
    """Impact onsets (seconds): the 5 ms envelope doubling above a quarter of its peak, at
    least 30 ms apart."""
    size = int(0.005 * RATE)
    envelope = np.abs(_frames(mono(audio), size)).max(axis=1)
    floor = 0.25 * (envelope.max() + 1e-12)
    found: list[float] = []
    last = -10
    for k in range(1, len(envelope)):
        rising = envelope[k] > floor and envelope[k] > 2 * envelope[k - 1]
        if rising and k - last >= 6:
            found.append(k * size / RATE)
            last = k
    return found


def mean_interval_s(audio: np.ndarray) -> float:
    """The mean interval between onsets; the clip's length when it holds fewer than two."""
    times = onsets_s(audio)
    if len(times) < 2:
        return audio.shape[-1] / RATE
    return float(np.mean(np.diff(times)))


def itd_s(left: np.ndarray, right: np.ndarray) -> float:
    """The lag maximising the phase-transform cross-correlation (200 Hz-4 kHz), interpolated
    eight-fold (a 7.8 us grid) by zero-padding the weighted cross-spectrum."""
    size = 1 << int(np.ceil(np.log2(len(left))))
    cross = np.fft.rfft(left, size) * np.conj(np.fft.rfft(right, size))
    freqs = np.fft.rfftfreq(size, 1 / RATE)
    band = (freqs >= 200) & (freqs <= 4000)
    weighted = np.where(band, cross / (np.abs(cross) + 1e-12), 0)
    # G(f) = L conj(R) = |R|^2 exp(-j w itd): the correlation peaks at lag = +itd
    upsample = 8
    correlation = np.fft.irfft(weighted, size * upsample)
    reach = int(np.ceil(0.9e-3 * RATE * upsample))
    values = np.concatenate([correlation[-reach:], correlation[: reach + 1]])
    return float((int(np.argmax(values)) - reach) / (RATE * upsample))


def lateral(left: np.ndarray, right: np.ndarray) -> float:
    """The lateral angle (degrees, + right) from the broadband interaural time difference."""
    if np.allclose(left, right):
        return 0.0
    return head.lateral_from_itd(itd_s(left, right))


def tone_laterals(
    left: np.ndarray, right: np.ndarray, bands: tuple[tuple[float, float], ...]
) -> list[float]:
    """The lateral angle of the strongest tone in each band (duplex theory: phase below 1 kHz,
    level above)."""
    size = len(left)
    window = np.hanning(size)
    spec_l, spec_r = np.fft.rfft(left * window), np.fft.rfft(right * window)
    freqs = np.fft.rfftfreq(size, 1 / RATE)
    both = np.abs(spec_l) + np.abs(spec_r)
    out = []
    for low, high in bands:
        band = np.flatnonzero((freqs >= low) & (freqs < high))
        k = int(band[np.argmax(both[band])])
        freq = float(freqs[k])
        if freq < 1000:
            ipd = float(np.angle(spec_l[k] * np.conj(spec_r[k])))
            out.append(head.lateral_from_ipd(freq, ipd))
        else:
            ild = float(20 * np.log10((np.abs(spec_l[k]) + 1e-12) / (np.abs(spec_r[k]) + 1e-12)))
            out.append(head.lateral_from_ild(freq, ild))
    return out


def hf_ild_db(left: np.ndarray, right: np.ndarray) -> float:
    """Interaural level difference L - R (dB) of the 1.5-5 kHz band (the head shadow's)."""
    freqs = np.fft.rfftfreq(len(left), 1 / RATE)
    band = (freqs > 1500) & (freqs < 5000)
    power_l = float(np.sum(np.abs(np.fft.rfft(left)[band]) ** 2))
    power_r = float(np.sum(np.abs(np.fft.rfft(right)[band]) ** 2))
    return float(10 * np.log10((power_l + 1e-12) / (power_r + 1e-12)))


def _band_power(power: np.ndarray, freqs: np.ndarray, low: float, high: float) -> float | None:
    band = (freqs >= low) & (freqs < min(high, 7700.0))
    if np.sum(band) < 4 or high > 7700.0 * 1.05:
        return None
    return float(np.mean(power[band]))


def notch_elevation(audio: np.ndarray) -> float:
    """Elevation (degrees) of the deepest notch between 2.8 and 7.6 kHz (both ears summed)."""
    x = np.asarray(audio, dtype=np.float64)
    size = x.shape[-1]
    power = np.sum(np.abs(np.fft.rfft(x, axis=-1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(size, 1 / RATE)
    best, best_depth = head.NOTCH_CENTRE_HZ, np.inf
    for centre in 2800.0 * 2 ** (np.arange(0, 1.45, 1 / 48)):
        inside = _band_power(power, freqs, centre * 2 ** (-1 / 24), centre * 2 ** (1 / 24))
        flanks = [
            _band_power(power, freqs, centre * 2 ** (-1 / 2), centre * 2 ** (-1 / 4)),
            _band_power(power, freqs, centre * 2 ** (1 / 4), centre * 2 ** (1 / 2)),
        ]
        around = [f for f in flanks if f is not None]
        if inside is None or not around:
            continue
        depth = inside / (float(np.mean(around)) + 1e-12)
        if depth < best_depth:
            best, best_depth = float(centre), depth
    return head.elevation_from_notch(best)


def drr_db(audio: np.ndarray) -> float:
    power = np.sum(np.asarray(audio, dtype=np.float64) ** 2, axis=0)
    magnitude = np.sqrt(power)
    onset = int(np.argmax(magnitude > 0.05 * (magnitude.max() + 1e-12)))
    direct = float(np.sum(power[onset : onset + int(0.005 * RATE)]))
    tail = float(np.sum(power[onset + int(0.006 * RATE) :]))
    return float(10 * np.log10((direct + 1e-12) / (tail + 1e-12)))


def thirds(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    third = audio.shape[-1] // 3
    return audio[..., :third], audio[..., -third:]


def db_peak(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(audio)) + 1e-12))
