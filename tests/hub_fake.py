"""A fake Hugging Face Hub on 127.0.0.1 for tests: the subset of the hub's file API that
`huggingface_hub.snapshot_download` uses for a dataset repository.

- `GET /api/datasets/{org}/{name}/revision/{rev}`: repo info (`sha`, `siblings`);
- `GET /api/datasets/{org}/{name}/tree/{rev}[/{path}]`: the file listing (recursive);
- `HEAD` / `GET /datasets/{org}/{name}/resolve/{rev}/{path}`: file metadata (`X-Repo-Commit`,
  `ETag`, `Content-Length`) and the bytes (with `Range` for resumed downloads).

Revisions known: the commit hash and the branch `main`. Every request is recorded in `seen`
(method, path) so a test can check what a rerun asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"


class FakeHub:
    def __init__(self, repo_id: str, files: dict[str, bytes], commit: str) -> None:
        self.repo_id = repo_id
        self.files = files
        self.commit = commit
        self.seen: list[tuple[str, str]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def downloads(self) -> list[str]:
        """The file paths whose bytes were sent (GET on resolve)."""
        prefix = f"/datasets/{self.repo_id}/resolve/"
        return [
            p[len(prefix) :].split("/", 1)[1]
            for m, p in self.seen
            if m == "GET" and p.startswith(prefix)
        ]

    def _known(self, rev: str) -> bool:
        return rev in (self.commit, "main")

    def _oid(self, path: str) -> str:
        data = self.files[path]
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    async def _record(self, request: web.Request) -> None:
        self.seen.append((request.method, request.path))

    async def info(self, request: web.Request) -> web.Response:
        await self._record(request)
        if not self._known(request.match_info["rev"]):
            return _not_found("RevisionNotFound")
        siblings = [{"rfilename": p} for p in sorted(self.files)]
        return web.json_response(
            {"id": self.repo_id, "sha": self.commit, "private": False, "siblings": siblings}
        )

    async def tree(self, request: web.Request) -> web.Response:
        await self._record(request)
        if not self._known(request.match_info["rev"]):
            return _not_found("RevisionNotFound")
        under = request.match_info.get("path", "").strip("/")
        entries: list[dict[str, Any]] = []
        for path in sorted(self.files):
            if under and not path.startswith(under + "/"):
                continue
            data = self.files[path]
            entries.append(
                {"type": "file", "oid": self._oid(path), "size": len(data), "path": path}
            )
        return web.json_response(entries)

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        rev, path = request.match_info["rev"], request.match_info["path"]
        if not self._known(rev):
            return _not_found("RevisionNotFound")
        if path not in self.files:
            return _not_found("EntryNotFound")
        data = self.files[path]
        headers = {
            "X-Repo-Commit": self.commit,
            "ETag": f'"{self._oid(path)}"',
            "Accept-Ranges": "bytes",
        }
        start = 0
        ranged = request.headers.get("Range", "")
        if ranged.startswith("bytes="):
            start = int(ranged[6:].split("-", 1)[0] or 0)
        body = data[start:]
        headers["Content-Length"] = str(len(body) if request.method == "GET" else len(data))
        status = 206 if start and request.method == "GET" else 200
        if request.method == "HEAD":
            return web.Response(status=200, headers=headers)
        return web.Response(status=status, body=body, headers=headers)

    def app(self) -> web.Application:
        app = web.Application()
        base = "/{org}/{name}"
        app.router.add_get(f"/api/datasets{base}/revision/{{rev}}", self.info)
        app.router.add_get(f"/api/datasets{base}/tree/{{rev}}", self.tree)
        app.router.add_get(f"/api/datasets{base}/tree/{{rev}}/{{path:.*}}", self.tree)
        app.router.add_route("HEAD", f"/datasets{base}/resolve/{{rev}}/{{path:.*}}", self.resolve)
        app.router.add_get(
            f"/datasets{base}/resolve/{{rev}}/{{path:.*}}", self.resolve, allow_head=False
        )
        return app

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _open(self) -> None:
        assert self._runner is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    def __enter__(self) -> FakeHub:
        self._thread.start()
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.2)
        self._call(self._runner.setup())
        self._call(self._open())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            self._call(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def _not_found(code: str) -> web.Response:
    return web.json_response({"error": code}, status=404, headers={"X-Error-Code": code})


def fetch_cli(
    benchmark: str, out: Path, hub: FakeHub, tmp: Path, *extra: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`omnieval fetch BENCHMARK --out OUT` in a subprocess against `hub`, its caches under `tmp`,
    with `HF_TOKEN` set to `token` if given."""
    # other tests' offline switches (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE) must not reach it
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and "OFFLINE" not in k}
    env.update(
        HF_ENDPOINT=hub.url,
        HF_HOME=str(tmp / "hf-home"),
        XDG_CACHE_HOME=str(tmp / "xdg"),
        HF_HUB_DISABLE_TELEMETRY="1",
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    if token is not None:
        env["HF_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "omnieval.cli", "fetch", benchmark, "--out", str(out), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
