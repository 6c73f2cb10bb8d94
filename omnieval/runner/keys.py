"""Trial content keys: a hash of everything that can change a model's answer.

key = sha256(model fingerprint, task fingerprint, sample digest (incl. media file digests),
condition, replicate, generation parameters). A trial without a replicate keys exactly as the
first release keyed its variant, so run directories written by it resume. Absolute paths never
enter a key, so a run moved to another machine (or a dataset moved to another directory)
resumes under the same keys.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omnieval.media import MediaError, file_digest
from omnieval.types import AudioPart, GenerationParams, Part, Sample

KEY_SCHEMA = 1


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def media_digest(path: Path) -> str:
    """Content digest of a media file, or a marker naming why there is none."""
    try:
        return file_digest(path)
    except FileNotFoundError:
        return f"missing:{path.name}"
    except MediaError as err:  # missing or empty: the trial fails later, naming the file
        return f"{err.problem}:{path.name}"
    except OSError as err:
        return f"unreadable:{path.name}:{type(err).__name__}"


def _part_key_json(part: Part) -> str:
    """A part's settings as they enter the key, written as the first release wrote them: an
    audio part whose layout is probed (None) keys as the old default `mono`, and a channel
    selection enters only when one is made (so unchanged samples keep their keys)."""
    if isinstance(part, AudioPart):
        exclude = {"path", "data"} | ({"channel"} if part.channel is None else set())
        dumped = json.loads(part.model_dump_json(exclude=exclude))
        if dumped.get("layout") is None:
            dumped["layout"] = "mono"
        ordered = {k: dumped[k] for k in ("kind", "window", "layout", "channel") if k in dumped}
        return json.dumps(ordered, separators=(",", ":"))
    return part.model_dump_json(exclude={"path", "data"})


def sample_digest(sample: Sample) -> str:
    """A digest of the sample's content, with each media path replaced by its file digest."""
    digest = hashlib.sha256(sample.model_dump_json(exclude={"parts"}).encode())
    for part in sample.parts:
        digest.update(_part_key_json(part).encode())
        path = getattr(part, "path", None)
        if path is not None:
            digest.update(media_digest(Path(path)).encode())
        data = getattr(part, "data", None)
        if data is not None:
            digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


class TrialKeyer:
    """Keys for one (model, task, generation) combination; the shared part is hashed once."""

    def __init__(
        self, model: dict[str, Any], task: dict[str, Any], generation: GenerationParams
    ) -> None:
        prefix = canonical_json(
            {
                "schema": KEY_SCHEMA,
                "model": model,
                "task": task,
                "generation": generation.key_dump(),
            }
        )
        self._prefix = hashlib.sha256(prefix.encode())

    def key(self, sample_digest: str, condition: str, replicate: str = "") -> str:
        digest = self._prefix.copy()
        digest.update(f"\n{sample_digest}\n{condition}".encode())
        if replicate:
            digest.update(f"\n{replicate}".encode())
        return digest.hexdigest()[:32]
