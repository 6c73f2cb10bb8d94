"""What the parity scripts share about the upstream checkout they run (they run as files, so
they import this sibling module by its bare name)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def commit_of(checkout: Path) -> str | None:
    """The checkout's HEAD commit, or None when it is not a git work tree (e.g. an archive)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None
