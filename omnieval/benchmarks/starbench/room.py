"""Room acoustics for the generated STAR-Bench edition, simulated by pyroomacoustics (the
`starbench` extra: `pip install 'omnieval[starbench]'`): a static click for the distance
families (`in_simulated_room`), and sources moving through the room heard by the spherical
head (`render_path`: localisation, trajectories).

A shoebox room (12 x 9 x 3.5 m, wall absorption from Sabine's formula for an RT60 of 0.4 s),
two microphones 18 cm apart (ear spacing) on the left-right axis of a listener facing +x, and
one source straight ahead at the requested distance, all at 1.5 m height. Room impulse
responses come from the image-source method up to `MAX_ORDER` reflections (no ray tracing, no
randomised images), so the result depends only on the geometry: deterministic, ~2 ms a room.
pyroomacoustics is imported (~0.8 s, once) only when a room is simulated.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ROOM_DIM_M = (12.0, 9.0, 3.5)
RT60_S = 0.4
MAX_ORDER = 10
EAR_SPACING_M = 0.18
HEIGHT_M = 1.5
ROOMS = ("pyroomacoustics", "synthetic")


def available() -> bool:
    """Whether pyroomacoustics can be imported (without importing it)."""
    return importlib.util.find_spec("pyroomacoustics") is not None


def resolve_room(room: str) -> str:
    """`auto` -> `pyroomacoustics` when importable, else `synthetic` (logged); an explicit
    `pyroomacoustics` without the package fails with the install hint."""
    if room not in (*ROOMS, "auto"):
        raise ValueError(f"room must be one of auto, {', '.join(ROOMS)}; got {room!r}")
    if room == "auto":
        if available():
            return "pyroomacoustics"
        log.warning(
            "pyroomacoustics is not installed: the distance families use the synthetic room, "
            "localisation and trajectories free field (pip install 'omnieval[starbench]' for "
            "image-source room simulation)"
        )
        return "synthetic"
    if room == "pyroomacoustics" and not available():
        raise ValueError(
            "room 'pyroomacoustics' needs the pyroomacoustics package: "
            "pip install 'omnieval[starbench]' (or choose room 'synthetic')"
        )
    return room


def room_impulse_responses(distance_m: float, listener_xy: tuple[float, float], rate: int) -> Any:
    """[2][n] impulse responses (left ear, right ear) of a source `distance_m` straight ahead
    of a listener at `listener_xy` in the room."""
    import pyroomacoustics as pra

    absorption, _ = pra.inverse_sabine(RT60_S, list(ROOM_DIM_M))
    room = pra.ShoeBox(
        list(ROOM_DIM_M),
        fs=rate,
        materials=pra.Material(absorption),
        max_order=MAX_ORDER,
        air_absorption=False,
    )
    x, y = listener_xy
    if not 0.5 <= x + distance_m <= ROOM_DIM_M[0] - 0.5:
        raise ValueError(f"a source {distance_m} m ahead of x={x} is outside the room")
    room.add_source([x + distance_m, y, HEIGHT_M])
    half = EAR_SPACING_M / 2  # facing +x: the left ear is at +y
    room.add_microphone_array(np.array([[x, x], [y + half, y - half], [HEIGHT_M, HEIGHT_M]]))
    room.compute_rir()
    return [room.rir[0][0], room.rir[1][0]]


def in_simulated_room(
    source: np.ndarray,
    distance_m: float,
    listener_xy: tuple[float, float],
    rate: int,
    seconds: float = 0.6,
) -> np.ndarray:
    """[n, 2]: `source` played `distance_m` straight ahead of the listener in the simulated
    room, starting after 10 ms of silence; pyroomacoustics' direct path has energy 1/r (1 at
    1 m), as the synthetic room's direct sound."""
    n = int(seconds * rate)
    start = int(0.01 * rate)
    out = np.zeros((n, 2))
    for ear, rir in enumerate(room_impulse_responses(distance_m, listener_xy, rate)):
        heard = np.convolve(source, np.asarray(rir, dtype=np.float64))[: n - start]
        out[start : start + len(heard), ear] = heard
    return out


#: moving sources: the room's reflections up to this order (the direct path is the head model's)
PATH_MAX_ORDER = 8
#: half the length of one rendering segment (samples at 16 kHz): 64 ms hops, 128 ms frames
PATH_HOP = 1024


def _azimuth_deg(listener: np.ndarray, source: np.ndarray) -> float:
    """Azimuth of `source` for a listener at `listener` facing +x (negative = left, i.e. +y)."""
    dx, dy = source[0] - listener[0], source[1] - listener[1]
    return float(np.degrees(np.arctan2(-dy, dx)))


def path_reflections(
    positions: np.ndarray, listener_xy: tuple[float, float], rate: int
) -> list[list[np.ndarray]]:
    """[ear][segment] the room's reflections (no direct path) heard at two omnidirectional
    ears 18 cm apart, for a source at each of `positions` ([k, 3] room coordinates): the
    image-source response to order PATH_MAX_ORDER minus the order-0 (direct) one."""
    import pyroomacoustics as pra

    absorption, _ = pra.inverse_sabine(RT60_S, list(ROOM_DIM_M))
    x, y = listener_xy
    half = EAR_SPACING_M / 2
    ears = np.array([[x, x], [y + half, y - half], [HEIGHT_M, HEIGHT_M]])
    responses = []
    for order in (PATH_MAX_ORDER, 0):
        room = pra.ShoeBox(
            list(ROOM_DIM_M),
            fs=rate,
            materials=pra.Material(absorption),
            max_order=order,
            air_absorption=False,
        )
        for position in positions:
            if not all(0.3 <= p <= d - 0.3 for p, d in zip(position, ROOM_DIM_M, strict=True)):
                raise ValueError(f"source position {tuple(position)} is outside the room")
            room.add_source(list(position))
        room.add_microphone_array(ears)
        room.compute_rir()
        responses.append(room.rir)
    full, direct = responses
    out: list[list[np.ndarray]] = []
    for ear in range(2):
        row = []
        for s in range(len(positions)):
            h = np.array(full[ear][s], dtype=np.float64)
            d = np.asarray(direct[ear][s], dtype=np.float64)
            h[: len(d)] -= d[: len(h)]
            row.append(h)
        out.append(row)
    return out


def render_path(
    source: np.ndarray,
    positions: np.ndarray,
    listener_xy: tuple[float, float],
    rate: int,
    doppler: bool = True,
    reflect: bool = True,
) -> np.ndarray:
    """[n, 2]: `source` (mono) moving through `positions` ([k, 3] room coordinates at the
    centres of k frames PATH_HOP samples apart, the first at sample 0) in the simulated room.

    The source is delayed by its distance to the head's centre sample by sample (r(t) / c,
    interpolated between frames), which makes the Doppler shift; each 50%-overlapping Hann
    frame is then heard through that frame's responses, added up (overlap-add): the direct
    path from the spherical-head model (1/r, Woodworth ITD, Brown-Duda head shadow) and the
    room's reflections (pyroomacoustics' image sources, their own propagation delay to the
    head centre taken off, as the source delay carries it). `reflect=False`: free field (the
    head model alone, numpy only)."""
    from omnieval.benchmarks.starbench.head import render_direct_spectrum

    positions = np.asarray(positions, dtype=np.float64)
    listener = np.array([listener_xy[0], listener_xy[1], HEIGHT_M])
    distances = np.linalg.norm(positions - listener, axis=1)
    n = len(source)
    centres = np.arange(len(positions)) * PATH_HOP
    if centres[-1] < n - 1:
        raise ValueError(f"{len(positions)} positions do not cover {n} samples")
    t = np.arange(n, dtype=np.float64)
    if doppler:
        delay = np.interp(t, centres, distances) / 343.0 * rate
        delay -= delay.min()
        heard = np.interp(t - delay, t, source, left=0.0, right=0.0)
    else:
        heard = source.astype(np.float64)
    if reflect:
        reflections = path_reflections(positions, listener_xy, rate)
    else:
        reflections = [[np.zeros(1) for _ in positions] for _ in range(2)]
    fdl_offset = 40  # pyroomacoustics' fractional-delay filter puts the direct path 40 taps late
    frame = 2 * PATH_HOP
    longest = max(128, max(len(h) for row in reflections for h in row))
    size = 1 << int(np.ceil(np.log2(frame + longest)))
    freqs = np.fft.rfftfreq(size, 1 / rate)
    window = np.hanning(frame + 1)[:frame]  # periodic: overlapping halves sum to one
    padded = np.concatenate([np.zeros(PATH_HOP), heard, np.zeros(frame + size)])
    out = np.zeros((len(padded) + size, 2))
    for s, position in enumerate(positions):
        start = s * PATH_HOP  # in `padded`: the frame centred on sample s * PATH_HOP
        spectrum = np.fft.rfft(padded[start : start + frame] * window, size)
        azimuth = _azimuth_deg(listener, position)
        shift = int(distances[s] / 343.0 * rate)
        direct = render_direct_spectrum(freqs, azimuth, distances[s], fdl_offset / rate)
        for ear in range(2):
            h = reflections[ear][s][shift:]
            response = np.fft.rfft(h, size) + direct[ear]
            out[start : start + size, ear] += np.fft.irfft(spectrum * response, size)
    return out[PATH_HOP : PATH_HOP + n]
