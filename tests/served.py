"""Start `omnieval serve` as a real subprocess and find the address it printed."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def omnieval_serve(
    args: list[str], env: dict[str, str], cwd: Path, timeout_s: float = 60
) -> Iterator[str]:
    """Yield the server's base URL (http://127.0.0.1:PORT); SIGTERM it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "omnieval.cli", "serve", "--port", "0", *args],
        env=env,
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = None
        deadline = time.monotonic() + timeout_s
        while url is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"on (http://127\.0\.0\.1:\d+)", process.stderr.readline())
            url = found.group(1) if found else None
        assert url, "omnieval serve did not print its address"
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
