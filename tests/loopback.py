"""A small OpenAI-compatible server on 127.0.0.1 for tests and benchmarks (aiohttp.web).

It answers `POST /v1/chat/completions` with a fixed text after an optional delay, and can answer
a share of requests with 429 (+ Retry-After), 500, a stall longer than the client's timeout, or
a connection reset (TCP RST, no answer at all);
with `hold_from`, requests from that index on are held until `release()` (`wait_held(n)` blocks
until n are held: a test can act while requests are provably in flight).
It records every chat body it receives (and the Authorization header), serves `GET /v1/models`
and `GET /health`, and reports its counters at `GET /stats`.

In a test (server in a background thread; `kill()` drops the listening socket and every open
connection at once, `restart()` listens on the same port again):

    with LoopbackServer(LoopbackConfig(share_429=0.2)) as server:
        model = OpenAIChat(model="m", base_url=server.url)

As a separate process (benchmarks): `python tests/loopback.py --port 0 --delay 0.1` prints
`READY <port>` on stdout once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"


@dataclass
class LoopbackConfig:
    """How the server answers. Shares are probabilities per chat request (drawn with `seed`);
    `script` lists the outcomes of the first requests ("ok", "429", "500", "stall", "400",
    "reset")."""

    reply: str = "A"
    delay_s: float = 0.0
    share_429: float = 0.0
    retry_after: str = "1"
    share_500: float = 0.0
    share_stall: float = 0.0
    stall_s: float = 2.0
    share_reset: float = 0.0
    seed: int = 0
    script: list[str] = field(default_factory=list)
    record: bool = True
    hold_from: int | None = None  # chat requests from this index on wait for `release()`


class LoopbackApp:
    """The request handlers and what they saw (thread-safe counters and records)."""

    def __init__(self, config: LoopbackConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.lock = threading.Lock()
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.body_sizes: list[int] = []  # bytes of each recorded chat body (usage is size // 4)
        self.outcomes: dict[str, int] = {}
        self.chat_requests = 0
        self.probes = 0
        self.held = 0  # chat requests waiting for release() right now
        self._held_changed = threading.Condition(self.lock)
        self._released = threading.Event()

    def wait_held(self, n: int, timeout: float = 30.0) -> bool:
        """Block until at least `n` chat requests are held (see `hold_from`); False on timeout."""
        with self._held_changed:
            return self._held_changed.wait_for(lambda: self.held >= n, timeout)

    def release(self) -> None:
        """Let held requests (and every later one) through."""
        self._released.set()

    async def _hold(self) -> None:
        with self._held_changed:
            self.held += 1
            self._held_changed.notify_all()
        try:
            while not self._released.is_set():
                await asyncio.sleep(0.005)
        finally:
            with self._held_changed:
                self.held -= 1

    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/health", self.health)
        app.router.add_get("/stats", self.stats)
        return app

    def _draw(self) -> tuple[int, str]:
        with self.lock:
            index = self.chat_requests
            self.chat_requests += 1
            if index < len(self.config.script):
                outcome = self.config.script[index]
            else:
                x = self.rng.random()
                c = self.config
                if x < c.share_429:
                    outcome = "429"
                elif x < c.share_429 + c.share_500:
                    outcome = "500"
                elif x < c.share_429 + c.share_500 + c.share_stall:
                    outcome = "stall"
                elif x < c.share_429 + c.share_500 + c.share_stall + c.share_reset:
                    outcome = "reset"
                else:
                    outcome = "ok"
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        return index, outcome

    async def chat(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.config.record:
            body = json.loads(raw)
            with self.lock:
                self.bodies.append(body)
                self.body_sizes.append(len(raw))
                self.auth.append(request.headers.get("Authorization"))
        index, outcome = self._draw()
        hold_from = self.config.hold_from
        if hold_from is not None and index >= hold_from and not self._released.is_set():
            await self._hold()
        if outcome == "reset":
            _reset(request)
            return web.Response(status=500)  # never reaches the client: the socket is gone
        if outcome == "429":
            return web.json_response(
                {"error": {"message": "rate limited, slow down", "type": "rate_limit"}},
                status=429,
                headers={"Retry-After": self.config.retry_after},
            )
        if outcome == "500":
            return web.json_response(
                {"error": {"message": "internal error", "type": "server_error"}}, status=500
            )
        if outcome == "400":
            key = request.headers.get("Authorization", "")
            return web.json_response(
                {"error": {"message": f"bad request (you sent {key})", "type": "invalid"}},
                status=400,
            )
        if outcome == "stall":
            await asyncio.sleep(self.config.stall_s)
        elif self.config.delay_s > 0:
            await asyncio.sleep(self.config.delay_s)
        return web.json_response(
            {
                "id": "chatcmpl-loopback",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "loopback",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.config.reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": len(raw) // 4, "completion_tokens": 1},
            }
        )

    async def models(self, request: web.Request) -> web.Response:
        with self.lock:
            self.probes += 1
        return web.json_response({"object": "list", "data": [{"id": "loopback"}]})

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def stats(self, request: web.Request) -> web.Response:
        with self.lock:
            data = {"chat_requests": self.chat_requests, "outcomes": dict(self.outcomes)}
        return web.json_response(data)


def _reset(request: web.Request) -> None:
    """Drop the request's connection with a TCP RST (SO_LINGER 0), as a crashed proxy would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


class LoopbackServer(LoopbackApp):
    """The server in a background thread with its own event loop."""

    def __init__(self, config: LoopbackConfig | None = None, port: int = 0) -> None:
        super().__init__(config or LoopbackConfig())
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._site: web.SockSite | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def _call(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> LoopbackServer:
        self._thread.start()
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.2)
        self._call(self._runner.setup())
        self._call(self._open_site())
        return self

    async def _open_site(self) -> None:
        assert self._runner is not None
        sock = _listen(self.port)
        self.port = sock.getsockname()[1]
        self._site = web.SockSite(self._runner, sock)
        await self._site.start()

    async def _kill(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None
        assert self._runner is not None and self._runner.server is not None
        for handler in list(self._runner.server.connections):
            transport = handler.transport
            handler.force_close()
            if transport is not None:
                transport.abort()

    def kill(self) -> None:
        """Stop listening and drop every connection now (as a crashed server would)."""
        self._call(self._kill())

    def restart(self) -> None:
        """Listen again on the same port."""
        self._call(self._open_site())

    def stop(self) -> None:
        if self._runner is not None:
            self._call(self._kill())
            self._call(self._runner.cleanup())
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--reply", default="A")
    parser.add_argument("--record", action="store_true", help="keep every request body")
    args = parser.parse_args(argv)
    app = LoopbackApp(LoopbackConfig(reply=args.reply, delay_s=args.delay, record=args.record))
    sock = _listen(args.port)
    print(f"READY {sock.getsockname()[1]}", flush=True)
    web.run_app(app.app(), sock=sock, access_log=None, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
