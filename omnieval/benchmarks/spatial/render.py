"""A small numpy ray caster for the generated spatial edition: coloured primitives (spheres,
boxes, vertical cylinders) on a checkered ground plane in front of a back wall, seen by a pinhole
camera that looks along +z, pitched down.

Every pixel's ray is intersected with every primitive, the ground and the wall; the nearest hit
wins, so occlusion is exact and the ground-truth mask of an object is the set of pixels it wins
(what the camera sees of it). Shading is Lambertian with an ambient term: an object's hue is
constant over its surface and only its brightness varies, as in a simple real scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Shape = Literal["sphere", "box", "cylinder"]
WALL_Z = 9.0
LIGHT = np.array([-0.4, 0.9, -0.5]) / np.linalg.norm([-0.4, 0.9, -0.5])
AMBIENT = 0.45
GROUND_RGB = (np.array([150.0, 146.0, 140.0]), np.array([118.0, 115.0, 110.0]))
WALL_RGB = np.array([196.0, 188.0, 170.0])
SKY_RGB = np.array([205.0, 210.0, 215.0])


@dataclass(frozen=True)
class Primitive:
    """An object on the ground: `x`, `z` its centre on the ground plane, `size` its radius (or
    half-width), `height` the box or cylinder height; `rgb` its colour."""

    shape: Shape
    x: float
    z: float
    size: float
    rgb: tuple[int, int, int]
    height: float = 0.0

    def moved(self, dx: float) -> Primitive:
        return Primitive(self.shape, self.x + dx, self.z, self.size, self.rgb, self.height)

    @property
    def top(self) -> float:
        return 2 * self.size if self.shape == "sphere" else self.height


@dataclass(frozen=True)
class Camera:
    x: float
    y: float
    z: float
    pitch_deg: float = 12.0
    fov_deg: float = 60.0


def rays(camera: Camera, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Ray origin (3,) and unit directions (H, W, 3) through pixel centres."""
    focal = 0.5 * width / math.tan(math.radians(camera.fov_deg) / 2)
    xs = (np.arange(width) + 0.5 - width / 2) / focal
    ys = -(np.arange(height) + 0.5 - height / 2) / focal
    grid_x, grid_y = np.meshgrid(xs, ys)
    dirs = np.stack([grid_x, grid_y, np.ones_like(grid_x)], axis=-1)
    pitch = math.radians(camera.pitch_deg)
    cos, sin = math.cos(pitch), math.sin(pitch)
    # rotate about x: looking down by `pitch`
    y = dirs[..., 1] * cos - dirs[..., 2] * sin
    z = dirs[..., 1] * sin + dirs[..., 2] * cos
    dirs = np.stack([dirs[..., 0], y, z], axis=-1)
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    return np.array([camera.x, camera.y, camera.z]), dirs


def _sphere(origin: np.ndarray, dirs: np.ndarray, p: Primitive) -> tuple[np.ndarray, np.ndarray]:
    centre = np.array([p.x, p.size, p.z])
    oc = origin - centre
    b = dirs @ oc
    c = float(oc @ oc) - p.size * p.size
    disc = b * b - c
    t = np.where(disc >= 0, -b - np.sqrt(np.maximum(disc, 0)), np.inf)
    t = np.where(t > 1e-6, t, np.inf)
    hit = origin + dirs * t[..., None]
    normal = (hit - centre) / p.size
    return t, normal


def _box(origin: np.ndarray, dirs: np.ndarray, p: Primitive) -> tuple[np.ndarray, np.ndarray]:
    low = np.array([p.x - p.size, 0.0, p.z - p.size])
    high = np.array([p.x + p.size, p.height, p.z + p.size])
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / dirs
        t1 = (low - origin) * inv
        t2 = (high - origin) * inv
    t_near = np.minimum(t1, t2)
    t_far = np.maximum(t1, t2)
    enter = np.max(t_near, axis=-1)
    leave = np.min(t_far, axis=-1)
    t = np.where((enter <= leave) & (enter > 1e-6), enter, np.inf)
    axis = np.argmax(t_near, axis=-1)
    normal = np.zeros(dirs.shape)
    sign = -np.sign(np.take_along_axis(dirs, axis[..., None], axis=-1))[..., 0]
    np.put_along_axis(normal, axis[..., None], sign[..., None], axis=-1)
    return t, normal


def _cylinder(origin: np.ndarray, dirs: np.ndarray, p: Primitive) -> tuple[np.ndarray, np.ndarray]:
    ox, oz = origin[0] - p.x, origin[2] - p.z
    dx, dz = dirs[..., 0], dirs[..., 2]
    a = dx * dx + dz * dz
    b = ox * dx + oz * dz
    c = ox * ox + oz * oz - p.size * p.size
    disc = b * b - a * c
    with np.errstate(divide="ignore", invalid="ignore"):
        side = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)
        y_side = origin[1] + dirs[..., 1] * side
        side = np.where((side > 1e-6) & (y_side >= 0) & (y_side <= p.height), side, np.inf)
        cap = (p.height - origin[1]) / dirs[..., 1]
    cap_x = ox + dx * cap
    cap_z = oz + dz * cap
    cap = np.where((cap > 1e-6) & (cap_x**2 + cap_z**2 <= p.size**2), cap, np.inf)
    t = np.minimum(side, cap)
    hit = origin + dirs * t[..., None]
    normal = np.stack([(hit[..., 0] - p.x), np.zeros(t.shape), (hit[..., 2] - p.z)], axis=-1)
    normal /= p.size
    normal = np.where((cap <= side)[..., None], np.array([0.0, 1.0, 0.0]), normal)
    return t, normal


INTERSECT = {"sphere": _sphere, "box": _box, "cylinder": _cylinder}


def render(
    objects: list[Primitive], camera: Camera, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """The frame (H, W, 3 uint8) and the id map (H, W; -1 background, i = objects[i])."""
    origin, dirs = rays(camera, height, width)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = np.where(dirs[..., 1] < 0, -origin[1] / dirs[..., 1], np.inf)
        t_wall = np.where(dirs[..., 2] > 0, (WALL_Z - origin[2]) / dirs[..., 2], np.inf)
    best = np.minimum(t_ground, t_wall)
    ids = np.full((height, width), -1, dtype=np.int32)
    normals = np.zeros((height, width, 3))
    for index, obj in enumerate(objects):
        t, normal = INTERSECT[obj.shape](origin, dirs, obj)
        closer = t < best
        best = np.where(closer, t, best)
        ids[closer] = index
        normals[closer] = normal[closer]
    image = np.empty((height, width, 3))
    image[:] = SKY_RGB
    ground = (ids < 0) & np.isfinite(t_ground) & (t_ground <= t_wall)
    hit = origin + dirs * np.where(np.isfinite(t_ground), t_ground, 0.0)[..., None]
    checker = ((np.floor(hit[..., 0]) + np.floor(hit[..., 2])) % 2).astype(int)
    image[ground] = np.where(checker[ground][:, None] == 0, GROUND_RGB[0], GROUND_RGB[1])
    wall = (ids < 0) & ~ground & np.isfinite(t_wall)
    image[wall] = WALL_RGB
    for index, obj in enumerate(objects):
        mine = ids == index
        light = np.clip(normals[mine] @ LIGHT, 0.0, 1.0)
        shade = AMBIENT + (1 - AMBIENT) * light
        image[mine] = np.array(obj.rgb, dtype=float)[None, :] * shade[:, None]
    return np.clip(image, 0, 255).astype(np.uint8), ids
