"""Trial content keys: a hash of everything that can change a model's answer.

key = sha256(model fingerprint, task fingerprint, sample digest (incl. media file digests),
variant, generation parameters). Absolute paths never enter a key, so a run moved to another
machine (or a dataset moved to another directory) resumes under the same keys.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omnieval.media import file_digest
from omnieval.types import GenerationParams, Sample

KEY_SCHEMA = 1


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def media_digest(path: Path) -> str:
    """Content digest of a media file, or a marker naming why there is none."""
    try:
        return file_digest(path)
    except FileNotFoundError:
        return f"missing:{path.name}"
    except OSError as err:
        return f"unreadable:{path.name}:{type(err).__name__}"


def sample_digest(sample: Sample) -> str:
    """A digest of the sample's content, with each media path replaced by its file digest."""
    data = sample.model_dump(mode="json", exclude={"parts"})
    parts = []
    for part in sample.parts:
        dumped = part.model_dump(mode="json", exclude={"path", "data"})
        path = getattr(part, "path", None)
        if path is not None:
            dumped["media"] = media_digest(Path(path))
        data_bytes = getattr(part, "data", None)
        if data_bytes is not None:
            dumped["media"] = hashlib.sha256(data_bytes).hexdigest()
        parts.append(dumped)
    data["parts"] = parts
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def trial_key(
    model: dict[str, Any],
    task: dict[str, Any],
    sample: str,
    variant: str,
    generation: GenerationParams,
) -> str:
    payload = {
        "schema": KEY_SCHEMA,
        "model": model,
        "task": task,
        "sample": sample,
        "variant": variant,
        "generation": generation.model_dump(mode="json"),
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:32]
