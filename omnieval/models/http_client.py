"""A lean async HTTP client for JSON APIs: one shared aiohttp session with keep-alive pooling.

Measured on this project's machines (docs/performance.md, "openai client throughput"): the
openai SDK's default async client and httpx's AsyncClient spend most of a request's CPU in
their own pool and transport layers; a plain aiohttp session with a keep-alive connector and
stdlib `json` is several times cheaper per request. This module is that session and nothing
more: it sends bytes, returns status + headers + bytes, and turns transport failures into one
exception type. What a status *means* (retry, give up) is the provider's business.

The session is created lazily inside the running event loop (an aiohttp session is bound to its
loop); a client used from a second loop (a later `asyncio.run`) opens a fresh session there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

_JSON_HEADERS = {"Content-Type": "application/json"}

FailureKind = Literal["connect", "disconnect", "timeout"]


class HttpFailure(Exception):
    """No HTTP reply: the connection was refused or dropped, or the reply took too long."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_s: float


class HttpClient:
    """POST/GET with a pooled keep-alive session.

    `limit` caps open connections (0: no cap); `timeout_s` bounds a whole request (connect,
    send, wait, read); `headers` are sent with every request (e.g. Authorization).
    """

    def __init__(
        self,
        limit: int = 100,
        timeout_s: float = 120.0,
        headers: Mapping[str, str] | None = None,
        connect_timeout_s: float | None = 10.0,
    ) -> None:
        self.limit = limit
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _current_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None or session.closed or self._loop is not loop:
            connect = self.connect_timeout_s
            if connect is not None:
                connect = min(connect, self.timeout_s)
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.limit, limit_per_host=0, ttl_dns_cache=300
                ),
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s, sock_connect=connect),
                raise_for_status=False,
                skip_auto_headers=("User-Agent",),
            )
            self._session, self._loop = session, loop
        return session

    async def post_json(self, url: str, body: bytes) -> HttpReply:
        """POST `body` (JSON bytes) to `url`."""
        return await self._request("POST", url, body, None)

    async def get(self, url: str, timeout_s: float | None = None) -> HttpReply:
        return await self._request("GET", url, None, timeout_s)

    async def _request(
        self, method: str, url: str, body: bytes | None, timeout_s: float | None
    ) -> HttpReply:
        session = self._current_session()
        options: dict[str, Any] = {}
        if timeout_s is not None:
            options["timeout"] = aiohttp.ClientTimeout(total=timeout_s)
        if body is not None:
            options["data"] = body
            options["headers"] = _JSON_HEADERS
        started = time.perf_counter()
        try:
            async with session.request(method, url, **options) as resp:
                raw = await resp.read()
                return HttpReply(resp.status, resp.headers, raw, time.perf_counter() - started)
        except asyncio.TimeoutError:
            limit = timeout_s if timeout_s is not None else self.timeout_s
            raise HttpFailure("timeout", f"no reply within {limit:g} s") from None
        except aiohttp.ClientConnectorError as err:
            raise HttpFailure("connect", f"cannot connect: {err.os_error or err}") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as err:
            raise HttpFailure(
                "disconnect", f"connection dropped: {err or type(err).__name__}"
            ) from None
        except aiohttp.ClientOSError as err:
            raise HttpFailure("disconnect", f"connection error: {err}") from None
        except aiohttp.ClientResponseError as err:  # malformed reply (bad status line ...)
            raise HttpFailure("disconnect", f"bad reply: {err.message}") from None
        except aiohttp.ClientConnectionError as err:
            raise HttpFailure("connect", f"connection error: {err or type(err).__name__}") from None

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is None or session.closed:
            return
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            # Bound to a loop that has finished: its sockets went with it.
            return
        await session.close()
