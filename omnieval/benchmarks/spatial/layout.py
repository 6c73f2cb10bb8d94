"""The release layout's vocabulary: the six task suffixes and their three categories."""

from __future__ import annotations

from typing import Literal

CAMERA_OBJECT = "Camera-Object"
INTER_OBJECT = "Inter-Object"
OBJECT_SCENE = "Object-Scene"
CATEGORIES = (CAMERA_OBJECT, INTER_OBJECT, OBJECT_SCENE)

QA_SUFFIXES = ("cameraqa", "qa", "sceneqa")
MASK_SUFFIXES = ("cameramask", "objmask", "scenemask")
SUFFIXES = QA_SUFFIXES + MASK_SUFFIXES

CATEGORY_OF: dict[str, str] = {
    "cameraqa": CAMERA_OBJECT,
    "cameramask": CAMERA_OBJECT,
    "qa": INTER_OBJECT,
    "objmask": INTER_OBJECT,
    "sceneqa": OBJECT_SCENE,
    "scenemask": OBJECT_SCENE,
}

TaskType = Literal["all", "qa", "mask"]
#: `aligned`: ground truth of the frames actually shown; `upstream`: dyn-bench's bug, GT frames
#: 0..N-1 whatever frames were shown (parity only)
Alignment = Literal["aligned", "upstream"]


def task_name(suffix: str) -> str:
    return f"spatial/{suffix}"


def is_mask(suffix: str) -> bool:
    return suffix in MASK_SUFFIXES
