"""Throughput of `omnieval serve` with dynamic batching, against the ideal batched throughput.

The served model costs one fixed delay per batch whatever its size (a GPU forward pass, roughly),
so the best a server can do is `max_batch / delay` requests per second. The server runs in its
own process (`serve_main`, as `omnieval serve` runs it); `--clients` concurrent aiohttp clients on
127.0.0.1 send chat completions for `--seconds` after a warm-up, and the script prints the
achieved rate, the mean batch size, latency percentiles, and the rate as a share of the ideal
(target >= 90%). `--baseline` also measures the same model without batching (max_batch=1).

    python bench/bench_serve.py                      # ~25 s
    python bench/bench_serve.py --payload media      # each request also carries a PNG and a WAV
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import re
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from omnieval import registry
from omnieval.media import encode_png
from omnieval.models.base import Model, ModelCapabilities
from omnieval.types import Modality, Request, Response

PROMPT = "Which colour?\nA. red\nB. green\nC. blue\nD. grey"


@registry.models.register("bench-fixed-delay")
class FixedDelayBatch(Model):
    """Answers "A" to every request; each batch costs `delay_ms`, whatever its size."""

    name = "bench-fixed-delay"
    capabilities = ModelCapabilities(inputs=frozenset(Modality), max_concurrency=64)

    def __init__(self, delay_ms: float = 50.0) -> None:
        self.delay_s = delay_ms / 1000.0

    async def generate(self, request: Request) -> Response:
        return (await self.generate_batch([request]))[0]

    async def generate_batch(self, requests: list[Request]) -> list[Response]:
        await asyncio.sleep(self.delay_s)
        return [Response(text="A") for _ in requests]


# --------------------------------------------------------------------------- server process


def serve(args: argparse.Namespace) -> None:
    from omnieval.models.serve import serve_main

    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models.yaml"
        models.write_text(
            f"bench:\n  provider: bench-fixed-delay\n  init_args: {{delay_ms: {args.delay_ms}}}\n"
        )
        serve_main(
            "bench",
            port=0,
            models_file=models,
            max_batch=args.max_batch,
            max_wait_ms=args.max_wait_ms,
            log_level="warning",
        )


def start_server(args: argparse.Namespace, max_batch: int) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        __file__,
        "--serve",
        "--delay-ms",
        str(args.delay_ms),
        "--max-batch",
        str(max_batch),
        "--max-wait-ms",
        str(args.max_wait_ms),
    ]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError("the server exited before listening")
        found = re.search(r"on (http://127\.0\.0\.1:\d+);", line)
        if found:
            return proc, found.group(1)
    proc.kill()
    raise TimeoutError("the server did not start within 30 s")


# --------------------------------------------------------------------------- load


def payload(kind: str) -> dict[str, Any]:
    content: Any = PROMPT
    if kind == "media":
        image = np.zeros((224, 224, 3), np.uint8)
        image[:, :112] = (200, 30, 30)
        png = base64.b64encode(encode_png(image)).decode()
        buf = io.BytesIO()
        with wave.open(buf, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
            out.writeframes((tone * 32767).astype("<i2").tobytes())
        wav = base64.b64encode(buf.getvalue()).decode()
        content = [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
            {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}},
            {"type": "text", "text": PROMPT},
        ]
    return {"model": "bench", "messages": [{"role": "user", "content": content}], "max_tokens": 4}


async def drive(
    url: str, clients: int, warmup_s: float, seconds: float, kind: str
) -> dict[str, Any]:
    body = payload(kind)
    latencies: list[float] = []
    errors = 0
    done = 0
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for _ in range(100):  # wait for the model to load
            async with session.get(url + "/health") as reply:
                if reply.status == 200:
                    break
            await asyncio.sleep(0.1)
        start = time.perf_counter()
        measure_from = start + warmup_s
        stop_at = measure_from + seconds

        async def client() -> None:
            nonlocal errors, done
            while (now := time.perf_counter()) < stop_at:
                async with session.post(url + "/v1/chat/completions", json=body) as reply:
                    await reply.read()
                    ok = reply.status == 200
                end = time.perf_counter()
                if now >= measure_from:
                    if ok:
                        done += 1
                        latencies.append(end - now)
                    else:
                        errors += 1

        before = await stats(session, url)
        await asyncio.gather(*(client() for _ in range(clients)))
        after = await stats(session, url)
    batches = after["batches"] - before["batches"]
    served = after["requests"] - before["requests"]
    latencies.sort()
    return {
        "rate": done / seconds,
        "errors": errors,
        "mean_batch": served / batches if batches else 0.0,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
    }


async def stats(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url + "/stats") as reply:
        data: dict[str, Any] = await reply.json()
        return data


def measure(args: argparse.Namespace, max_batch: int) -> dict[str, Any]:
    proc, url = start_server(args, max_batch)
    try:
        return asyncio.run(
            asyncio.wait_for(
                drive(url, args.clients, args.warmup, args.seconds, args.payload),
                args.warmup + args.seconds + 60,
            )
        )
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay-ms", type=float, default=50.0, help="model cost per batch")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (<= 256)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time (<= 120)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--payload", choices=["text", "media"], default="text")
    parser.add_argument("--baseline", action="store_true", help="also measure max_batch=1")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    args.clients = min(max(args.clients, 1), 256)
    args.seconds = min(max(args.seconds, 1.0), 120.0)
    ideal = args.max_batch / (args.delay_ms / 1000.0)
    print(
        f"model: {args.delay_ms:g} ms per batch; max_batch={args.max_batch}, "
        f"max_wait_ms={args.max_wait_ms:g}; {args.clients} clients, {args.payload} payload, "
        f"{args.seconds:g} s measured"
    )
    rows = [("batched", args.max_batch)] + ([("max_batch=1", 1)] if args.baseline else [])
    print(
        f"{'server':<12} {'req/s':>8} {'ideal':>8} {'of ideal':>9} {'mean batch':>11} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
    )
    for label, max_batch in rows:
        result = measure(args, max_batch)
        target = max_batch / (args.delay_ms / 1000.0)
        print(
            f"{label:<12} {result['rate']:8.1f} {target:8.1f} {result['rate'] / target:9.1%} "
            f"{result['mean_batch']:11.2f} {result['p50_ms']:7.1f} {result['p99_ms']:7.1f} "
            f"{result['errors']:6d}"
        )
        if max_batch == args.max_batch:
            share = result["rate"] / ideal
            verdict = "meets" if share >= 0.9 else "MISSES"
            print(f"  -> {share:.1%} of the ideal batched throughput: {verdict} the >= 90% target")


if __name__ == "__main__":
    main()
