"""Frames for the generated V-SYNC edition: faces whose mouths open with speech, and flashes.

numpy only. A clip is drawn once as a static *base* picture (background, heads, hair, eyes,
closed lips, bodies); per frame only the mouths (or a flash disc) change, so a whole clip costs a
few array operations. Mouth openings are anti-aliased column by column, so the covered area of a
mouth is exactly linear in its opening and its darkness grows smoothly with it (no one-pixel
staircase): a solver that measures dark pixels sees the speech envelope itself.

Colour rules keep the signals clean for a pixel-statistics solver: backgrounds, skin and shirts
stay in a mid luminance band (no pixel darker than `DARK_LUMA` or brighter than `BRIGHT_LUMA`),
so the only dark, moving pixels are open mouths and the only very bright ones are flashes; static
dark features (eyes, some hair) never move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DARK_LUMA = 90.0
BRIGHT_LUMA = 200.0
MOUTH_RGB = (28.0, 8.0, 12.0)
LIPS_RGB = (176.0, 92.0, 92.0)

_SKINS = ((236, 200, 170), (222, 180, 150), (200, 160, 128), (176, 132, 100), (244, 210, 190))
_HAIRS = (
    (40, 30, 25),
    (95, 60, 35),
    (150, 110, 60),
    (200, 170, 110),
    (120, 120, 125),
    (70, 40, 30),
)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an [..., 3] array."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


@dataclass(frozen=True)
class FaceLook:
    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    shirt: tuple[float, float, float]
    long_hair: bool


@dataclass(frozen=True)
class FaceGeom:
    cx: float
    cy: float
    rx: float
    ry: float
    mouth_x: float
    mouth_y: float
    mouth_w: float  # half width
    mouth_h: float  # largest half height (opening 1.0 at mouth_gain 1.0)


def random_look(rng: np.random.Generator) -> FaceLook:
    return FaceLook(
        skin=_pick(_SKINS, rng),
        hair=_pick(_HAIRS, rng),
        shirt=_mid_colour(rng),
        long_hair=bool(rng.random() < 0.4),
    )


def face_geometry(
    seat: int, seats: int, width: int, height: int, rng: np.random.Generator
) -> FaceGeom:
    """A head centred in its seat's vertical strip (with a little jitter that stays inside)."""
    strip = width / seats
    rx = min(0.34 * strip, 0.21 * height)
    ry = 1.28 * rx
    cx = (seat + 0.5) * strip + rng.uniform(-0.06, 0.06) * strip
    cy = height * rng.uniform(0.42, 0.48)
    return FaceGeom(
        cx=cx,
        cy=cy,
        rx=rx,
        ry=ry,
        mouth_x=cx,
        mouth_y=cy + 0.5 * ry,
        mouth_w=0.42 * rx,
        mouth_h=0.2 * ry,
    )


def background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A float32 [H, W, 3] backdrop: a vertical gradient and a few flat panels, all mid-luma."""
    top, bottom = _mid_colour(rng), _mid_colour(rng)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    img = np.array(top, np.float32) * (1 - ramp) + np.array(bottom, np.float32) * ramp
    img = np.repeat(img, width, axis=1)
    for _ in range(int(rng.integers(1, 4))):
        w = int(rng.integers(width // 8, width // 3))
        h = int(rng.integers(height // 8, height // 3))
        x = int(rng.integers(0, width - w))
        y = int(rng.integers(0, height - h))
        img[y : y + h, x : x + w] = np.array(_mid_colour(rng), np.float32)
    return img


def draw_faces(img: np.ndarray, faces: list[tuple[FaceGeom, FaceLook]]) -> None:
    """Draw the static parts of every face into `img` (float32 [H, W, 3]) in place."""
    for geom, look in faces:
        g = geom
        # shoulders, hair behind the head, head, fringe, eyes, brows, nose, closed lips
        _paint(img, _ellipse(img, g.cx, g.cy + 2.1 * g.ry, 1.25 * g.rx, 1.05 * g.ry), look.shirt)
        if look.long_hair:
            _paint(
                img, _ellipse(img, g.cx, g.cy + 0.25 * g.ry, 1.12 * g.rx, 1.12 * g.ry), look.hair
            )
        _paint(img, _ellipse(img, g.cx, g.cy, g.rx, g.ry), look.skin)
        _paint(img, _ellipse(img, g.cx, g.cy - 0.72 * g.ry, 0.92 * g.rx, 0.38 * g.ry), look.hair)
        for side in (-1.0, 1.0):
            eye_x = g.cx + side * 0.38 * g.rx
            _paint(
                img,
                _ellipse(img, eye_x, g.cy - 0.08 * g.ry, 0.11 * g.rx, 0.08 * g.ry),
                (30, 25, 25),
            )
            brow = _ellipse(img, eye_x, g.cy - 0.27 * g.ry, 0.2 * g.rx, 0.04 * g.ry)
            _paint(img, brow, tuple(0.6 * c for c in look.hair))
        nose = tuple(0.88 * c for c in look.skin)
        _paint(img, _ellipse(img, g.cx, g.cy + 0.2 * g.ry, 0.08 * g.rx, 0.12 * g.ry), nose)
        lips = _ellipse(img, g.mouth_x, g.mouth_y, g.mouth_w * 1.08, max(1.2, 0.05 * g.ry))
        _paint(img, lips, LIPS_RGB)


class NoiseBank:
    """Per-frame pixel noise, cheaply: `size` grey Gaussian fields (std `level * 255`), one
    picked at random for each frame. Static picture parts are noised once per field; only the
    parts that change (mouths, flashes) are noised per frame."""

    def __init__(
        self,
        height: int,
        width: int,
        n_frames: int,
        level: float,
        rng: np.random.Generator,
        size: int = 8,
    ) -> None:
        self.level = level
        if level > 0:
            fields = rng.standard_normal((size, height, width), dtype=np.float32)
            self.fields = fields * np.float32(level * 255.0)
        else:
            self.fields = np.zeros((1, height, width), np.float32)
        self.picks = rng.integers(0, self.fields.shape[0], n_frames)

    def frames(self, base: np.ndarray) -> np.ndarray:
        """uint8 [F, H, W, 3]: the static picture with each frame's noise field."""
        variants = _to_uint8(base[None] + self.fields[..., None])
        return variants[self.picks]

    def noise(self, frames: slice | np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """[F', rows, cols, 1] noise for a box of the given frames."""
        return self.fields[self.picks[frames], y0:y1, x0:x1, None]


def render_mouths(
    base: np.ndarray,
    faces: list[FaceGeom],
    openings: np.ndarray,
    gain: float,
    noise: NoiseBank,
) -> np.ndarray:
    """uint8 frames [F, H, W, 3]: `base` with each face's mouth opened by `openings[i, f]`."""
    height, width = base.shape[:2]
    frames = noise.frames(base)
    mouth = np.array(MOUTH_RGB, np.float32)
    everything = slice(None)
    for i, g in enumerate(faces):
        half = np.clip(openings[i] * gain, 0.0, 1.6) * g.mouth_h  # [F]
        reach = int(np.ceil(g.mouth_h * 1.6)) + 2
        y0, y1 = max(0, int(g.mouth_y) - reach), min(height, int(g.mouth_y) + reach + 1)
        x0, x1 = max(0, int(g.mouth_x - g.mouth_w) - 1), min(width, int(g.mouth_x + g.mouth_w) + 2)
        dx = (np.arange(x0, x1) + 0.5 - g.mouth_x) / g.mouth_w
        dy = np.arange(y0, y1) + 0.5 - g.mouth_y
        profile = np.sqrt(np.clip(1.0 - dx**2, 0.0, None))  # [cols]
        hcol = half[:, None] * profile[None, :]  # [F, cols]
        top = np.minimum(dy[None, :, None] + 0.5, hcol[:, None, :])
        bottom = np.maximum(dy[None, :, None] - 0.5, -hcol[:, None, :])
        cover = np.clip(top - bottom, 0.0, 1.0)[..., None]  # [F, rows, cols, 1]
        patch = base[y0:y1, x0:x1][None]
        mixed = patch + (mouth - patch) * cover + noise.noise(everything, y0, y1, x0, x1)
        frames[:, y0:y1, x0:x1] = _to_uint8(mixed)
    return frames


@dataclass(frozen=True)
class Flash:
    frame: int
    length: int
    x: float
    y: float
    radius: float
    rgb: tuple[float, float, float]


def render_flashes(base: np.ndarray, flashes: list[Flash], noise: NoiseBank) -> np.ndarray:
    """uint8 frames [F, H, W, 3]: `base` everywhere, plus a bright disc during each flash."""
    frames = noise.frames(base)
    for fl in flashes:
        c = _ellipse(base, fl.x, fl.y, fl.radius, fl.radius)
        patch = base[c.y0 : c.y1, c.x0 : c.x1]
        disc = patch + (np.array(fl.rgb, np.float32) - patch) * c.alpha[..., None]
        span = np.arange(fl.frame, min(fl.frame + fl.length, frames.shape[0]))
        lit = disc[None] + noise.noise(span, c.y0, c.y1, c.x0, c.x1)
        frames[span, c.y0 : c.y1, c.x0 : c.x1] = _to_uint8(lit)
    return frames


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Cover:
    """Anti-aliased coverage of a shape inside the box [y0:y1, x0:x1] of a picture."""

    y0: int
    y1: int
    x0: int
    x1: int
    alpha: np.ndarray  # [y1 - y0, x1 - x0]


def _ellipse(img: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> _Cover:
    """Coverage of an ellipse (about one pixel of soft edge), clipped to the picture."""
    height, width = img.shape[:2]
    y0, y1 = max(0, int(cy - ry) - 2), min(height, int(cy + ry) + 3)
    x0, x1 = max(0, int(cx - rx) - 2), min(width, int(cx + rx) + 3)
    ys = (np.arange(y0, y1, dtype=np.float32) + 0.5 - cy) / ry
    xs = (np.arange(x0, x1, dtype=np.float32) + 0.5 - cx) / rx
    r = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    return _Cover(y0, y1, x0, x1, np.clip((1.0 - r) * min(rx, ry) + 0.5, 0.0, 1.0))


def _paint(img: np.ndarray, cover: _Cover, rgb: tuple[float, ...]) -> None:
    box = img[cover.y0 : cover.y1, cover.x0 : cover.x1]
    box += (np.array(rgb, np.float32) - box) * cover.alpha[..., None]


def _pick(
    table: tuple[tuple[int, int, int], ...], rng: np.random.Generator
) -> tuple[float, float, float]:
    r, g, b = table[int(rng.integers(len(table)))]
    return (float(r), float(g), float(b))


def _mid_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    """A random colour whose luma lies well inside (DARK_LUMA, BRIGHT_LUMA)."""
    while True:
        rgb = rng.uniform(60, 235, 3)
        y = float(luma(rgb))
        if DARK_LUMA + 25 <= y <= BRIGHT_LUMA - 30:
            return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


def _to_uint8(frames: np.ndarray) -> np.ndarray:
    return np.clip(frames + 0.5, 0, 255).astype(np.uint8)
