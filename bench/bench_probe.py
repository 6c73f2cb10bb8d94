"""Wiring probe: time to probe one model (cold: probe set generated; warm: cached media), and
the verdict tables of docs/probe.md (reference models in process; the probe-solver behind
`omnieval serve` + the `openai` provider under several transport policies).

    python bench/bench_probe.py            # timings
    python bench/bench_probe.py --tables   # also the markdown tables for docs/probe.md
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from omnieval.config import ModelSpec
from omnieval.probe.run import probe_model
from omnieval.probe.verdict import PathVerdict

TRANSPORTS: dict[str, dict[str, Any]] = {
    "native (video with its audio, stereo wav)": {},
    "audio: drop": {"audio": "drop"},
    "audio_channels: downmix": {"audio_channels": "downmix"},
    "video: frames": {"video": "frames"},
    "video: frames, frame_timestamps: false": {"video": "frames", "frame_timestamps": False},
    "audio: transcript (pocketsphinx)": {"audio": "transcript"},
}


def timed_probe(spec: ModelSpec, output: Path) -> tuple[float, list[PathVerdict]]:
    started = time.perf_counter()
    report = probe_model(spec, output)
    return time.perf_counter() - started, list(report.rows)


def markdown(title: str, rows: list[PathVerdict]) -> str:
    lines = [f"#### {title}", "", "| path | sent | correct | verdict |", "|---|---|---|---|"]
    for row in rows:
        verdict = row.verdict + (f" ({row.why})" if row.why else "")
        lines.append(f"| {row.path} | {row.sent} | {row.correct}/{row.n} | {verdict} |")
    return "\n".join(lines) + "\n"


def serve(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "omnieval.cli", "serve", "--port", "0", "--model", "probe-solver"],
        env=env,
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", process.stderr.readline())
        if found:
            return process, found.group(1)
    process.kill()
    raise RuntimeError("omnieval serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(root / "cache")
        solver = ModelSpec(alias="probe-solver", provider="probe-solver")
        cold, _ = timed_probe(solver, root / "cold")
        warm, rows = timed_probe(solver, root / "warm")
        print(f"probe-solver, cold (probe set generated): {cold:.2f} s")
        print(f"probe-solver, warm (media cached, new run directory): {warm:.2f} s")
        if not args.tables:
            return
        tables = [markdown("probe-solver (in process)", rows)]
        for name in ("random", "constant", "oracle"):
            _, found = timed_probe(ModelSpec(alias=name, provider=name), root / name)
            tables.append(markdown(f"{name} (in process)", found))
        process, url = serve(dict(os.environ), root)
        try:
            for k, (title, transport) in enumerate(TRANSPORTS.items()):
                spec = ModelSpec(
                    alias=f"served-{k}",
                    provider="openai",
                    init_args={
                        "base_url": f"{url}/v1",
                        "model": "probe-solver",
                        "inputs": ["text", "image", "audio", "video"],
                        "transport": transport,
                    },
                )
                seconds, found = timed_probe(spec, root / f"served-{k}")
                tables.append(markdown(f"probe-solver via serve, {title} ({seconds:.1f} s)", found))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        print()
        print("\n".join(tables))


if __name__ == "__main__":
    main()
