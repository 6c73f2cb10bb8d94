"""A generic multiple-choice benchmark read from a JSONL file (text, optionally with media)."""
