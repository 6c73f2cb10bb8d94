"""Models: the protocol every answering thing implements, and its providers."""

from omnieval.models.base import (
    Model,
    ModelCapabilities,
    ModelError,
    PermanentModelError,
    TransientModelError,
)

__all__ = [
    "Model",
    "ModelCapabilities",
    "ModelError",
    "PermanentModelError",
    "TransientModelError",
]
