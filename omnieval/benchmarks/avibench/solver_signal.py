"""Signal analysis behind `avibench-solver`: sound events and their classes, silence, flat
objects in a picture (shape, colour, box, brightness, texture) and their pulses over a clip.

Nothing here knows the generator's random draws: every rule reads pixels or samples only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from omnieval.benchmarks.avibench.synth_signals import PALETTE, SOUND_PEAK_HZ

HOP_S = 0.01
#: RMS below which a track counts as silent (the generator's noise floor is 0.002)
SILENCE_RMS = 0.01
#: a pixel belongs to an object when it is this far (RGB distance) from the background
OBJECT_DISTANCE = 60.0
MIN_OBJECT_PIXELS = 12


# --------------------------------------------------------------------------- audio


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0


def is_silent(samples: np.ndarray) -> bool:
    return rms(samples) < SILENCE_RMS and float(np.max(np.abs(samples), initial=0.0)) < 0.05


def envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    hop = max(1, int(HOP_S * rate))
    usable = len(samples) // hop * hop
    frames = samples[:usable].reshape(-1, hop)
    return np.sqrt(np.mean(frames**2, axis=1))


def sound_events(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start, end) seconds of every event: envelope above a threshold, gaps under 60 ms
    bridged, blips under 40 ms dropped."""
    env = envelope(samples, rate)
    if env.size == 0 or env.max() < SILENCE_RMS:
        return []
    active = env > max(0.15 * float(env.max()), 0.01)
    runs: list[list[int]] = []  # [first, last] hop of each active run, gaps < 60 ms bridged
    for hop in np.flatnonzero(active):
        if runs and hop - runs[-1][1] <= int(0.06 / HOP_S):
            runs[-1][1] = int(hop)
        else:
            runs.append([int(hop), int(hop)])
    return [
        (first * HOP_S, (last + 1) * HOP_S)
        for first, last in runs
        if (last - first + 1) * HOP_S >= 0.04
    ]


def classify_sound(segment: np.ndarray, rate: int) -> str:
    """hiss (flat spectrum), else the class whose tone peak is nearest the spectral peak."""
    if segment.size < 64:
        return "hiss"
    power = np.abs(np.fft.rfft(segment * np.hanning(len(segment)))) ** 2 + 1e-12
    freqs = np.fft.rfftfreq(len(segment), 1 / rate)
    band = (freqs > 100) & (freqs < 5000)
    flatness = float(np.exp(np.mean(np.log(power[band]))) / np.mean(power[band]))
    if flatness > 0.2:
        return "hiss"
    peak = float(freqs[band][int(np.argmax(power[band]))])
    return min(SOUND_PEAK_HZ, key=lambda kind: abs(np.log(SOUND_PEAK_HZ[kind] / peak)))


def classified_events(samples: np.ndarray, rate: int) -> list[tuple[float, float, str]]:
    """Every event with its class, in time order."""
    out = []
    for start, end in sound_events(samples, rate):
        a, b = int(start * rate), int(end * rate)
        margin = int(0.02 * rate) if b - a > int(0.08 * rate) else 0
        out.append((start, end, classify_sound(samples[a + margin : b - margin], rate)))
    return out


# --------------------------------------------------------------------------- pictures


@dataclass(frozen=True)
class Blob:
    """One object in a picture: its mask, pixel box (x0, y0, x1, y1 inclusive) and looks."""

    mask: np.ndarray
    box: tuple[int, int, int, int]
    area: int
    cx: float
    cy: float
    rgb: tuple[float, float, float]
    texture: float

    @property
    def shape(self) -> str:
        return classify_shape(
            self.mask[self.box[1] : self.box[3] + 1, self.box[0] : self.box[2] + 1]
        )

    @property
    def colour(self) -> str:
        return nearest_colour(self.rgb)

    @property
    def luma(self) -> float:
        r, g, b = self.rgb
        return 0.299 * r + 0.587 * g + 0.114 * b

    def box_xyxy_norm(self, width: int, height: int) -> list[float]:
        x0, y0, x1, y1 = self.box
        return [
            round(x0 / width, 4),
            round(y0 / height, 4),
            round((x1 + 1) / width, 4),
            round((y1 + 1) / height, 4),
        ]


def background_rgb(img: np.ndarray) -> np.ndarray:
    """The median colour of the picture's border."""
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).astype(np.float64)
    return np.asarray(np.median(border, axis=0))


def foreground(img: np.ndarray) -> np.ndarray:
    distance = np.linalg.norm(img.astype(np.float64) - background_rgb(img), axis=-1)
    return np.asarray(distance > OBJECT_DISTANCE)


def blobs(img: np.ndarray) -> list[Blob]:
    """The picture's objects (connected foreground regions), left to right."""
    mask = foreground(img)
    labels, count = label_regions(mask)
    found = []
    pixels = img.astype(np.float64)
    for k in range(1, count + 1):
        region = labels == k
        area = int(region.sum())
        if area < MIN_OBJECT_PIXELS:
            continue
        rows = np.flatnonzero(region.any(axis=1))
        cols = np.flatnonzero(region.any(axis=0))
        inner = erode(erode(region))
        core = inner if inner.sum() >= 9 else region
        colours = pixels[core]
        ys, xs = np.nonzero(region)
        found.append(
            Blob(
                mask=region,
                box=(int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])),
                area=area,
                cx=float(xs.mean()),
                cy=float(ys.mean()),
                rgb=(
                    float(np.median(colours[:, 0])),
                    float(np.median(colours[:, 1])),
                    float(np.median(colours[:, 2])),
                ),
                texture=float(np.mean(np.std(colours, axis=0))),
            )
        )
    return sorted(found, key=lambda b: (b.cx, b.cy))


def _neighbours(values: np.ndarray, fill: Any) -> list[np.ndarray]:
    """The up, down, left and right neighbour of every cell (`fill` beyond the border)."""
    padded = np.pad(values, 1, constant_values=fill)
    return [padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]]


def erode(mask: np.ndarray) -> np.ndarray:
    """Binary erosion by the 4-neighbour cross: a cell stays if its four neighbours are set."""
    kept = mask.copy()
    for side in _neighbours(mask, False):
        kept &= side
    return kept


def label_regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected regions of a boolean mask: labels 1..count (0 = background), numbered in
    raster order of their first cell. Each cell takes the smallest label among itself and its
    neighbours until nothing changes (a few dozen passes for the generated pictures)."""
    big = np.iinfo(np.int64).max
    labels = np.where(mask, np.arange(mask.size, dtype=np.int64).reshape(mask.shape), big)
    while True:
        smallest = labels.copy()
        for side in _neighbours(labels, big):
            np.minimum(smallest, side, out=smallest)
        smallest = np.where(mask, smallest, big)
        if np.array_equal(smallest, labels):
            break
        labels = smallest
    roots = np.unique(labels[mask])
    out = np.zeros(mask.shape, np.int64)
    out[mask] = np.searchsorted(roots, labels[mask]) + 1
    return out, len(roots)


def classify_shape(crop: np.ndarray) -> str:
    """square (fills its box), circle (pi/4), else triangle (widest at the bottom) or diamond
    (widest in the middle)."""
    fill = float(crop.mean())
    if fill > 0.9:
        return "square"
    if fill > 0.65:
        return "circle"
    height = crop.shape[0]
    low = crop[min(height - 1, int(0.85 * height))].sum()
    mid = crop[int(0.5 * height)].sum()
    return "triangle" if low > mid else "diamond"


def nearest_colour(rgb: tuple[float, float, float]) -> str:
    value = np.asarray(rgb)
    return min(PALETTE, key=lambda name: float(np.linalg.norm(value - np.asarray(PALETTE[name]))))


def line_direction(img: np.ndarray) -> str:
    """horizontal / vertical / inclined from the principal axis of the foreground pixels."""
    ys, xs = np.nonzero(foreground(img))
    if len(xs) < 5:
        return "not sure"
    cov = np.cov(np.stack([xs, ys]).astype(np.float64))
    values, vectors = np.linalg.eigh(cov)
    vx, vy = vectors[:, int(np.argmax(values))]
    angle = abs(np.degrees(np.arctan2(vy, vx))) % 180
    angle = min(angle, 180 - angle)
    return "horizontal" if angle < 20 else "vertical" if angle > 70 else "inclined"


# --------------------------------------------------------------------------- clips


def tracks(frames: np.ndarray) -> list[list[Blob]]:
    """Per frame, the objects in it."""
    return [blobs(frame) for frame in frames]


def pulses(frames: np.ndarray, regions: list[tuple[int, int, int, int]]) -> list[list[int]]:
    """For each region (x0, y0, x1, y1) the frames where its foreground area jumps above 1.2 x
    its median (an object growing for a moment): the first frame of each run."""
    masks = np.stack([foreground(f) for f in frames])
    out = []
    for x0, y0, x1, y1 in regions:
        area = masks[:, y0 : y1 + 1, x0 : x1 + 1].sum(axis=(1, 2)).astype(np.float64)
        base = float(np.median(area))
        high = area > 1.2 * max(base, 1.0)
        starts = [int(k) for k in np.flatnonzero(high) if k == 0 or not high[k - 1]]
        out.append(starts)
    return out


def classify_solid(img: np.ndarray, blob: Blob) -> str:
    """cube: three flat shades cover most of it; else by the silhouette's width a quarter of the
    way down against its widest row: narrow = cone, full = cylinder, between = sphere."""
    x0, y0, x1, y1 = blob.box
    crop = blob.mask[y0 : y1 + 1, x0 : x1 + 1]
    pixels = img[y0 : y1 + 1, x0 : x1 + 1][crop].astype(np.int64)
    _, counts = np.unique(pixels, axis=0, return_counts=True)
    top3 = np.sort(counts)[-3:]
    if len(top3) == 3 and top3.sum() > 0.8 * len(pixels) and top3.min() > 0.15 * len(pixels):
        return "cube"
    widths = crop.sum(axis=1)
    quarter = widths[int(0.25 * (len(widths) - 1))] / max(1, widths.max())
    return "cone" if quarter < 0.6 else "cylinder" if quarter > 0.95 else "sphere"
