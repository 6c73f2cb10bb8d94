"""Claims of docs/security.md that no other test backs: what `omnieval serve` binds and reads by
default, that its key never reaches its output, that a browser page cannot drive it, and that a
dataset naming a URL makes omnieval fetch nothing."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from omnieval import api
from omnieval.models.reference import RandomChoice
from omnieval.models.serve import BackgroundServer
from omnieval.models.serve.app import ServeOptions, create_app
from tests.loopback import LoopbackServer
from tests.mediagen import write_test_audio

KEY = "sk-serve-7d1e0c9b8a"
PROMPT = {"type": "text", "text": "Which one?\nA. red\nB. green"}


@contextmanager
def _serve(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[str]:
    """`omnieval serve` as a subprocess with stderr in `log`; yields its printed base URL."""
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "omnieval.cli", "serve", "--port", "0", *args],
            env=env,
            cwd=cwd,
            stdout=err,
            stderr=err,
        )
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"on (http://[^\s]+:\d+)", log.read_text())
            url = found.group(1) if found else None
            time.sleep(0.05)
        assert url, log.read_text()
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _ask(url: str, media: Path, headers: dict[str, str] | None = None) -> requests.Response:
    part = {"type": "audio_url", "audio_url": {"url": media.as_uri()}}
    body: dict[str, Any] = {"messages": [{"role": "user", "content": [part, PROMPT]}]}
    return requests.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def test_serve_binds_loopback_keeps_its_key_out_of_output_and_obeys_local_media(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    inside = write_test_audio(allowed / "in.wav", 0.5)
    outside = write_test_audio(tmp_path / "out.wav", 0.5)
    env = {**subprocess_env, "OMNIEVAL_API_KEY": KEY}
    log = tmp_path / "serve.log"
    args = ["--model", "random", "--local-media", str(allowed), "--log-level", "debug"]
    with _serve(args, env, tmp_path, log) as url:
        assert url.startswith("http://127.0.0.1:"), url  # no --host: loopback only
        auth = {"Authorization": f"Bearer {KEY}"}
        assert _ask(url, inside).status_code == 401  # no key, no answer
        answered = _ask(url, inside, auth)
        assert answered.status_code == 200, answered.text
        refused = _ask(url, outside, auth)
        assert refused.status_code == 403 and "outside the directories" in refused.text
        wrong = _ask(url, inside, {"Authorization": "Bearer guess"})
        assert wrong.status_code == 401 and KEY not in wrong.text
    assert KEY not in log.read_text()


def test_a_browser_page_cannot_drive_the_server() -> None:
    """A cross-origin page can send "simple" requests (text/plain, no Authorization) without a
    CORS pre-flight. Even without a key they are refused when their Origin is not this machine,
    and no CORS header ever lets a page read a reply."""
    body = '{"messages": [{"role": "user", "content": "Which one?\\nA. red\\nB. green"}]}'
    with BackgroundServer(create_app(RandomChoice(), ServeOptions(alias="r"))) as server:

        def post(origin: str | None) -> requests.Response:
            headers = {"Content-Type": "text/plain"}
            if origin is not None:
                headers["Origin"] = origin
            url = f"{server.url}/v1/chat/completions"
            return requests.post(url, data=body, headers=headers, timeout=30)

        for foreign in ("https://evil.example", "null", "http://127.0.0.1.evil.example"):
            refused = post(foreign)
            assert refused.status_code == 403 and "cross-origin" in refused.text, foreign
            assert "access-control-allow-origin" not in {k.lower() for k in refused.headers}
        assert post("http://localhost:8888").status_code == 200  # a page on this machine
        assert post(None).status_code == 200  # programs send no Origin
        preflight = requests.options(
            f"{server.url}/v1/chat/completions",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
            timeout=30,
        )
        assert "access-control-allow-origin" not in {k.lower() for k in preflight.headers}


def test_a_dataset_naming_urls_makes_omnieval_fetch_nothing(tmp_path: Path) -> None:
    """Media paths are paths: `http://...` in a dataset is a (missing) file under the root, never
    a request; the trial fails naming it and nothing reaches the server."""
    with LoopbackServer() as server:
        lines = [
            '{"id": "u1", "question": "Q?", "options": ["a", "b"], "answer": "A", '
            f'"media": [{{"kind": "audio", "path": "{server.url}/models"}}]}}',
            '{"id": "u2", "question": "Q?", "options": ["a", "b"], "answer": "A", '
            '"media": [{"kind": "image", "path": "file:///etc/passwd"}]}',
        ]
        questions = tmp_path / "q.jsonl"
        questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
        outcome = api.evaluate(
            {
                "name": "urls",
                "output": str(tmp_path / "runs"),
                "benchmarks": [{"name": "mcq", "args": {"path": str(questions)}}],
                "models": ["random"],
                "progress": False,
            }
        )
        probes, chats = server.probes, server.chat_requests
    assert probes == 0 and chats == 0
    errors = {r.trial.sample_id: r.response.error or "" for r in outcome.records}
    assert set(errors) == {"u1", "u2"}
    assert all("missing" in e and str(tmp_path) in e for e in errors.values()), errors
