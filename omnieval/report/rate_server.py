"""`omnieval rate RUN --rater NAME`: rate samples 1-5 in the browser (VMEvalKit's human protocol).

A small aiohttp server on 127.0.0.1 serves the report's sample browser with a rating form:
`GET /` the page (the rater's rated trials marked, the unrated shown first), `GET /media/{i}`
the i-th media file the page references (only those), `POST /rate` one rating
`{"key", "rating": 1-5, "comment"}`, journaled at once as a judge trial
(`omnieval.runner.ratings`). Stopping and restarting resumes where the rater stopped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from omnieval.report.html.browser import browser_data, read_sample_rows
from omnieval.report.html.page import render_report
from omnieval.report.results import read_results
from omnieval.runner import rundir
from omnieval.runner.ratings import RatingError, check_rater, rated_keys, record_rating
from omnieval.types import Sample

MAX_COMMENT = 4000


class MediaRoutes:
    """Media files the page may load, each under `/media/<index>` (nothing else is served)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self._index: dict[Path, int] = {}

    def url(self, path: Path) -> str:
        resolved = path.resolve()
        if resolved not in self._index:
            self._index[resolved] = len(self.paths)
            self.paths.append(resolved)
        return f"/media/{self._index[resolved]}"


def build_app(
    run_dir: Path, rater: str, samples: Mapping[str, Mapping[str, Sample]]
) -> web.Application:
    check_rater(rater)
    results = read_results(run_dir / rundir.RESULTS)
    routes = MediaRoutes()
    rows = list(read_sample_rows(run_dir / rundir.SAMPLES))
    keys = {row["key"] for row in rows}
    browser = browser_data(rows, samples, run_dir.resolve(), routes.url)
    lock = asyncio.Lock()

    async def page(request: web.Request) -> web.Response:
        rating = {"rater": rater, "endpoint": "/rate", "rated": sorted(rated_keys(run_dir, rater))}
        text = render_report(
            results, browser, rating=rating, title=f"omnieval rate: {results.run} ({rater})"
        )
        return web.Response(text=text, content_type="text/html")

    async def media(request: web.Request) -> web.StreamResponse:
        try:
            path = routes.paths[int(request.match_info["index"])]
        except (ValueError, IndexError):
            raise web.HTTPNotFound(text="no such media") from None
        return web.FileResponse(path)

    async def rate(request: web.Request) -> web.Response:
        try:
            payload: Any = await request.json()
        except json.JSONDecodeError:
            raise web.HTTPBadRequest(text="the body must be JSON") from None
        if not isinstance(payload, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        key, value = payload.get("key"), payload.get("rating")
        comment = str(payload.get("comment") or "")
        if not isinstance(key, str) or key not in keys:
            raise web.HTTPBadRequest(text=f"unknown trial key {key!r}")
        if len(comment) > MAX_COMMENT:
            raise web.HTTPBadRequest(text=f"comment longer than {MAX_COMMENT} characters")
        if not isinstance(value, int) or isinstance(value, bool):
            raise web.HTTPBadRequest(text=f"rating must be an integer from 1 to 5, not {value!r}")
        async with lock:
            try:
                await asyncio.to_thread(record_rating, run_dir, rater, key, value, comment)
            except RatingError as err:
                raise web.HTTPBadRequest(text=str(err)) from None
        return web.json_response({"ok": True, "key": key})

    app = web.Application(client_max_size=64 * 1024)
    app.add_routes([web.get("/", page), web.get("/media/{index}", media), web.post("/rate", rate)])
    return app


async def serve_rating(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until `stop` is set (or forever); `ready(url)` is called once listening."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    if ready is not None:
        ready(f"http://{host}:{bound}")
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        await runner.cleanup()
