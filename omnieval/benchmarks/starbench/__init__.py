"""STAR-Bench: audio 4D spatio-temporal reasoning (perception, temporal and spatial reasoning)."""
