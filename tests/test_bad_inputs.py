"""The bad-input catalogue (tests/bad_input_cases.py): every (loader, case) pair runs through
`api.evaluate` with the `random` model (vmeval: `still`) and ends as its table says: refused at
load with an error naming the file, the item and the fix; or that sample's trial journaled failed
naming the file while the other samples run; or skipped with a warning naming the directory and
the missing file; or a normal run (`n/a` cells, which the layout cannot express, are not run).
Plus `omnieval serve`'s cases, among them a 2 GB upload streamed lazily (never allocated), and
the check that docs/reliability.md shows the table generated from these cases."""

from __future__ import annotations

import base64
import http.client
import logging
import re
import select
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image

from omnieval import api
from omnieval.benchmarks.base import DatasetError
from omnieval.models.reference import RandomChoice
from omnieval.models.serve import BackgroundServer
from omnieval.models.serve.app import ServeOptions, create_app
from tests.bad_input_cases import (
    BAD,
    CASES,
    EXPECTED,
    LOADERS,
    Media,
    render_table,
    write_dataset,
)
from tests.mediagen import write_garbage, write_test_audio, write_test_video

DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
PAIRS = [
    (loader, case)
    for loader, cases in EXPECTED.items()
    for case, outcome in cases.items()
    if outcome != "n/a"  # the layout cannot express the case (see its column)
]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    root = tmp_path_factory.mktemp("bad-input-media")
    return Media(
        video=write_test_video(root / "video.mp4", 2.5, fps=5.0, size=(32, 24)),
        audio=write_test_audio(root / "audio.wav", 2.5),
        silent_video=write_test_video(
            root / "silent.mp4", 2.5, fps=5.0, size=(32, 24), audio_hz=None
        ),
        image=_write_jpeg(root / "frame.jpg"),
    )


def _write_jpeg(path: Path) -> Path:
    pixels = np.zeros((24, 32, 3), dtype=np.uint8)
    pixels[:, 16:] = (200, 40, 40)
    Image.fromarray(pixels).save(path, quality=90)
    return path


def _evaluate(tmp_path: Path, spec: dict[str, object], model: str) -> api.RunOutcome:
    return api.evaluate(
        {
            "name": "bad",
            "output": str(tmp_path / "runs"),
            "benchmarks": [spec],
            "models": [model],
            "progress": False,
        }
    )


def _journal_rows(run_dir: Path) -> int:
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])


@pytest.mark.parametrize(("loader", "case"), PAIRS, ids=[f"{lo}:{c}" for lo, c in PAIRS])
def test_bad_input(
    tmp_path: Path, media: Media, loader: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = LOADERS[loader]
    expected = EXPECTED[loader][case]
    draft, values = write_dataset(tmp_path / "data set", adapter, media, CASES[case])
    mention = adapter.mentions.get(case, CASES[case].mention)
    mentions = [m.format(**values) for m in mention]
    if expected == "refused":
        with pytest.raises(DatasetError) as raised:
            _evaluate(tmp_path, adapter.spec(draft), adapter.model)
        message = str(raised.value)
        assert all(m in message for m in mentions), (mentions, message)
        return
    caplog.set_level(logging.WARNING)
    outcome = _evaluate(tmp_path, adapter.spec(draft), adapter.model)
    keys = [r.trial.key for r in outcome.records]
    assert len(keys) == len(set(keys)) == _journal_rows(outcome.run_dir)
    samples = {r.trial.sample_id for r in outcome.records}
    if expected == "skipped":
        assert samples and values["sample"] not in samples and len(samples) == 2, samples
        assert all(not r.response.failed for r in outcome.records), "the other samples must run"
        warned = caplog.text
        assert all(m in warned for m in mentions), (mentions, warned)
        return
    assert len(samples) == 3, samples
    bad = [r for r in outcome.records if r.trial.sample_id == values["sample"]]
    others = [r for r in outcome.records if r.trial.sample_id != values["sample"]]
    assert others and all(not r.response.failed for r in others), "the other samples must run"
    if expected == "ok":
        assert bad and all(not r.response.failed for r in bad)
        return
    assert bad and all(r.response.failed for r in bad)
    for record in bad:
        error = record.response.error or ""
        assert all(m in error for m in mentions), (mentions, error)
        assert "rerun" in error  # says what to do


def test_every_loader_has_a_row_for_every_case() -> None:
    assert set(EXPECTED) == set(LOADERS)
    for loader, cases in EXPECTED.items():
        assert set(cases) == set(CASES), loader
    assert BAD == 1


def test_reliability_page_shows_the_generated_table() -> None:
    page = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- catalogue:start -->\n(.*?)<!-- catalogue:end -->", page, flags=re.S)
    assert match, "docs/reliability.md lacks the catalogue markers"
    assert match.group(1) == render_table(), (
        "docs/reliability.md is out of date: run `python -m tests.bad_input_cases` and paste "
        "its output between the catalogue markers"
    )


# --------------------------------------------------------------------------- serve

TWO_GB = 2 * 1024**3
CHUNK = b"\0" * (1024 * 1024)  # the only buffer the uploads below ever allocate


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    options = ServeOptions(alias="rnd", max_body_bytes=8 * 1024 * 1024)
    with BackgroundServer(create_app(RandomChoice(), options)) as running:
        yield running


def _stream_upload(url: str, path: str, headers: dict[str, str]) -> tuple[int, str, int]:
    """Send up to 2 GiB lazily (1 MiB at a time) until the server answers; returns its status,
    body and the number of body bytes sent."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    sock.sendall(head.encode() + b"\r\n")
    chunked = headers.get("Transfer-Encoding") == "chunked"
    sent = 0
    try:
        while sent < TWO_GB:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break  # the server answered (a refusal) before the body was complete
            piece = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK
            sock.sendall(piece)
            sent += len(CHUNK)
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed on us after the refusal
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read().decode()
    sock.close()
    return response.status, body, sent


def test_a_declared_2gb_upload_is_refused_before_reading(server: BackgroundServer) -> None:
    status, body, sent = _stream_upload(
        server.url,
        "/v1/chat/completions",
        {"Content-Type": "application/json", "Content-Length": str(TWO_GB)},
    )
    assert status == 413 and "request body too large" in body and "--max-body-mb" in body
    assert sent < 64 * 1024 * 1024, f"the client got to send {sent} bytes"


def test_a_streamed_2gb_upload_is_refused_at_the_limit(server: BackgroundServer) -> None:
    status, body, sent = _stream_upload(
        server.url,
        "/v1/chat/completions",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert status == 413 and "more than 8,388,608 bytes" in body
    assert sent < 256 * 1024 * 1024, f"the client got to send {sent} bytes"


def test_a_2gb_multipart_upload_to_analyze_is_refused(server: BackgroundServer) -> None:
    status, body, sent = _stream_upload(
        server.url,
        "/analyze",
        {"Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": str(TWO_GB)},
    )
    assert status == 413 and "too large" in body
    assert sent < 64 * 1024 * 1024


def test_every_refusal_of_an_oversized_upload_reaches_the_client(
    server: BackgroundServer,
) -> None:
    """The refusal is not lost to a connection reset: closing a socket that still holds unread
    upload bytes makes the kernel send a reset, which can destroy the 413 in flight (3 of 600
    uploads here before the server drained what the client still sent). 400 uploads, ~3 s."""
    lost = []
    for attempt in range(200):
        for headers in (
            {"Content-Type": "application/json", "Content-Length": str(TWO_GB)},
            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        ):
            try:
                status, _, _ = _stream_upload(server.url, "/v1/chat/completions", headers)
            except ConnectionError as err:
                lost.append(f"{attempt}: {type(err).__name__}")
                continue
            if status != 413:
                lost.append(f"{attempt}: status {status}")
    assert not lost, lost


def test_serve_refuses_malformed_corrupt_remote_and_outside_media(
    server: BackgroundServer, tmp_path: Path
) -> None:
    url = server.url + "/v1/chat/completions"
    malformed = requests.post(
        url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=30
    )
    assert malformed.status_code == 400 and "JSON" in malformed.text

    noise = base64.b64encode(write_garbage(tmp_path / "noise.mp4").read_bytes()).decode()

    def ask(part: dict[str, object]) -> requests.Response:
        content = [part, {"type": "text", "text": "Which? A. x B. y"}]
        body: dict[str, Any] = {"model": "rnd", "messages": [{"role": "user", "content": content}]}
        return requests.post(url, json=body, timeout=30)

    corrupt = ask({"type": "video_url", "video_url": {"url": f"data:video/mp4;base64,{noise}"}})
    assert corrupt.status_code == 400 and "messages[0].content[0]" in corrupt.text
    remote = ask({"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}})
    assert remote.status_code == 400 and "not fetched" in remote.text
    local = ask({"type": "image_url", "image_url": {"url": "file:///etc/passwd"}})
    assert local.status_code == 403 and "file:// URLs are disabled" in local.text
