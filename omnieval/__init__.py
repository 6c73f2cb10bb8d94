"""omnieval: evaluate omni models on audio-visual benchmarks."""

__version__ = "0.1.0"
