"""Benchmark packages: one per benchmark family, each self-contained."""
