"""`omnieval fetch starbench` against a fake hub on 127.0.0.1 (tests/hub_fake.py) with the real
huggingface_hub client: pinned commit recorded with sha256s, a rerun resumes, licence printed."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from omnieval import registry
from omnieval.fetchers import FetchError, hub_fetcher

from .hub_fake import FakeHub, fetch_cli

pytest.importorskip("huggingface_hub")

COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "README.md": b"# STAR-Bench\n",
    "meta_info/foundation_perception.json": b"[]",
    "meta_info/holistic_reasoning_spatial.json": b"[]",
    "starbench_audios/holistic_reasoning/spatial/a.wav": bytes(range(256)) * 300,
}


def test_fetch_pins_records_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "STAR-Bench"
    with FakeHub("internlm/STAR-Bench", FILES, COMMIT) as hub:
        first = fetch_cli("starbench", out, hub, tmp_path)
        assert first.returncode == 0, first.stderr
        assert "CC-BY-NC-4.0" in first.stderr
        for path, data in FILES.items():
            assert (out / path).read_bytes() == data
        record = json.loads((out / "FETCHED.json").read_text())
        assert record["repo_id"] == "internlm/STAR-Bench" and record["repo_type"] == "dataset"
        assert record["requested"] == "main" and record["revision"] == COMMIT
        assert {f["path"]: f["sha256"] for f in record["files"]} == {
            p: hashlib.sha256(d).hexdigest() for p, d in FILES.items()
        }
        assert sorted(hub.downloads()) == sorted(FILES)

        # resume: one file lost; the rerun asks for the recorded commit and sends only that file
        (out / "meta_info/foundation_perception.json").unlink()
        hub.seen.clear()
        again = fetch_cli("starbench", out, hub, tmp_path)
        assert again.returncode == 0, again.stderr
        assert hub.downloads() == ["meta_info/foundation_perception.json"]
        assert not any(p.endswith("/revision/main") for _, p in hub.seen)
        assert json.loads((out / "FETCHED.json").read_text()) == record

        # a directory holds one revision: another one is refused
        other = fetch_cli("starbench", out, hub, tmp_path, "--revision", "f" * 40)
        assert other.returncode == 2 and "would mix revisions" in other.stderr

        # an unknown revision is a clear error, not a traceback
        fresh = fetch_cli("starbench", tmp_path / "fresh", hub, tmp_path, "--revision", "nope")
        assert fresh.returncode == 2 and "fetch starbench:" in fresh.stderr
        assert "Traceback" not in fresh.stderr


def test_a_missing_extra_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails as if absent
    with pytest.raises(FetchError, match=r"omnieval\[fetch\]"):
        registry.fetchers.get("starbench").fetch(tmp_path / "out")


def test_fetchers_are_a_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    mine = hub_fetcher("test-mine", "A test release.", "org/mine", licence="CC0")
    registry.fetchers.register("test-mine")(mine)
    assert {"starbench", "test-mine"} <= set(registry.fetchers.names())
    with FakeHub("org/mine", {"x.txt": b"x"}, COMMIT) as hub:
        record = mine.fetch(tmp_path / "mine", endpoint=hub.url)
    assert record["files"] == [
        {"path": "x.txt", "size": 1, "sha256": hashlib.sha256(b"x").hexdigest()}
    ]
