"""Throughput of the `openai` provider's HTTP client against a loopback server.

    python bench/bench_openai_client.py [--requests 3000] [--concurrency 64] [--delay 0.1]

Starts `tests/loopback.py` in a separate process (aiohttp.web, answers every chat request after
a fixed delay), then measures, in one run:

1. the server alone under `wrk` (POST of the very body the client sends, same connection count),
   to show the server is not the limit;
2. the provider (`OpenAIChat.generate`, with its endpoint pool and adaptive limit) sending small
   image + text requests at the given concurrency: requests/s against the ideal
   concurrency / delay, and the client's CPU time per request (`time.process_time()`);
3. for comparison, the openai SDK's default `AsyncOpenAI` client on the same requests (skip
   with `--no-sdk`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omnieval.media import encode_png  # noqa: E402
from omnieval.models.openai_provider import OpenAIChat  # noqa: E402
from omnieval.types import ImagePart, Request, TextPart  # noqa: E402


def start_server(delay: float) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "loopback.py"), "--port", "0", "--delay", str(delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.match(r"READY (\d+)", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"loopback server did not start: {line!r}")
    return proc, int(match.group(1))


def small_request(i: int) -> Request:
    rng = np.random.default_rng(i % 16)
    image = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    text = f"Question {i}: what colour dominates the picture? A. red B. green C. blue"
    return Request(parts=(ImagePart(data=encode_png(image)), TextPart(text=text)))


def run_wrk(url: str, body: bytes, connections: int, seconds: int) -> float | None:
    if shutil.which("wrk") is None:
        print("wrk not found (apt-get install -y wrk); skipping the server-alone figure")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        body_path = Path(tmp) / "body.json"
        body_path.write_bytes(body)
        script = Path(tmp) / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'local f = io.open("{body_path}", "rb")\n'
            "wrk.body = f:read('*a')\n"
            "f:close()\n"
        )
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"wrk saw {errors.group(1)} error replies")
    return float(match.group(1)) if match else None


async def drive(call: Any, requests: list[Request], concurrency: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, failures) for sending every request with `concurrency`
    workers."""
    queue = iter(requests)
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for request in queue:
            try:
                await call(request)
            except Exception:
                failures += 1

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - wall0, time.process_time() - cpu0, failures


async def bench_provider(url: str, requests: list[Request], concurrency: int) -> dict[str, Any]:
    model = OpenAIChat(model="loopback", base_url=url, max_concurrency=concurrency, timeout_s=30)
    await drive(model.generate, requests[: concurrency * 2], concurrency)  # warm up
    wall, cpu, failures = await drive(model.generate, requests, concurrency)
    await model.close()
    return {"wall": wall, "cpu": cpu, "failures": failures}


async def bench_sdk(url: str, requests: list[Request], concurrency: int) -> dict[str, Any]:
    import openai

    helper = OpenAIChat(model="loopback", base_url=url)
    client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)

    async def call(request: Request) -> None:
        content = helper.preparer.prepare(request).parts
        await client.chat.completions.create(
            model="loopback",
            messages=[{"role": "user", "content": content}],  # type: ignore[list-item, misc]
            temperature=0.0,
            max_tokens=16,
        )

    await drive(call, requests[: concurrency * 2], concurrency)
    wall, cpu, failures = await drive(call, requests, concurrency)
    await client.close()
    await helper.close()
    return {"wall": wall, "cpu": cpu, "failures": failures}


def client_row(name: str, timed: dict[str, Any], n: int) -> tuple[str, float, float | None, int]:
    """A table row of a client's run of `n` requests: req/s, CPU seconds per request, failures."""
    return (name, n / timed["wall"], timed["cpu"] / n, int(timed["failures"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--wrk-seconds", type=int, default=5)
    parser.add_argument("--no-sdk", action="store_true")
    args = parser.parse_args()

    ideal = args.concurrency / args.delay
    proc, port = start_server(args.delay)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        requests = [small_request(i) for i in range(args.requests)]
        probe = OpenAIChat(model="loopback", base_url=url)
        body = probe.build_body(requests[0], probe.preparer.prepare(requests[0]))
        print(f"server: tests/loopback.py (aiohttp.web), {args.delay * 1000:.0f} ms per answer;")
        print(f"request body {len(body)} bytes (32x32 PNG as a data URL + text)")
        print(f"ideal at concurrency {args.concurrency}: {ideal:.0f} req/s\n")

        server_rps = run_wrk(f"{url}/chat/completions", body, args.concurrency, args.wrk_seconds)
        rows: list[tuple[str, float, float | None, int]] = []
        if server_rps is not None:
            rows.append(("server alone (wrk)", server_rps, None, 0))
        ours = asyncio.run(bench_provider(url, requests, args.concurrency))
        rows.append(client_row("omnieval openai provider (aiohttp)", ours, args.requests))
        if not args.no_sdk:
            sdk = asyncio.run(bench_sdk(url, requests, args.concurrency))
            rows.append(client_row("openai SDK AsyncOpenAI (default httpx)", sdk, args.requests))
    finally:
        proc.terminate()
        proc.wait(10)

    print(f"{'client':40s} {'req/s':>8s} {'% ideal':>8s} {'CPU ms/req':>11s} {'failed':>7s}")
    for name, rps, cpu, failed in rows:
        cpu_text = f"{cpu * 1000:.3f}" if cpu is not None else "-"
        print(f"{name:40s} {rps:8.0f} {100 * rps / ideal:7.0f}% {cpu_text:>11s} {failed:7d}")
    provider_rps = rows[1 if server_rps is not None else 0][1]
    verdict = "met" if provider_rps >= 0.6 * ideal else "NOT met"
    print(f"\ntarget: provider >= 60% of ideal ({0.6 * ideal:.0f} req/s): {verdict}")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
