"""Binaural rendering with a spherical-head model (numpy only).

- Interaural time difference: Woodworth's formula for a rigid sphere of radius `HEAD_RADIUS_M`,
  ITD = (a / c) (theta + sin theta), theta the lateral angle (0 ahead, +90 degrees right);
  up to 0.66 ms at the side.
- Head shadow: Brown and Duda's one-pole, one-zero approximation of the sphere's diffraction,
  H(w, t) = (1 + j alpha(t) w / 2w0) / (1 + j w / 2w0), w0 = c / a, where t is the angle between
  the source and the ear's axis and alpha(t) = (1 + a_min / 2) + (1 - a_min / 2) cos(t / t_min
  * 180 degrees) (a_min = 0.1, t_min = 150 degrees): up to +6 dB at high frequencies at the near
  ear, about -11 dB at the far one; the level difference grows with frequency (small below
  500 Hz, where the time difference carries direction: the duplex theory).
- Elevation: the lateral angle shrinks with elevation (sin theta = sin az cos el), and a
  pinna-like notch, the same at both ears, whose centre moves up with elevation:
  `notch_hz(el)` = 4.8 kHz x 2^(el / 72 degrees) (3.1 kHz at -45, 7.4 kHz at +45 degrees),
  about 26 dB deep and a sixth of an octave wide.

`render` filters a mono signal in the frequency domain (fractional delays as linear phase).
"""

from __future__ import annotations

import numpy as np

HEAD_RADIUS_M = 0.0875
SPEED_OF_SOUND = 343.0
ALPHA_MIN = 0.1
THETA_MIN_DEG = 150.0
NOTCH_CENTRE_HZ = 4800.0
NOTCH_OCTAVES_PER_DEG = 1 / 72
NOTCH_DEPTH = 0.95  # about -26 dB at the centre
NOTCH_WIDTH_OCT = 1 / 12  # standard deviation of the notch's Gaussian shape, in octaves
#: the largest interaural time difference (a source at the side): (a / c) (pi / 2 + 1)
MAX_ITD_S = HEAD_RADIUS_M / SPEED_OF_SOUND * (np.pi / 2 + 1)


def lateral_deg(azimuth_deg: float, elevation_deg: float = 0.0) -> float:
    """The lateral angle (degrees, + right) of a direction: sin lat = sin az cos el."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    return float(np.degrees(np.arcsin(np.clip(np.sin(az) * np.cos(el), -1.0, 1.0))))


def woodworth_itd(lateral: float) -> float:
    """Seconds by which the left ear lags the right (> 0: the source is on the right)."""
    theta = np.radians(lateral)
    return float(HEAD_RADIUS_M / SPEED_OF_SOUND * (theta + np.sin(theta)))


def lateral_from_itd(itd_s: float) -> float:
    """Woodworth's formula inverted (degrees, clamped to +-90)."""
    grid = np.linspace(-90.0, 90.0, 721)
    itds = HEAD_RADIUS_M / SPEED_OF_SOUND * (np.radians(grid) + np.sin(np.radians(grid)))
    return float(np.interp(itd_s, itds, grid))


def shadow(freqs: np.ndarray, angle_to_ear_deg: float | np.ndarray) -> np.ndarray:
    """Brown-Duda head-shadow response at `freqs` for a source `angle_to_ear_deg` from the
    ear's axis (0: on the ear's side, 180: opposite); arrays of both broadcast."""
    alpha = (1 + ALPHA_MIN / 2) + (1 - ALPHA_MIN / 2) * np.cos(
        np.radians(angle_to_ear_deg) / np.radians(THETA_MIN_DEG) * np.pi
    )
    w = 2 * np.pi * np.asarray(freqs) / (2 * SPEED_OF_SOUND / HEAD_RADIUS_M)
    return np.asarray((1 + 1j * alpha * w) / (1 + 1j * w))


def _interaural(freq_hz: float, laterals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model's (ILD dB, IPD radians unwrapped) at one frequency for each lateral angle."""
    left = shadow(np.full(len(laterals), freq_hz), 90.0 + laterals)
    right = shadow(np.full(len(laterals), freq_hz), 90.0 - laterals)
    theta = np.radians(laterals)
    itd = HEAD_RADIUS_M / SPEED_OF_SOUND * (theta + np.sin(theta))
    ild = 20 * np.log10(np.abs(left) / np.abs(right))
    ipd = -2 * np.pi * freq_hz * itd + (np.angle(left) - np.angle(right))
    return ild, ipd


def ild_db(freq_hz: float, lateral: float) -> float:
    """The model's interaural level difference L - R (dB) at one frequency."""
    return float(_interaural(freq_hz, np.array([lateral]))[0][0])


def lateral_from_ild(freq_hz: float, ild: float) -> float:
    """The lateral angle (degrees) whose model ILD at `freq_hz` is `ild`, searched between
    -70 and +70 degrees, where the model's ILD falls monotonically with the lateral angle."""
    grid = np.linspace(-70.0, 70.0, 281)
    values = _interaural(freq_hz, grid)[0]
    return float(np.interp(-ild, -values, grid))


def ipd_rad(freq_hz: float, lateral: float) -> float:
    """The model's interaural phase difference, phase(L) - phase(R) (radians, unwrapped): the
    ITD's and the head shadow's (whose phase lead at the near ear adds to the delay, so a
    sphere's low-frequency ITD exceeds Woodworth's)."""
    return float(_interaural(freq_hz, np.array([lateral]))[1][0])


def lateral_from_ipd(freq_hz: float, ipd: float) -> float:
    """The lateral angle (degrees) whose model IPD at `freq_hz` is `ipd` (wrapped to +-pi),
    searched where the model's IPD stays within +-pi (below about 1 kHz: the whole
    half-plane at low frequencies)."""
    grid = np.linspace(-90.0, 90.0, 361)
    values = _interaural(freq_hz, grid)[1]
    inside = np.abs(values) < np.pi
    return float(np.interp(-ipd, -values[inside], grid[inside]))


def notch_hz(elevation_deg: float) -> float:
    """The centre of the pinna-like notch at an elevation (degrees, + up)."""
    return float(NOTCH_CENTRE_HZ * 2 ** (elevation_deg * NOTCH_OCTAVES_PER_DEG))


def elevation_from_notch(freq_hz: float) -> float:
    return float(np.log2(freq_hz / NOTCH_CENTRE_HZ) / NOTCH_OCTAVES_PER_DEG)


def pinna(freqs: np.ndarray, elevation_deg: float) -> np.ndarray:
    octaves = np.log2(np.maximum(freqs, 1.0) / notch_hz(elevation_deg))
    return 1 - NOTCH_DEPTH * np.exp(-0.5 * (octaves / NOTCH_WIDTH_OCT) ** 2)


def ear_responses(
    freqs: np.ndarray,
    azimuth_deg: float,
    elevation_deg: float | None = None,
    rate: int = 16000,
) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) transfer functions at `freqs`: the ITD split evenly between the ears as
    linear phase, the head shadow and, if `elevation_deg` is given, the pinna notch."""
    lateral = lateral_deg(azimuth_deg, elevation_deg or 0.0)
    itd = woodworth_itd(lateral)
    phase = 2j * np.pi * freqs
    left = shadow(freqs, 90.0 + lateral) * np.exp(-phase * itd / 2)
    right = shadow(freqs, 90.0 - lateral) * np.exp(phase * itd / 2)
    if elevation_deg is not None:
        notch = pinna(freqs, elevation_deg)
        left, right = left * notch, right * notch
    return left, right


def render(
    mono: np.ndarray, azimuth_deg: float, elevation_deg: float | None = None, rate: int = 16000
) -> np.ndarray:
    """[n, 2] left/right: `mono` from a fixed direction (azimuth: negative = left)."""
    n = len(mono)
    pad = int(0.002 * rate)  # room for the delays, removed again
    size = n + 2 * pad
    spectrum = np.fft.rfft(np.concatenate([np.zeros(pad), mono, np.zeros(pad)]), size)
    freqs = np.fft.rfftfreq(size, 1 / rate)
    left, right = ear_responses(freqs, azimuth_deg, elevation_deg, rate)
    ears = [np.fft.irfft(spectrum * h, size)[pad : pad + n] for h in (left, right)]
    return np.stack(ears, axis=1)


def render_direct_spectrum(
    freqs: np.ndarray, azimuth_deg: float, distance_m: float, delay_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) spectra of a direct path at `distance_m` (gain 1/r), delayed by `delay_s`
    at the head's centre, through the head model."""
    left, right = ear_responses(freqs, azimuth_deg)
    common = np.exp(-2j * np.pi * freqs * delay_s) / max(distance_m, 0.1)
    return left * common, right * common
