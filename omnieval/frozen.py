"""The base of every immutable value object in omnieval's typed core."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base for immutable value objects."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def variant_as_condition(data: Any) -> Any:
    """Raw input of a model with a `condition` field, its old name `variant` accepted (journals,
    results.json schema 1 and code written before conditions and replicates were separate)."""
    if isinstance(data, dict) and "variant" in data and "condition" not in data:
        data = {**data, "condition": data["variant"]}
        data.pop("variant")
    return data
