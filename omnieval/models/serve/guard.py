"""The ASGI middleware in front of every route of `omnieval serve`: browser origins, the bearer
token and the body size limit."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnieval.models.serve.responses import error_response


class BodyTooLarge(Exception):
    """The body passed the limit while it was being read."""


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def local_origin(origin: bytes) -> bool:
    """Whether a browser's `Origin` is a page on this machine (any other page, or `null`, may
    not drive the server: without this, a web page could make it read local files by file://
    URL with a "simple" cross-origin POST, which needs no CORS pre-flight)."""
    host = urlsplit(origin.decode("latin-1")).hostname
    return host is not None and host in _LOCAL_HOSTS


#: after a refusal, read and discard what the client still sends for this long (or this much)
LINGER_S = 2.0
LINGER_BYTES = 64 * 1024 * 1024


async def linger(receive: Receive) -> None:
    """Drain the rest of a refused upload until the client stops (it has the answer, or it
    hangs up), for at most `LINGER_S` seconds and `LINGER_BYTES` bytes: a lingering close."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINGER_S
    drained = 0
    while drained < LINGER_BYTES:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), remaining)
        except TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


class RequestGuard:
    """ASGI middleware: bearer-token check, then the body size limit, enforced while reading.

    A declared `Content-Length` over the limit is refused before any of the body is read; a body
    without one (chunked) is counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, api_key: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin")
        if origin is not None and not local_origin(origin):
            response = error_response(
                path,
                403,
                f"cross-origin browser requests are refused (Origin {origin.decode('latin-1')!r});"
                " call this server from a program, not from a web page",
                type="permission_error",
                code="foreign_origin",
            )
            await response(scope, receive, send)
            return
        if self.api_key is not None and path != "/health" and not self._authorized(headers):
            response = error_response(
                path,
                401,
                "missing or incorrect API key: send the header "
                "'Authorization: Bearer <key>' with the key this server was "
                "started with",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, path, f"{int(declared):,} bytes")
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send, path, f"more than {limit:,} bytes")

    def _authorized(self, headers: Mapping[bytes, bytes]) -> bool:
        assert self.api_key is not None
        value = headers.get(b"authorization", b"")
        scheme, _, token = value.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.api_key)

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, path: str, size: str
    ) -> None:
        limit_mb = self.max_body_bytes / (1024 * 1024)
        response = error_response(
            path,
            413,
            f"request body too large: {size}, the limit is {self.max_body_bytes:,} bytes "
            f"({limit_mb:g} MB); send smaller media (lower resolution or a shorter clip), or "
            "start the server with a larger --max-body-mb",
            code="request_too_large",
            headers={"Connection": "close"},
        )
        # The whole refusal is sent first; the connection closes only after a short lingering
        # drain. Closing a socket that still holds unread upload bytes makes the kernel send a
        # reset, which can destroy the refusal in flight: the client would see "connection
        # reset" instead of this message.
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body, "more_body": True})
        await linger(receive)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
