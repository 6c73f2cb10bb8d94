"""`omnieval fetch avibench` against a fake gated hub on 127.0.0.1 (tests/hub_fake.py) with the
real huggingface_hub client: the token comes from the environment (and is never printed or
recorded), the commit is pinned in FETCHED.json, a rerun resumes, the licence is printed, and
the fetched directory loads."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from omnieval.benchmarks.avibench.benchmark import AviBenchmark

from .avibench_fixture import DEFINITIONS, entries
from .hub_fake import FakeHub, fetch_cli

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
TOKEN = "hf_avibench_test_token_123"
FILES = {
    "README.md": b"# AVI-Bench\n",
    "definitions.py": DEFINITIONS.encode(),
    "levels/perception/AVM/data.json": json.dumps(entries()["AVM"]).encode(),
    "levels/perception/AVM/input/videos/0.mp4": bytes(range(256)) * 200,
}


class GatedHub(FakeHub):
    """The fake hub, answering 401 to requests without a bearer token (a gated dataset)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.tokens: list[str] = []

    async def _record(self, request: web.Request) -> None:
        await super()._record(request)
        auth = request.headers.get("Authorization", "")
        self.tokens.append(auth)
        if not auth.startswith("Bearer "):
            raise web.HTTPUnauthorized(text="gated dataset: log in and accept the terms")


def test_fetch_gated_release_pins_resumes_and_loads(tmp_path: Path) -> None:
    out = tmp_path / "AVIBench"
    hub = GatedHub("FudanCVL/AVIBench", FILES, COMMIT)
    with hub:
        refused = fetch_cli("avibench", out, hub, tmp_path, token=None)
        assert refused.returncode != 0 and not (out / "FETCHED.json").exists()

        first = fetch_cli("avibench", out, hub, tmp_path, token=TOKEN)
        assert first.returncode == 0, first.stderr
        assert "CC BY-ND 4.0" in first.stderr and "anti-training" in first.stderr
        assert all(t == f"Bearer {TOKEN}" for t in hub.tokens[-len(FILES) :])
        record_text = (out / "FETCHED.json").read_text()
        record = json.loads(record_text)
        assert record["repo_id"] == "FudanCVL/AVIBench" and record["revision"] == COMMIT
        assert TOKEN not in record_text and TOKEN not in first.stderr + first.stdout
        for path, data in FILES.items():
            assert (out / path).read_bytes() == data

        (out / "levels/perception/AVM/data.json").unlink()
        hub.seen.clear()
        again = fetch_cli("avibench", out, hub, tmp_path, token=TOKEN)
        assert again.returncode == 0, again.stderr
        assert hub.downloads() == ["levels/perception/AVM/data.json"]

    bench = AviBenchmark(out)  # the fetched layout loads as it is
    assert [t.name for t in bench.tasks()] == ["avibench/AVM"]
    assert len(bench.tasks()[0].samples()) == 2
