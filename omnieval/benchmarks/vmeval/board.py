"""Boards: how a generated puzzle is drawn and read back.

A board is a fixed canvas (`CANVAS` pixels square) with a static background and a list of
*slots*; a puzzle state gives each slot a *label* (a chess piece, a digit, a wall ...), and the
frame is the background with each slot's tile pasted in. Because the tiles are our own drawings,
a frame is read back by template matching: each slot of the (resized) frame is compared with the
tiles of every label the slot may hold and the nearest one wins. The comparison runs at half
resolution on a smoothed copy, so re-encoding, a lower resolution and generator noise do not
change the reading; a slot whose nearest tile is still far away is reported as unreadable.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image

CANVAS = 256
#: comparison scale: slots are compared at CANVAS / SCALE pixels
SCALE = 2
#: a slot whose nearest tile is further than this (RMS over 0-255 RGB) is unreadable
UNREADABLE_RMS = 60.0

State = dict[str, str]


@dataclass(frozen=True)
class Slot:
    """A rectangle of the canvas (even coordinates and sizes) holding one label."""

    name: str
    y: int
    x: int
    h: int
    w: int


@dataclass(frozen=True)
class Reading:
    """What was read from one frame: each slot's label and how far its tile was."""

    state: State
    distance: dict[str, float]

    @property
    def unreadable(self) -> list[str]:
        return [name for name, d in self.distance.items() if d > UNREADABLE_RMS]


class Board(abc.ABC):
    """A puzzle's canvas: background, slots, the labels each slot may hold and their tiles."""

    @abc.abstractmethod
    def slots(self) -> Sequence[Slot]: ...

    @abc.abstractmethod
    def labels(self, slot: Slot) -> Sequence[str]: ...

    @abc.abstractmethod
    def tile(self, label: str, slot: Slot) -> np.ndarray:
        """The (h, w, 3) uint8 drawing of `label` in `slot`."""

    def background(self) -> np.ndarray:
        return np.full((CANVAS, CANVAS, 3), 255, np.uint8)

    # ------------------------------------------------------------------ drawing

    @cached_property
    def _background(self) -> np.ndarray:
        return self.background()

    def render(self, state: Mapping[str, str]) -> np.ndarray:
        frame = self._background.copy()
        for slot in self.slots():
            frame[slot.y : slot.y + slot.h, slot.x : slot.x + slot.w] = self.tile(
                state[slot.name], slot
            )
        return frame

    # ------------------------------------------------------------------ reading

    def cache_key(self) -> tuple[object, ...]:
        """What the board's drawing depends on (its public settings): boards with equal keys
        share their comparison templates."""
        settings = sorted((k, v) for k, v in vars(self).items() if not k.startswith("_"))
        return (type(self).__qualname__, tuple(settings))

    @cached_property
    def _templates(self) -> list[tuple[Slot, tuple[str, ...], np.ndarray]]:
        key = self.cache_key()
        cached = _TEMPLATES.get(key)
        if cached is None:
            cached = []
            for slot in self.slots():
                labels = tuple(self.labels(slot))
                stack = np.stack([_pool(self.tile(label, slot)) for label in labels])
                cached.append((slot, labels, stack.reshape(len(labels), -1)))
            if len(_TEMPLATES) >= _TEMPLATE_CACHE_SIZE:
                _TEMPLATES.pop(next(iter(_TEMPLATES)))
            _TEMPLATES[key] = cached
        return cached

    def read(self, frame: np.ndarray) -> Reading:
        """Each slot's nearest label in `frame` (any size; resized to the canvas)."""
        small = to_comparison(frame)
        state: State = {}
        distance: dict[str, float] = {}
        for slot, labels, stack in self._templates:
            y0, y1 = slot.y // SCALE, (slot.y + slot.h) // SCALE
            x0, x1 = slot.x // SCALE, (slot.x + slot.w) // SCALE
            patch = small[y0:y1, x0:x1]
            diff = stack - patch.reshape(1, -1)
            rms = np.sqrt(np.einsum("ij,ij->i", diff, diff) / diff.shape[1])
            best = int(np.argmin(rms))
            state[slot.name] = labels[best]
            distance[slot.name] = float(rms[best])
        return Reading(state, distance)


_TEMPLATES: dict[tuple[object, ...], list[tuple[Slot, tuple[str, ...], np.ndarray]]] = {}
_TEMPLATE_CACHE_SIZE = 256


def _pool(image: np.ndarray) -> np.ndarray:
    """Average-pool by SCALE, as float32 (the comparison form of a tile)."""
    h, w, c = image.shape
    s = SCALE
    summed = image.reshape(h // s, s, w // s, s, c).sum(axis=(1, 3), dtype=np.float32)
    return summed / np.float32(s * s)


def to_comparison(frame: np.ndarray) -> np.ndarray:
    """A frame in comparison form: its centred square (a square puzzle letterboxed into a 16:9
    video, as the provider clients send it, sits there), resized to the canvas, pooled."""
    h, w = frame.shape[:2]
    if h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        frame = np.ascontiguousarray(frame[top : top + side, left : left + side])
    if frame.shape[:2] != (CANVAS, CANVAS):
        resized = Image.fromarray(frame).resize((CANVAS, CANVAS), Image.Resampling.BILINEAR)
        frame = np.asarray(resized)
    return _pool(frame)


def solid(h: int, w: int, color: tuple[int, int, int]) -> np.ndarray:
    out = np.empty((h, w, 3), np.uint8)
    out[:] = color
    return out
