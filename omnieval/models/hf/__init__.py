"""`hf`: local transformers models (extra `omnieval[hf]`, plus torch); see docs/model-hf.md.

Importing this package registers the `hf` provider. torch and transformers are imported only
when a model is built.
"""

from omnieval.models.hf.provider import HFDependencyError, HFModel, import_backends

__all__ = ["HFDependencyError", "HFModel", "import_backends"]
