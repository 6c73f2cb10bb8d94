"""A small hand-written STAR-Bench release (meta_info/ + tiny real WAV files) whose rotations,
clip permutations and scores are checked by hand in the tests, and a scripted model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from omnieval import registry
from omnieval.benchmarks.starbench.synth import ORDERINGS, write_wav
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.types import AudioPart, Modality, Request, Response

PERCEPTION: list[dict[str, Any]] = [
    # upstream runs: r0 [p1low, p1mid, p1high] -> C; r1 [p1high, p1low, p1mid] -> A;
    # r2 [p1mid, p1high, p1low] -> B
    {
        "id": "P1",
        "task": "foundation_perception",
        "category": "non-spatial",
        "sub-category": "pitch",
        "question": "Which is highest?",
        "options": ["p1low", "p1mid", "p1high"],
        "answer": "p1high",
        "audio_paths": ["starbench_audios/pc/P1_a.wav", "starbench_audios/pc/P1_b.wav"],
    },
    # r0 [p2a, p2b] -> A; r1 [p2b, p2a] -> B
    {
        "id": "P2",
        "task": "foundation_perception",
        "category": "non-spatial",
        "sub-category": "pitch",
        "question": "Which one?",
        "options": ["p2a", "p2b"],
        "answer": "p2a",
        "audio_paths": ["starbench_audios/pc/P2.wav"],
    },
    # r0 [x, y, z, w] -> B; r1 [w, x, y, z] -> C; r2 [z, w, x, y] -> D; r3 [y, z, w, x] -> A
    {
        "id": "P3",
        "task": "foundation_perception",
        "category": "level",
        "sub-category": "loudness",
        "question": "Which is loudest?",
        "options": ["p3x", "p3y", "p3z", "p3w"],
        "answer": "p3y",
        "audio_paths": ["starbench_audios/pc/P3.wav"],
    },
]

SPATIAL: list[dict[str, Any]] = [
    # three runs: r0 [a, b, c, d] -> A; r1 [d, a, b, c] -> B; r2 [c, d, a, b] -> C
    {
        "id": "S1",
        "task": "holistic_reasoning_spatial",
        "category": "spatial",
        "sub-category": "motion",
        "question": "Where does it go?",
        "options": ["s1a", "s1b", "s1c", "s1d"],
        "answer": "s1a",
        "audio_paths": ["starbench_audios/holistic_reasoning/spatial/S1.wav"],
    },
]


def temporal_item(item_id: str) -> dict[str, Any]:
    folder = "starbench_audios/holistic_reasoning/temporal"
    return {
        "id": item_id,
        "task": "holistic_reasoning_temporal",
        "category": "temporal",
        "sub-category": item_id.split("_")[-2],
        "question": "In which order?",
        "options": list(ORDERINGS),  # lexicographic: 123, 132, 213, 231, 312, 321
        "answer": ORDERINGS[0],
        "audio_paths": [f"{folder}/{item_id}_c{k}.wav" for k in (1, 2, 3)],
        "global_caption": "a caption of the whole scene",
        "uncut_audio_path": f"{folder}/{item_id}_uncut.wav",
    }


TEMPORAL = [temporal_item("t_OSM_1"), temporal_item("t_DSS_5")]


def write_release(root: Path, overrides: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """The fixture under `root` (every referenced audio written as a short real WAV)."""
    files: dict[str, list[dict[str, Any]]] = {
        "foundation_perception.json": PERCEPTION,
        "foundation_perception_spatial.json": [],
        "foundation_perception_nonspatial.json": PERCEPTION,
        "holistic_reasoning_temporal.json": TEMPORAL,
        "holistic_reasoning_spatial.json": SPATIAL,
        **(overrides or {}),
    }
    tone = 0.1 * np.sin(np.arange(800) / 5.0)
    for name, items in files.items():
        (root / "meta_info").mkdir(parents=True, exist_ok=True)
        (root / "meta_info" / name).write_text(json.dumps(items), encoding="utf-8")
        for item in items:
            paths = list(item.get("audio_paths", []))
            if item.get("uncut_audio_path"):
                paths.append(item["uncut_audio_path"])
            for rel in paths:
                target = root / rel
                if "S1" in rel:
                    write_wav(target, np.stack([tone, tone], axis=1))
                elif ".." not in rel and not rel.startswith("/"):
                    write_wav(target, tone)
    return root


@registry.models.register("test-starbench-script")
class Scripted(Model):
    """Answers by the first rule whose text occurs in the prompt text plus the audio file names;
    the answer `FAIL` raises (a failed trial)."""

    name = "test-starbench-script"
    capabilities = ModelCapabilities(inputs=frozenset({Modality.TEXT, Modality.AUDIO}))

    def __init__(self, rules: list[list[str]], default: str = "no idea") -> None:
        self.rules = [(str(a), str(b)) for a, b in rules]
        self.default = default

    async def generate(self, request: Request) -> Response:
        names = " ".join(p.path.name for p in request.parts if isinstance(p, AudioPart))
        haystack = f"{request.text()} {names}"
        for needle, answer in self.rules:
            if needle in haystack:
                if answer == "FAIL":
                    raise PermanentModelError(f"scripted failure for {needle!r}")
                return Response(text=answer)
        return Response(text=self.default)

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "rules": self.rules, "default": self.default}
