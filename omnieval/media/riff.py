"""A truncated WAV file decodes without complaint (as a shorter clip) and its duration is
estimated from its size; only its RIFF header says how much audio it should hold. This reads the
header of `data` chunk and compares it with the bytes the file really has."""

from __future__ import annotations

import struct
from pathlib import Path

_STREAMING_SIZES = (0, 0xFFFFFFFF)  # writers that did not know the length leave these


def wav_shortfall(path: Path) -> tuple[int, int] | None:
    """(bytes of audio the header promises, bytes present) when a RIFF/WAVE file holds less
    audio than its `data` chunk declares; None when it is complete or not a WAV file."""
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            size = path.stat().st_size
            offset = 12
            while offset + 8 <= size:
                handle.seek(offset)
                chunk_id, length = struct.unpack("<4sI", handle.read(8))
                if chunk_id == b"data":
                    if length in _STREAMING_SIZES:
                        return None
                    present = size - offset - 8
                    return (length, present) if present < length else None
                offset += 8 + length + (length & 1)
    except OSError:
        return None
    return None
