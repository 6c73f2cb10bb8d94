"""The generated spatial edition: rendered scenes written in the release layout.

Each scene has three coloured primitives (sphere, box, cylinder) on a checkered ground in front
of a back wall, at clearly different depths, seen over a short frame sequence in which either
the camera moves (toward or away from the objects, drifting sideways) or the objects slide
sideways. Nearer objects may hide parts of farther ones. Ground-truth masks are the pixels each
object wins in the renderer (occlusion included). Questions cover the three categories:

- Camera-Object: which object is nearest to the camera; did the camera move toward or away from
  the objects (camera scenes) or which object is farthest (object scenes); mask: the nearest.
- Inter-Object: is A left of B (camera's view, first frame); which of A and B is nearer;
  mask: the object directly left of a named one.
- Object-Scene: which object is closest to the back wall; is A closer to the wall than B; mask:
  the object closest to the wall.

A question is kept only when its answer can be read from the pixels (the objects of a left/right
question are apart on screen, the visible parts agree with the geometry); the same seed always
gives the same edition.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnieval.benchmarks.spatial.render import Camera, Primitive, Shape, render

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "yellow": (225, 205, 35),
    "green": (40, 185, 60),
    "cyan": (35, 190, 205),
    "blue": (50, 80, 225),
    "magenta": (205, 50, 205),
}
SHAPES: tuple[Shape, ...] = ("sphere", "box", "cylinder")
DATASET = "synth"
DEPTH_SLOTS = (3.2, 4.9, 6.6)
MIN_PIXELS = 40


@dataclass(frozen=True)
class SceneObject:
    number: int  # the mask files' obj<number>, 1-based
    colour: str
    primitive: Primitive

    @property
    def name(self) -> str:
        return f"the {self.colour} {self.primitive.shape}"


@dataclass
class Scene:
    name: str
    objects: list[SceneObject]
    motion: str  # "camera-toward", "camera-away" or "objects"
    frames: list[np.ndarray]
    ids: list[np.ndarray]


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


def _lettered(options: list[str]) -> list[str]:
    return [
        f"{letter}. {text}" for letter, text in zip(_letters(len(options)), options, strict=True)
    ]


def _choice(rng: random.Random, right: str, wrong: list[str], question: str) -> dict[str, Any]:
    options = [right, *wrong]
    rng.shuffle(options)
    return {
        "question": question,
        "options": _lettered(options),
        "answer": _letters(len(options))[options.index(right)],
    }


def _sample_scene(rng: random.Random, name: str, frames: int, height: int, width: int) -> Scene:
    for _ in range(200):
        colours = rng.sample(list(PALETTE), 3)
        shapes = list(SHAPES)
        rng.shuffle(shapes)
        depths = list(DEPTH_SLOTS)
        rng.shuffle(depths)
        objects = []
        occlude = rng.random() < 0.5
        for index in range(3):
            size = rng.uniform(0.35, 0.55)
            height_3d = rng.uniform(0.7, 1.3)
            x = rng.uniform(-1.7, 1.7)
            prim = Primitive(
                shapes[index],
                x,
                depths[index] + rng.uniform(-0.2, 0.2),
                size,
                PALETTE[colours[index]],
                height_3d,
            )
            objects.append(SceneObject(index + 1, colours[index], prim))
        if occlude:  # put the farthest object partly behind the nearest one
            near = min(objects, key=lambda o: o.primitive.z)
            far = max(objects, key=lambda o: o.primitive.z)
            shift = near.primitive.x + rng.choice((-1, 1)) * rng.uniform(0.3, 0.6) - far.primitive.x
            objects[objects.index(far)] = SceneObject(
                far.number, far.colour, far.primitive.moved(shift)
            )
        motion = rng.choice(("camera-toward", "camera-away", "objects"))
        drift = rng.uniform(-0.4, 0.4)
        slides = [rng.uniform(-0.5, 0.5) for _ in objects]
        rendered, id_maps = [], []
        for f in range(frames):
            step = f / max(frames - 1, 1)
            if motion == "camera-toward":
                camera = Camera(drift * step, 1.6, -0.5 + 1.3 * step)
            elif motion == "camera-away":
                camera = Camera(drift * step, 1.6, 0.8 - 1.3 * step)
            else:
                camera = Camera(0.0, 1.6, 0.0)
            moved = [
                o.primitive.moved(slides[i] * step) if motion == "objects" else o.primitive
                for i, o in enumerate(objects)
            ]
            image, ids = render(moved, camera, height, width)
            rendered.append(image)
            id_maps.append(ids)
        if _visible(id_maps, len(objects)):
            return Scene(name, objects, motion, rendered, id_maps)
    raise RuntimeError(f"scene {name}: no layout with every object visible in every frame")


def _visible(id_maps: list[np.ndarray], count: int) -> bool:
    for ids in id_maps:
        for index in range(count):
            mask = ids == index
            if mask.sum() < MIN_PIXELS:
                return False
            if mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any():
                return False
    return True


def _centroid_x(mask: np.ndarray) -> float:
    return float(np.nonzero(mask)[1].mean())


def _questions(scene: Scene, rng: random.Random, width: int) -> dict[str, Any]:
    objs = scene.objects
    by_depth = sorted(objs, key=lambda o: o.primitive.z)  # nearest first
    nearest, farthest = by_depth[0], by_depth[-1]
    names = [o.name for o in objs]

    def others(right: SceneObject) -> list[str]:
        return [n for n in names if n != right.name]

    camera_qa = [
        _choice(rng, nearest.name, others(nearest), "Which object is nearest to the camera?")
    ]
    if scene.motion == "objects":
        camera_qa.append(
            _choice(
                rng, farthest.name, others(farthest), "Which object is farthest from the camera?"
            )
        )
    else:
        toward = scene.motion == "camera-toward"
        right, wrong = ("toward the objects", "away from the objects")[:: 1 if toward else -1]
        camera_qa.append(
            _choice(
                rng,
                right,
                [wrong],
                "Over the frames, did the camera move toward or away from the objects?",
            )
        )
    first = scene.ids[0]
    inter_qa = []
    pair = rng.sample(objs, 2)
    a, b = pair
    xa, xb = _centroid_x(first == a.number - 1), _centroid_x(first == b.number - 1)
    if abs(xa - xb) >= 0.12 * width:
        inter_qa.append(
            _choice(
                rng,
                "yes" if xa < xb else "no",
                ["no" if xa < xb else "yes"],
                f"From the camera's view in the first frame, is {a.name} to the left of {b.name}?",
            )
        )
    nearer = a if a.primitive.z < b.primitive.z else b
    inter_qa.append(
        _choice(
            rng,
            nearer.name,
            [(b if nearer is a else a).name],
            f"Which is nearer to the camera, {a.name} or {b.name}?",
        )
    )
    scene_qa = [
        _choice(rng, farthest.name, others(farthest), "Which object is closest to the back wall?"),
    ]
    c, d = rng.sample(objs, 2)
    closer = c.primitive.z > d.primitive.z
    scene_qa.append(
        _choice(
            rng,
            "yes" if closer else "no",
            ["no" if closer else "yes"],
            f"Is {c.name} closer to the back wall than {d.name}?",
        )
    )
    by_x = sorted(objs, key=lambda o: _centroid_x(first == o.number - 1))
    left_masks: dict[str, Any] = {}
    for left, ref in itertools.pairwise(by_x):
        gap = _centroid_x(first == ref.number - 1) - _centroid_x(first == left.number - 1)
        if gap >= 0.12 * width:
            left_masks[f"leftof_{left.number}"] = _mask_item(
                f"Segment the object directly to the left of {ref.name} (from the camera's view "
                "in the first frame).",
                left,
            )
            break
    return {
        "cameraqa": camera_qa,
        "qa": inter_qa,
        "sceneqa": scene_qa,
        "cameramask": {
            f"nearest_{nearest.number}": _mask_item(
                "Segment the object nearest to the camera.", nearest
            )
        },
        "objmask": left_masks,
        "scenemask": {
            f"wall_{farthest.number}": _mask_item(
                "Segment the object closest to the back wall.", farthest
            )
        },
    }


def _mask_item(question: str, obj: SceneObject) -> dict[str, str]:
    return {"question": question, "crop_caption": obj.name, "crop_category": obj.primitive.shape}


def _save_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="PNG")


def write_scene(out: Path, scene: Scene, questions: dict[str, Any]) -> None:
    frames_dir = out / "frames" / DATASET / scene.name
    masks_dir = out / "masks" / DATASET / scene.name
    for index, (image, ids) in enumerate(zip(scene.frames, scene.ids, strict=True)):
        _save_png(frames_dir / f"frame_{index:04d}.png", image)
        for obj in scene.objects:
            mask = (ids == obj.number - 1).astype(np.uint8) * 255
            _save_png(masks_dir / f"frame_{index:04d}_obj{obj.number}.png", mask)
    json_dir = out / "multi_json" / DATASET
    json_dir.mkdir(parents=True, exist_ok=True)
    for suffix, items in questions.items():
        if items:
            path = json_dir / f"{scene.name}_{suffix}.json"
            path.write_text(json.dumps(items, indent=1), encoding="utf-8")


def generate_spatial(
    out: Path,
    n: int = 4,
    seed: int = 0,
    frames: int = 8,
    height: int = 96,
    width: int = 128,
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """`n` scenes of `frames` frames each under `out`, in the release layout."""
    out = Path(out)
    rng = random.Random(seed)
    for index in range(n):
        scene = _sample_scene(rng, f"scene{index:03d}", frames, height, width)
        write_scene(out, scene, _questions(scene, rng, width))
        if on_progress is not None:
            on_progress(index + 1)
    (out / "GENERATED.json").write_text(
        json.dumps(
            {
                "generator": "spatial",
                "n": n,
                "seed": seed,
                "frames": frames,
                "height": height,
                "width": width,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return out
