"""`omnieval serve` on a real uvicorn server on 127.0.0.1, beyond single requests: the V-SYNC
solver served answering as in-process, auth, body limits, model loading and graceful shutdown
(tests/test_serve.py: the `openai` client, media parts, `/analyze`, request errors)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import requests

from omnieval import registry
from omnieval.config import ConfigError
from omnieval.models.base import Model
from omnieval.models.serve import BackgroundServer, ModelLoadError, serve_main
from omnieval.models.serve.app import ServeOptions, create_app
from omnieval.types import TextPart
from tests.conftest import synth_config
from tests.serve_helpers import PROMPT, Recorder, chat, client, data_url, error_message

# --------------------------------------------------------------------------- vsync-solver


@pytest.fixture(scope="module")
def vsync_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from omnieval.benchmarks.vsync.synth import generate_vsync

    out = tmp_path_factory.mktemp("vsync-serve")
    generate_vsync(out, 4, seed=5, config=synth_config("espeak"), workers=1)
    return out


def test_served_vsync_solver_answers_like_in_process(vsync_edition: Path) -> None:
    import asyncio

    from omnieval.benchmarks.vsync.solver import VsyncSolver

    benchmark: Any = registry.benchmarks.get("vsync")(data_dir=str(vsync_edition))
    task = benchmark.tasks()[0]
    solver = VsyncSolver()
    served = VsyncSolver()
    kinds = set()
    with BackgroundServer(create_app(served, ServeOptions(alias="vsync-solver"))) as server:
        api = client(server)
        for sample in task.samples():
            kinds.add(sample.category)
            for variant in ("avt", "vt", "at"):
                request = task.build_request(sample, variant)
                expected = asyncio.run(solver.generate(request)).text
                media, text = request.parts
                assert isinstance(text, TextPart)
                video = Path(media.path)
                if variant != "at":
                    reply = api.chat.completions.create(
                        model="vsync-solver",
                        messages=[
                            {
                                "role": "user",
                                "content": [
                                    {
                                        "type": "video_url",
                                        "video_url": {"url": data_url(video, "video/mp4")},
                                    },
                                    {"type": "text", "text": text.text},
                                ],
                            }
                        ],
                        extra_body={
                            "mm_processor_kwargs": {"use_audio_in_video": variant == "avt"}
                        },
                    )
                    assert reply.choices[0].message.content == expected, (sample.id, variant)
                flags = {"avt": ("true", "true"), "vt": ("true", "false"), "at": ("false", "true")}
                use_video, use_audio = flags[variant]
                with video.open("rb") as handle:
                    answer = requests.post(
                        server.url + "/analyze",
                        files={"video": (video.name, handle, "video/mp4")},
                        data={
                            "question": text.text,
                            "use_video": use_video,
                            "use_audio": use_audio,
                        },
                        timeout=60,
                    )
                assert answer.status_code == 200, answer.text
                assert answer.json() == {"status": "success", "answer": expected}, (
                    sample.id,
                    variant,
                )
    assert kinds == {"who-is-speaking", "sync"}


# --------------------------------------------------------------------------- auth and limits


def test_bearer_token_is_enforced_everywhere_but_health() -> None:
    with BackgroundServer(
        create_app(Recorder(), ServeOptions(alias="rec", api_key="s3cret-key"))
    ) as server:
        body = {"messages": [{"role": "user", "content": PROMPT}]}
        for wrong in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "s3cret-key"}):
            reply = chat(server, body, headers=wrong)
            assert reply.status_code == 401, reply.text
            assert "Authorization: Bearer <key>" in error_message(reply)
            assert (
                requests.get(server.url + "/v1/models", headers=wrong, timeout=5).status_code == 401
            )
            analyze = requests.post(
                server.url + "/analyze", data={"question": PROMPT}, headers=wrong, timeout=5
            )
            assert analyze.status_code == 401 and analyze.json()["status"] == "error"
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
        good = {"Authorization": "Bearer s3cret-key"}
        assert chat(server, body, headers=good).status_code == 200
        assert client(server, "s3cret-key").models.list().data[0].id == "rec"
        with pytest.raises(openai.AuthenticationError):
            client(server, "wrong").chat.completions.create(model="rec", messages=body["messages"])


def test_body_over_the_limit_is_refused_with_413() -> None:
    limit = 64 * 1024
    with BackgroundServer(
        create_app(Recorder(), ServeOptions(alias="rec", max_body_bytes=limit))
    ) as server:
        big = "x" * (limit + 10)
        reply = chat(server, {"messages": [{"role": "user", "content": big}]})
        assert reply.status_code == 413
        assert "request body too large" in error_message(reply)
        assert "65,536 bytes" in error_message(reply) and "--max-body-mb" in error_message(reply)

        # no Content-Length (chunked): counted while it arrives, refused once past the limit
        def chunks() -> Iterator[bytes]:
            yield b'{"messages": [{"role": "user", "content": "'
            for _ in range(40):
                yield b"y" * 4096
            yield b'"}]}'

        chunked = requests.post(
            server.url + "/v1/chat/completions",
            data=chunks(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert chunked.status_code == 413 and "more than 65,536 bytes" in error_message(chunked)
        upload = requests.post(
            server.url + "/analyze",
            files={"video": ("big.mp4", b"z" * (limit * 2), "video/mp4")},
            data={"question": PROMPT},
            timeout=10,
        )
        assert upload.status_code == 413 and "too large" in upload.json()["error"]
        small = chat(server, {"messages": [{"role": "user", "content": PROMPT}]})
        assert small.status_code == 200


# --------------------------------------------------------------------------- loading


def test_health_says_loading_until_the_model_is_built() -> None:
    release = threading.Event()

    def loader() -> Model:
        release.wait(120)  # the test opens it; the bound only keeps a failed test from hanging
        return Recorder()

    with BackgroundServer(create_app(loader, ServeOptions(alias="slow-load"))) as server:
        health = requests.get(server.url + "/health", timeout=5)
        assert health.status_code == 503
        assert health.json() == {"status": "loading", "model_loaded": False, "model": "slow-load"}
        early = chat(server, {"messages": [{"role": "user", "content": PROMPT}]})
        assert early.status_code == 503 and "still loading" in error_message(early)
        assert early.headers["Retry-After"] == "5"
        release.set()
        while requests.get(server.url + "/health", timeout=5).status_code != 200:
            time.sleep(0.02)  # until the loader finishes (bounded by the test timeout)
        assert chat(server, {"messages": [{"role": "user", "content": PROMPT}]}).status_code == 200


def test_serve_main_stops_when_the_model_fails_to_load(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text("broken:\n  provider: random\n  init_args: {no_such_arg: 1}\n")
    # It raises (rather than serving a model that never loads); a hang would hit the timeout.
    with pytest.raises(ModelLoadError, match=r"'broken'.*bad init_args \['no_such_arg'\]"):
        serve_main("broken", port=0, models_file=models, log_level="warning")


def test_serve_main_rejects_an_unknown_alias_before_binding() -> None:
    with pytest.raises(ConfigError, match="unknown model 'no-such-model'"):
        serve_main("no-such-model", port=0)
    with pytest.raises(ConfigError, match="max-batch"):
        serve_main("random", port=0, max_batch=0)


# --------------------------------------------------------------------------- shutdown


def test_sigterm_lets_the_request_in_flight_finish(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    started, release = tmp_path / "started.txt", tmp_path / "release"
    models = tmp_path / "models.yaml"
    models.write_text(
        "slow:\n  provider: test-gated\n"
        f"  init_args: {{started_file: {str(started)!r}, release_file: {str(release)!r}}}\n"
    )
    code = (
        "from pathlib import Path\n"
        "from omnieval.models.serve import serve_main\n"
        f"serve_main('slow', port=0, models_file=Path({str(models)!r}), "
        "plugins=['omnieval_testmodels'])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=subprocess_env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        url = None
        while url is None:  # bounded by the test timeout; the server says where it listens
            line = proc.stderr.readline()
            assert line, "the server exited before listening"
            found = re.search(r"on (http://127\.0\.0\.1:\d+);", line)
            url = found.group(1) if found else None
        while requests.get(url + "/health", timeout=30).status_code != 200:
            time.sleep(0.05)
        result: dict[str, Any] = {}

        def slow_request() -> None:
            body = {"model": "slow", "messages": [{"role": "user", "content": PROMPT}]}
            reply = requests.post(url + "/v1/chat/completions", json=body, timeout=120)
            result["status"] = reply.status_code
            result["body"] = reply.json()

        worker = threading.Thread(target=slow_request)
        worker.start()
        # The model reports the request in flight (it is held until `release` exists).
        while not (started.exists() and started.read_text()):
            assert worker.is_alive() and proc.poll() is None, result
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        # Shutting down, the server refuses new work but keeps the held request open.
        with pytest.raises(requests.ConnectionError):
            while True:  # until the listening socket is closed
                requests.get(url + "/health", timeout=5)
                time.sleep(0.02)
        # By default shutdown waits for requests in flight however long they take: hold this one
        # well past the shortest graceful-shutdown timeout uvicorn has (1 s). Load can only make
        # this hold longer, never make the check pass or fail differently.
        time.sleep(2.5)
        assert worker.is_alive() and "status" not in result  # still in flight
        assert proc.poll() is None  # the server waits for it
        release.touch()
        worker.join(120)
        assert result.get("status") == 200, result
        assert result["body"]["choices"][0]["message"]["content"] in {"A", "B", "C"}
        proc.wait(60)
        assert proc.returncode in (0, -signal.SIGTERM)
        rest = proc.stderr.read()
        assert "Application shutdown complete" in rest
        assert started.read_text().count("started") == 1
    finally:
        release.touch()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
