"""Artifacts over the OpenAI wire: `omnieval serve` sends them, the `openai` provider reads them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from omnieval.models.artifact_wire import (
    FIELD,
    ArtifactWireError,
    decode_artifacts,
    encode_artifacts,
    message_fields,
)
from omnieval.models.base import PermanentModelError
from omnieval.models.openai_provider import OpenAIChat
from omnieval.runner.artifacts import ArtifactStore
from omnieval.runner.retry import RetryPolicy, generate_with_retries
from omnieval.types import Artifact, Request, Response, TextPart
from tests.app_server import AppServer


def completion(artifacts: list[dict[str, Any]] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "done"}
    if artifacts is not None:
        message[FIELD] = artifacts
    return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}


def test_encode_decode_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "v.mp4"
    source.write_bytes(b"\x00video\xff" * 100)
    sent = [
        Artifact(name="m/1.png", kind="mask", mime="image/png", data=b"png1", meta={"f": 0}),
        Artifact(name="v.mp4", kind="video", mime="video/mp4", source=source),
    ]
    wire = encode_artifacts(sent)
    assert wire[0]["sha256"] == hashlib.sha256(b"png1").hexdigest() and wire[0]["size"] == 4
    assert "meta" not in wire[1]
    got = decode_artifacts(json.loads(json.dumps(completion(wire))))
    assert [(a.name, a.kind, a.mime, a.data, a.meta) for a in got] == [
        ("m/1.png", "mask", "image/png", b"png1", {"f": 0}),
        ("v.mp4", "video", "video/mp4", source.read_bytes(), {}),
    ]
    assert all(a.sha256 == hashlib.sha256(a.data or b"").hexdigest() for a in got)
    assert message_fields([]) == {} and decode_artifacts(completion(None)) == ()


def test_encode_refuses_artifacts_without_bytes_or_with_a_wrong_digest(tmp_path: Path) -> None:
    with pytest.raises(ArtifactWireError, match="no bytes"):
        encode_artifacts([Artifact(name="x", path="artifacts/k/x", sha256="0" * 64)])
    with pytest.raises(ArtifactWireError, match="does not match"):
        encode_artifacts([Artifact(name="x", data=b"abc", sha256="0" * 64)])
    with pytest.raises(ArtifactWireError, match="cannot read"):
        encode_artifacts([Artifact(name="x", source=tmp_path / "missing.png")])


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ({"data_b64": base64.b64encode(b"png2").decode()}, "arrived corrupted"),
        ({"size": 5}, "truncated"),
        ({"data_b64": "not base64!"}, "not base64"),
        ({"kind": "hologram"}, "kind"),
        ({"sha256": None}, "no sha256"),
        ({"name": ""}, "no name"),
    ],
)
def test_decode_refuses_corrupted_or_malformed_entries(
    tamper: dict[str, Any], message: str
) -> None:
    entry = {**encode_artifacts([Artifact(name="m.png", data=b"png1")])[0], **tamper}
    with pytest.raises(ArtifactWireError, match=message):
        decode_artifacts(completion([entry]))
    with pytest.raises(ArtifactWireError, match="must be a list"):
        decode_artifacts({"choices": [{"message": {FIELD: {"name": "x"}}}]})


def test_served_mask_model_reaches_the_openai_provider_with_its_artifacts(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    from omnieval_maskmodels import mask_png

    from tests.served import omnieval_serve

    prompt = "Segment the barking dog."
    args = ["--model", "test-masks", "--plugin", "omnieval_maskmodels"]
    with omnieval_serve(args, subprocess_env, tmp_path) as url:
        _wait_loaded(url)

        async def ask() -> Response:
            model = OpenAIChat(model="test-masks", base_url=f"{url}/v1")
            try:
                return await model.generate(Request(parts=(TextPart(text=prompt),)))
            finally:
                await model.close()

        response = asyncio.run(ask())
    assert response.text == "2 objects"
    expected = [mask_png(prompt, 1), mask_png(prompt, 2)]
    assert [a.name for a in response.artifacts] == ["masks/obj1/00000.png", "masks/obj2/00000.png"]
    for artifact, data in zip(response.artifacts, expected, strict=True):
        assert artifact.kind == "mask" and artifact.mime == "image/png"
        assert artifact.data == data and data.startswith(b"\x89PNG")
        assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert response.artifacts[0].meta == {"object": 1, "frame": 0}

    stored = ArtifactStore(tmp_path / "run").store("trial0", response.artifacts)
    assert all(ArtifactStore(tmp_path / "run").verify(a) for a in stored)
    assert [a.sha256 for a in stored] == [hashlib.sha256(d).hexdigest() for d in expected]


def _wait_loaded(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as reply:
                if json.loads(reply.read()).get("model_loaded"):
                    return
        except urllib.error.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the served model did not load")


def test_corrupted_artifact_fails_the_trial_through_the_provider() -> None:
    entry = encode_artifacts([Artifact(name="m.png", kind="mask", data=b"the real mask")])[0]
    entry["data_b64"] = base64.b64encode(b"the real mas").decode()  # lost a byte on the way

    async def chat(request: web.Request) -> web.Response:
        return web.json_response(completion([entry]))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    with AppServer(app) as server:

        async def ask() -> tuple[Response, str]:
            model = OpenAIChat(model="m", base_url=f"{server.url}/v1")
            request = Request(parts=(TextPart(text="segment"),))
            try:
                with pytest.raises(PermanentModelError) as err:
                    await model.generate(request)
                policy = RetryPolicy(max_retries=2, base_s=0.0)
                return await generate_with_retries(model, request, policy, random.Random(0)), str(
                    err.value
                )
            finally:
                await model.close()

        response, error = asyncio.run(ask())
    assert "'m.png'" in error and "arrived corrupted" in error
    assert (
        response.failed and response.attempts == 1 and "arrived corrupted" in (response.error or "")
    )
