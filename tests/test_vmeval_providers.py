"""Video-generation providers against loopback fakes of their wire protocols (tests/video_fakes.py):
submit, poll, download, refusals (at submit and at the end of the job), provider failures,
transient errors, HTTP timeouts, poll timeouts, and polling a journaled job from a new process
state (a fresh client given only the job id)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnieval.media.encode import encode_png
from omnieval.models.base import (
    Model,
    ModelUnreachableError,
    PermanentModelError,
    TransientModelError,
)
from omnieval.models.video.base import VideoGenerator, decode_job
from omnieval.models.video.luma import LumaVideo
from omnieval.models.video.media import decode_image
from omnieval.models.video.runway import RunwayVideo
from omnieval.models.video.sora import SoraVideo
from omnieval.models.video.veo import VeoVideo
from omnieval.runner.jobs import PendingJobs, generate_with_job
from omnieval.types import GenerationParams, ImagePart, Request, TextPart, TrialStatus
from tests.video_fakes import VideoAPIFake, fake_video

PROVIDERS = ("openai-video", "runway", "luma", "veo")
FAST = {"poll_interval_s": 0.02, "max_poll_interval_s": 0.05}


def first_frame(tmp: Path) -> Path:
    image = np.full((48, 64, 3), 255, np.uint8)
    image[10:30, 5:25] = (200, 30, 30)  # a red square: a 4:3 puzzle board
    path = tmp / "first_frame.png"
    path.write_bytes(encode_png(image))
    return path


def request(frame: Path, prompt: str, **extra: Any) -> Request:
    settings = {"duration": 5.0, "resolution": "640x480", "seed": 3, **extra}
    return Request(
        parts=(ImagePart(path=frame, mime="image/png"), TextPart(text=prompt)),
        generation=GenerationParams(seed=3, extra=settings),
    )


class Uploads:
    """A Luma uploader hook that records what it was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, data: bytes, name: str, sha256: str) -> str:
        assert hashlib.sha256(data).hexdigest() == sha256
        self.seen.append((name, sha256))
        return f"https://objects.example/presigned/{sha256}.png?sig=abc"


def build(name: str, fake: VideoAPIFake, **kwargs: Any) -> VideoGenerator:
    settings = {**FAST, **kwargs}
    if name == "openai-video":
        return SoraVideo(api_key="sk-test", base_url=fake.url, **settings)
    if name == "runway":
        return RunwayVideo(api_key="rw-test", base_url=fake.root, **settings)
    if name == "luma":
        if "uploader" not in settings:
            settings.setdefault("image_url_template", "https://cdn.example/frames/{sha256}.png")
        return LumaVideo(api_key="luma-test", base_url=f"{fake.root}/dream-machine/v1", **settings)
    if name == "veo":
        return VeoVideo(api_key="vertex-test", base_url=fake.root, **settings)
    raise AssertionError(name)


@pytest.fixture(scope="module")
def fake() -> Iterator[VideoAPIFake]:
    with VideoAPIFake(job_s=0.05, stall_s=2.0) as server:
        yield server


@pytest.fixture
def frame(tmp_path: Path) -> Path:
    return first_frame(tmp_path)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def with_model(model: Model, use: Any) -> Any:
    """Run `use(model)` and close the model, in one event loop (SDK clients bind to it)."""

    async def scenario() -> Any:
        try:
            return await use(model)
        finally:
            await model.close()

    return asyncio.run(scenario())


async def generate_and_close(model: Model, req: Request) -> Any:
    try:
        return await model.generate(req)
    finally:
        await model.close()


def body_for(fake: VideoAPIFake, prompt: str) -> dict[str, Any]:
    found = [b for b in fake.bodies if prompt in json.dumps(b, default=str)]
    assert found, f"no submit with {prompt!r}"
    return found[-1]


# --------------------------------------------------------------------------- success


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_job_is_submitted_polled_and_its_video_downloaded(
    name: str, fake: VideoAPIFake, frame: Path
) -> None:
    prompt = f"{name}: move the red square to the right"
    response = run(generate_and_close(build(name, fake), request(frame, prompt)))
    assert response.status is TrialStatus.OK, response.error
    [video] = response.artifacts
    assert (video.name, video.kind, video.mime) == ("video.mp4", "video", "video/mp4")
    assert video.data == fake_video(prompt)
    meta = video.meta
    assert meta["provider"] == name and meta["model"]
    assert meta["job_id"] and meta["job_id"] in fake.submits_ids()
    assert meta["submitted_at"].endswith("+00:00") and meta["generation_s"] >= 0
    assert fake.submits[prompt] == 1


def test_each_api_gets_the_settings_mapped_to_what_it_accepts(
    fake: VideoAPIFake, frame: Path
) -> None:
    for name in PROVIDERS:
        response = run(generate_and_close(build(name, fake), request(frame, f"map {name}")))
        assert response.status is TrialStatus.OK, response.error
    sora = body_for(fake, "map openai-video")
    assert (sora["model"], sora["seconds"], sora["size"]) == ("sora-2", "4", "1280x720")
    assert decode_image(sora["input_reference"]["bytes"]).shape == (720, 1280, 3)  # letterboxed
    runway = body_for(fake, "map runway")
    assert (runway["model"], runway["ratio"], runway["duration"], runway["seed"]) == (
        "gen4_turbo",
        "1104:832",
        5,
        3,
    )
    header, _, encoded = runway["promptImage"].partition(",")
    assert header == "data:image/png;base64"
    assert decode_image(base64.b64decode(encoded)).shape == (832, 1104, 3)
    luma = body_for(fake, "map luma")
    digest = hashlib.sha256(frame.read_bytes()).hexdigest()
    assert luma["keyframes"] == {
        "frame0": {"type": "image", "url": f"https://cdn.example/frames/{digest}.png"}
    }
    assert (luma["model"], luma["aspect_ratio"], luma["duration"], luma["resolution"]) == (
        "ray-2",
        "4:3",
        "5s",
        "720p",
    )
    veo = body_for(fake, "map veo")
    assert veo["model"] == "veo-3.0-generate-001"
    assert veo["parameters"] == {"durationSeconds": 6, "aspectRatio": "16:9", "seed": 3}
    assert decode_image(veo["image_bytes"]).shape == (48, 85, 3)  # padded to 16:9


def test_settings_a_provider_cannot_honour_are_recorded_as_ignored(
    fake: VideoAPIFake, frame: Path
) -> None:
    response = run(
        generate_and_close(build("openai-video", fake), request(frame, "ignored", fps=30))
    )
    assert sorted(response.artifacts[0].meta["request"]["ignored"]) == ["fps", "seed"]


def test_luma_takes_the_first_frame_url_from_an_uploader_hook(
    fake: VideoAPIFake, frame: Path
) -> None:
    uploads = Uploads()
    model = build("luma", fake, uploader=uploads)
    response = run(generate_and_close(model, request(frame, "luma uploader")))
    assert response.status is TrialStatus.OK, response.error
    digest = hashlib.sha256(frame.read_bytes()).hexdigest()
    assert uploads.seen == [("first_frame.png", digest)]
    url = body_for(fake, "luma uploader")["keyframes"]["frame0"]["url"]
    assert url == f"https://objects.example/presigned/{digest}.png?sig=abc"
    # the signed part of a download URL never reaches the metadata
    assert "?" not in response.artifacts[0].meta["video_url"]


def test_a_luma_uploader_named_as_module_function_is_loaded_and_its_answer_checked(
    fake: VideoAPIFake, frame: Path
) -> None:
    model = build("luma", fake, uploader="tests.video_fakes:s3_uri_uploader")
    with pytest.raises(PermanentModelError, match=r"returned 's3://frames/.*not a URL"):
        run(generate_and_close(model, request(frame, "luma bad uploader")))
    assert fake.submits["luma bad uploader"] == 0
    with pytest.raises(ValueError, match="module:function"):
        build("luma", fake, uploader="no_colon")


def test_luma_refuses_to_start_without_a_way_to_publish_the_first_frame() -> None:
    with pytest.raises(ValueError, match="public URL"):
        LumaVideo(api_key="k")
    with pytest.raises(ValueError, match="sha256"):
        LumaVideo(api_key="k", image_url_template="https://cdn.example/frame.png")


def test_a_request_without_a_first_frame_is_a_permanent_error(fake: VideoAPIFake) -> None:
    model = build("openai-video", fake)
    bare = Request(parts=(TextPart(text="no image"),))
    with pytest.raises(PermanentModelError, match="first frame"):
        run(model.submit(bare))


# --------------------------------------------------------------------------- refusals, failures


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_content_policy_refusal_at_the_end_of_a_job_is_a_failed_trial_with_the_reason(
    name: str, fake: VideoAPIFake, frame: Path
) -> None:
    response = run(generate_and_close(build(name, fake), request(frame, f"{name} REFUSE")))
    assert response.status is TrialStatus.FAILED and not response.artifacts
    assert response.finish_reason == "content_filter"
    assert response.error.startswith(f"refused by {name}: ")
    reasons = {
        "openai-video": "moderation_blocked: Your request was blocked.",
        "runway": "SAFETY.OUTPUT.VIDEO: The output was flagged by content moderation.",
        "luma": "advanced moderation failed",
        "veo": "filtered by our responsible AI safety filters",
    }
    assert reasons[name] in response.error


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_refusal_at_submission_is_a_failed_trial_with_the_reason_and_no_job(
    name: str, fake: VideoAPIFake, frame: Path, tmp_path: Path
) -> None:
    prompt = f"{name} BLOCK"
    response = run(generate_and_close(build(name, fake), request(frame, prompt)))
    assert response.status is TrialStatus.FAILED and response.finish_reason == "content_filter"
    assert response.error.startswith(f"refused by {name}: ") and "HTTP 400" in response.error
    # through the runner's job driver: a failed trial, nothing left pending
    jobs = PendingJobs.open(tmp_path / "journal.sqlite")
    outcome = with_model(
        build(name, fake),
        lambda m: generate_with_job(m, request(frame, prompt), "trial-1", jobs),
    )
    assert outcome.failed and f"refused by {name}" in str(outcome.error)
    assert jobs.count() == 0 and fake.submits[prompt] == 0


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_job_the_provider_fails_is_a_failed_trial_naming_its_reason(
    name: str, fake: VideoAPIFake, frame: Path
) -> None:
    response = run(generate_and_close(build(name, fake), request(frame, f"{name} FAIL")))
    assert response.failed and response.finish_reason != "content_filter"
    assert response.error.startswith(f"{name} job failed: ")


# --------------------------------------------------------------------------- errors, timeouts


@pytest.mark.parametrize("name", PROVIDERS)
def test_transient_poll_and_download_errors_are_retried_by_the_job_driver(
    name: str, frame: Path, tmp_path: Path
) -> None:
    with VideoAPIFake(job_s=0.0, script={"poll": [503, 429]}) as server:
        if name in ("runway", "luma", "openai-video"):
            server.script["download"] = [502]
        jobs = PendingJobs.open(tmp_path / "journal.sqlite")
        prompt = f"{name} flaky"
        response = with_model(
            build(name, server),
            lambda m: generate_with_job(
                m,
                request(frame, prompt),
                "t",
                jobs,
                poll_interval_s=0.01,
                max_poll_interval_s=0.02,
            ),
        )
        assert response.status is TrialStatus.OK, response.error
        assert response.artifacts[0].data == fake_video(prompt)
        assert server.submits[prompt] == 1 and jobs.count() == 0


def test_in_process_generation_also_rides_out_transient_poll_errors(frame: Path) -> None:
    """`generate` (used by `omnieval serve` and the Python API) retries polls like the runner."""
    with VideoAPIFake(job_s=0.0, script={"poll": [503, 502, 429]}) as server:
        response = run(generate_and_close(build("luma", server), request(frame, "in process")))
        assert response.status is TrialStatus.OK, response.error
        assert server.submits["in process"] == 1
    with (
        VideoAPIFake(job_s=0.0, script={"poll": [503] * 10}) as server,
        pytest.raises(TransientModelError),
    ):
        run(generate_and_close(build("luma", server), request(frame, "always down")))


@pytest.mark.parametrize("name", PROVIDERS)
def test_submit_errors_map_to_transient_or_permanent(name: str, frame: Path) -> None:
    async def submit_twice(model: Model) -> list[Exception]:
        errors = []
        for _ in range(2):
            try:
                await model.submit(request(frame, "x"))
            except Exception as err:
                errors.append(err)
        return errors

    with VideoAPIFake(script={"submit": [503, 404]}) as server:
        first, second = with_model(build(name, server), submit_twice)
    assert isinstance(first, TransientModelError), first
    assert isinstance(second, PermanentModelError) and "HTTP 404" in str(second), second


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_stalled_http_call_times_out_as_unreachable(name: str, frame: Path) -> None:
    with (
        VideoAPIFake(script={"submit": [0]}, stall_s=3.0) as server,
        pytest.raises((ModelUnreachableError, TransientModelError)),
    ):
        with_model(build(name, server, timeout_s=0.3), lambda m: m.submit(request(frame, "stall")))


def test_a_job_that_never_finishes_is_abandoned_after_the_poll_timeout(
    frame: Path, tmp_path: Path
) -> None:
    with VideoAPIFake(job_s=None) as server:
        model = build("runway", server, poll_timeout_s=0.3)
        with pytest.raises(PermanentModelError, match=r"did not finish within 0\.3 s"):
            run(generate_and_close(model, request(frame, "forever")))
        jobs = PendingJobs.open(tmp_path / "journal.sqlite")
        response = with_model(
            build("runway", server),
            lambda m: generate_with_job(
                m, request(frame, "forever 2"), "t", jobs, poll_interval_s=0.02, timeout_s=0.3
            ),
        )
        assert response.failed and "did not finish within 0.3 s" in str(response.error)
        assert jobs.count() == 0
        assert server.polls and min(server.polls.values()) >= 2


def test_the_polling_backoff_and_timeout_come_from_the_model(fake: VideoAPIFake) -> None:
    model = build("veo", fake, poll_interval_s=4.0, max_poll_interval_s=20.0, poll_timeout_s=90)
    timing = model.job_polling()
    assert (timing.poll_interval_s, timing.max_poll_interval_s, timing.timeout_s) == (4, 20, 90)


@pytest.mark.parametrize("name", PROVIDERS)
def test_an_unknown_job_id_is_a_permanent_error(name: str, fake: VideoAPIFake) -> None:
    missing = {
        "veo": "projects/p/locations/l/publishers/google/models/veo-3.0-generate-001/"
        "operations/veo-missing",
    }.get(name, f"{name}-missing")
    with pytest.raises(PermanentModelError, match="404"):
        with_model(build(name, fake), lambda m: m.poll(missing))


# --------------------------------------------------------------------------- resume


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_journaled_job_is_polled_by_a_fresh_client_without_submitting_again(
    name: str, frame: Path, tmp_path: Path
) -> None:
    """What a resumed run does: the job id from the journal is all the new process has."""
    db = tmp_path / "journal.sqlite"
    with VideoAPIFake(job_s=None) as server:
        prompt = f"{name} resumed"
        first = build(name, server)
        job_id = with_model(first, lambda m: m.submit(request(frame, prompt)))
        PendingJobs.open(db).put("trial-7", job_id, _canonical(first))
        server.release()
        jobs = PendingJobs.open(db)  # as a restarted run opens its journal
        response = with_model(
            build(name, server),
            lambda m: generate_with_job(
                m, request(frame, prompt), "trial-7", jobs, poll_interval_s=0.01
            ),
        )
        assert response.status is TrialStatus.OK, response.error
        assert server.submits[prompt] == 1
        meta = response.artifacts[0].meta
        assert meta["job_id"] == decode_job(job_id)[0]
        assert meta["request"]["duration_s"] > 0  # the settings travelled with the job id


def _canonical(model: Model) -> str:
    from omnieval.runner.keys import canonical_json

    return canonical_json(model.fingerprint())


def test_fingerprints_name_the_provider_and_model_and_hold_no_secret(fake: VideoAPIFake) -> None:
    for name in PROVIDERS:
        model = build(name, fake)
        printed = json.dumps(model.fingerprint()) + repr(model)
        assert name in printed
        for secret in ("sk-test", "rw-test", "luma-test", "vertex-test"):
            assert secret not in printed
