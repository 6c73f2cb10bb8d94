"""`omnieval probe`: a generated probe set that proves each modality (and both audio channels)
reaches a model, run through the model's real path before any benchmark time is spent."""


class ProbeFailedError(RuntimeError):
    """A model declares an input that the probe found unused (verdict "does not reach")."""
