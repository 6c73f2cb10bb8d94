"""Artifacts on the OpenAI chat-completions wire: the `omnieval_artifacts` extension field.

`omnieval serve` adds, to the assistant message of a chat completion whose model produced files
(masks, a video), a list of

    {"name": "masks/obj1/00001.png", "kind": "mask", "mime": "image/png",
     "sha256": "<hex of the bytes>", "size": 1234, "data_b64": "<base64 of the bytes>"}

(plus `"meta": {...}` when the artifact has metadata). The `openai` provider reads the list back
into `Response.artifacts` as in-flight artifacts (`data` bytes, with the verified `sha256` and
`size`), checking each sha256 and size on receipt; a mismatch fails the trial. Other
OpenAI-compatible servers never send the field, and clients that do not know it ignore it.
Streamed (`stream: true`) completions do not carry artifacts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from omnieval.types import Artifact

FIELD = "omnieval_artifacts"


class ArtifactWireError(ValueError):
    """Artifacts that cannot be sent, or that arrived malformed or corrupted."""


def _artifact_bytes(artifact: Artifact) -> bytes:
    if artifact.data is not None:
        return artifact.data
    if artifact.source is not None:
        try:
            return Path(artifact.source).read_bytes()
        except OSError as err:
            raise ArtifactWireError(
                f"artifact {artifact.name!r}: cannot read {artifact.source}: {err.strerror or err}"
            ) from None
    raise ArtifactWireError(
        f"artifact {artifact.name!r} has no bytes to send (neither data nor a source file)"
    )


def encode_artifacts(artifacts: Sequence[Artifact]) -> list[dict[str, Any]]:
    """The wire form of in-flight artifacts (their bytes inline, base64, with sha256 and size)."""
    out: list[dict[str, Any]] = []
    for artifact in artifacts:
        data = _artifact_bytes(artifact)
        digest = hashlib.sha256(data).hexdigest()
        if artifact.sha256 is not None and artifact.sha256 != digest:
            raise ArtifactWireError(
                f"artifact {artifact.name!r}: its sha256 {artifact.sha256} does not match its "
                f"bytes ({digest})"
            )
        entry: dict[str, Any] = {
            "name": artifact.name,
            "kind": artifact.kind,
            "mime": artifact.mime,
            "sha256": digest,
            "size": len(data),
            "data_b64": base64.b64encode(data).decode("ascii"),
        }
        if artifact.meta:
            entry["meta"] = artifact.meta
        out.append(entry)
    return out


def message_fields(artifacts: Sequence[Artifact]) -> dict[str, Any]:
    """What to add to a chat completion's assistant message: `{}` when there are no artifacts."""
    return {FIELD: encode_artifacts(artifacts)} if artifacts else {}


def decode_artifacts(payload: Any) -> tuple[Artifact, ...]:
    """The artifacts of a chat completion's first choice (none when the field is absent).

    Raises `ArtifactWireError` for a malformed entry or bytes whose sha256 or size differ from
    the ones announced.
    """
    if not isinstance(payload, dict):
        return ()
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ()
    message = choices[0].get("message")
    if not isinstance(message, dict) or message.get(FIELD) is None:
        return ()
    raw = message[FIELD]
    if not isinstance(raw, list):
        raise ArtifactWireError(f"{FIELD} must be a list, not {type(raw).__name__}")
    return tuple(_decode_one(i, entry) for i, entry in enumerate(raw))


def _decode_one(index: int, entry: Any) -> Artifact:
    if not isinstance(entry, dict):
        raise ArtifactWireError(f"{FIELD}[{index}] must be an object")
    name = entry.get("name")
    where = f"{FIELD}[{index}] ({name!r})"
    if not isinstance(name, str) or not name:
        raise ArtifactWireError(f"{FIELD}[{index}] has no name")
    encoded, announced = entry.get("data_b64"), entry.get("sha256")
    if not isinstance(encoded, str):
        raise ArtifactWireError(f"{where} has no data_b64")
    if not isinstance(announced, str):
        raise ArtifactWireError(f"{where} has no sha256")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ArtifactWireError(f"{where}: data_b64 is not base64: {err}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != announced.lower():
        raise ArtifactWireError(
            f"{where} arrived corrupted: sha256 of the bytes is {digest}, the server announced "
            f"{announced}"
        )
    size = entry.get("size")
    if size is not None and size != len(data):
        raise ArtifactWireError(f"{where} arrived truncated: {len(data)} bytes of {size}")
    fields: dict[str, Any] = {"name": name, "data": data, "sha256": digest, "size": len(data)}
    for key in ("kind", "mime", "meta"):
        if entry.get(key) is not None:
            fields[key] = entry[key]
    try:
        return Artifact(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(x) for x in first["loc"]) or "entry"
        raise ArtifactWireError(f"{where}: {field}: {first['msg']}") from None
