"""Room acoustics for the generated STAR-Bench edition, simulated by pyroomacoustics (the
`starbench` extra: `pip install 'omnieval[starbench]'`).

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
            "pyroomacoustics is not installed: the distance family uses the synthetic room "
            "(pip install 'omnieval[starbench]' for image-source room simulation)"
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
