"""`executor: ray` on a local Ray cluster (127.0.0.1, a temporary session directory, dashboard
off, 2 CPUs): the same results as in-process with reference models and a tiny random-weight
`hf` model, and a replica killed mid-run is replaced with nothing lost."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnieval import api
from omnieval.config import RaySettings
from tests.conftest import write_mcq

PLUGINS = Path(__file__).resolve().parent / "plugins"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RaySettings]:
    ray = pytest.importorskip("ray", reason="executor: ray needs pip install 'omnieval[ray]'")
    from omnieval.models.ray_pool import connect

    session = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: socket paths are capped
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(PLUGINS), str(REPO), saved or ""])
    settings = RaySettings(
        local_num_cpus=2, temp_dir=session, replicas=2, num_cpus=0.25, start_timeout_s=240
    )
    connect(settings)
    try:
        yield settings
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
        shutil.rmtree(session, ignore_errors=True)


def listening_addresses(names: tuple[str, ...]) -> set[str]:
    """Local addresses of the TCP sockets listening in processes whose name has one of
    `names` (read from /proc: no tool needed)."""
    inodes: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes[fields[9]] = fields[1].rsplit(":", 1)[0]
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            name = (proc / "comm").read_text().strip()
            if not any(n in name for n in names):
                continue
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    found.add(inodes[target[8:-1]])
        except OSError:
            continue
    return found


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


def test_a_local_cluster_listens_on_loopback_only(ray_cluster: RaySettings) -> None:
    addresses = listening_addresses(("raylet", "gcs_server", "ray::"))
    assert addresses, "found no listening Ray server"
    assert addresses <= LOOPBACK, addresses


def journaled(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
    except sqlite3.Error:
        return 0


def answers(outcome: api.RunOutcome) -> dict[tuple[str, str], str | None]:
    return {(r.trial.model, r.trial.sample_id): r.response.text for r in outcome.records}


@pytest.fixture(scope="module")
def tiny_hf_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch", reason="the hf provider needs torch==2.13.0")
    from tests.hf_tiny import tiny_qwen2_audio

    model, processor = tiny_qwen2_audio(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny-qwen2-audio"
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def config(tmp_path: Path, name: str, questions: Path, models: list[Any], **extra: Any) -> dict:
    return {
        "name": name,
        "output": str(tmp_path / "runs"),
        "progress": False,
        "generation": {"max_tokens": 6},
        "benchmarks": [{"name": "mcq", "args": {"path": str(questions)}}],
        "models": models,
        **extra,
    }


def test_ray_replicas_give_the_same_results_as_in_process(
    ray_cluster: RaySettings, tiny_hf_checkpoint: Path, tmp_path: Path
) -> None:
    questions = write_mcq(tmp_path / "q.jsonl", 24)
    hf = {
        "alias": "tiny-hf",
        "provider": "hf",
        "init_args": {"model_path": str(tiny_hf_checkpoint), "dtype": "float32", "device": "cpu"},
    }
    models = ["random", "constant", hf]
    local = api.evaluate(config(tmp_path, "local", questions, models))
    remote = api.evaluate(
        config(
            tmp_path,
            "ray",
            questions,
            models,
            executor="ray",
            ray=ray_cluster.model_dump(mode="json"),
        )
    )
    assert remote.results.totals.failed == 0
    assert answers(remote) == answers(local)
    assert {r.trial.key for r in remote.records} == {r.trial.key for r in local.records}
    assert remote.results.groups == local.results.groups


def test_a_replica_killed_mid_run_is_replaced_and_nothing_is_lost(
    ray_cluster: RaySettings, tmp_path: Path
) -> None:
    """The replica is killed while it provably holds requests (`test-gated` keeps every request
    until a file appears), and the gate opens only once a new worker has taken its place: no
    race with the machine's speed."""
    import ray

    from omnieval.models.ray_pool import RayReplicaPool

    questions = write_mcq(tmp_path / "q.jsonl", 40)
    started, release = tmp_path / "started.txt", tmp_path / "release"
    gate = {"started_file": str(started), "release_file": str(release)}
    gated = {"alias": "gated", "provider": "test-gated", "init_args": gate}
    release.touch()
    local = api.evaluate(
        config(tmp_path, "local", questions, [gated], plugins=["omnieval_testmodels"])
    )
    release.unlink()
    started.unlink()
    pool = RayReplicaPool(
        "test-gated", {**gate, "seed": 0}, ray_cluster, plugins=["omnieval_testmodels"]
    )
    victim = pool.replicas[0]
    before = ray.get(victim.pid.remote())
    killed = threading.Event()
    after: list[int] = []

    def held() -> int:
        return len(started.read_text().split()) if started.exists() else 0

    def kill_then_release() -> None:
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and held() < 8:  # 8 requests held, both replicas
                time.sleep(0.05)
            ray.kill(victim, no_restart=False)
            killed.set()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # the kill is asynchronous: wait for the new one
                try:
                    pid = ray.get(victim.pid.remote(), timeout=30)
                except ray.exceptions.RayError:
                    continue
                if pid != before:
                    after.append(pid)
                    return
                time.sleep(0.2)
        finally:
            release.touch()

    thread = threading.Thread(target=kill_then_release, daemon=True)
    thread.start()
    run = config(
        tmp_path,
        "killed",
        questions,
        [{**gated, "concurrency": 8, "retry_base_s": 0.2}],
        plugins=["omnieval_testmodels"],
    )
    outcome = api.evaluate(run, models={"gated": pool})
    thread.join(timeout=10)
    assert killed.is_set()
    assert after and after[0] != before  # a new worker process took its place
    assert outcome.results.totals.failed == 0
    assert answers(outcome) == answers(local)
    assert sum(r.response.attempts > 1 for r in outcome.records) >= 1  # the lost ones retried


# --------------------------------------------------------------------------- media, judges, files


@pytest.fixture(scope="module")
def when_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from omnieval.benchmarks.vsync.synth_when import VsyncWhenConfig, generate_vsync_when

    out = tmp_path_factory.mktemp("vsync-when")
    generate_vsync_when(out, 3, seed=5, config=VsyncWhenConfig(speech="formant"))
    return out


def when_config(tmp_path: Path, name: str, edition: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "output": str(tmp_path / "runs"),
        "progress": False,
        "benchmarks": [
            {
                "name": "vsync-level2",
                "args": {"data_dir": str(edition), "cache_dir": str(tmp_path / f"cache-{name}")},
                "variants": ["avt", "vt", "at"],
            }
        ],
        "models": ["vsync-solver"],
        "judges": {"judge": {"provider": "vsync-judge"}},
        **extra,
    }


def test_prefix_cuts_are_built_by_ray_tasks_with_the_same_results(
    ray_cluster: RaySettings, when_edition: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omnieval.benchmarks.vsync import level2_task

    local = api.evaluate(when_config(tmp_path, "local", when_edition))

    def driver_must_not_cut(*args: Any, **kwargs: Any) -> Path:
        raise AssertionError("a prefix was cut in the driver process")

    # Ray workers import their own, unpatched module: the run completes only if every prefix
    # cut (the V-SYNC Level 2 request build) ran in a Ray task
    monkeypatch.setattr(level2_task, "video_prefix", driver_must_not_cut)
    ray_settings = {**ray_cluster.model_dump(mode="json"), "media_num_cpus": 0.25}
    remote = api.evaluate(
        when_config(tmp_path, "ray", when_edition, executor="ray", ray=ray_settings)
    )
    assert remote.results.totals.failed == 0
    assert remote.results.totals.scoring_errors == 0
    assert answers(remote) == answers(local)
    assert {r.trial.key for r in remote.records} == {r.trial.key for r in local.records}
    assert remote.results.groups == local.results.groups
    assert any((tmp_path / "cache-ray").rglob("*.mp4")), "the Ray tasks wrote no prefix"

    # the same patch in-process: every trial fails naming the driver-side cut
    monkeypatch.setattr(level2_task, "video_prefix", driver_must_not_cut)
    threads = api.evaluate(when_config(tmp_path, "threads", when_edition))
    assert threads.results.totals.failed == len(threads.records)


def artifact_digests(outcome: api.RunOutcome) -> dict[tuple[str, str], list[str | None]]:
    return {
        (r.trial.model, r.trial.sample_id): [a.sha256 for a in r.response.artifacts]
        for r in outcome.records
        if r.response.artifacts
    }


def test_judges_and_file_artifacts_work_under_ray_as_in_process(
    ray_cluster: RaySettings, tmp_path: Path
) -> None:
    def run(name: str, **extra: Any) -> tuple[api.RunOutcome, list[int]]:
        pids = tmp_path / f"{name}-judge-pids.txt"
        outcome = api.evaluate(
            {
                "name": name,
                "output": str(tmp_path / "runs"),
                "progress": False,
                "plugins": ["omnieval_testtasks"],
                "benchmarks": [
                    {"name": "test-refine", "args": {"n": 8}},
                    {"name": "test-masks", "args": {"data_dir": str(tmp_path / "truth"), "n": 3}},
                ],
                # the oracle hands its masks over as files (`source`), test-masker as bytes
                "models": [{"alias": "speller", "provider": "test-speller"}, "oracle"],
                "judges": {
                    "refine": {
                        "alias": "judge",
                        "provider": "test-judge",
                        "init_args": {
                            "calls_file": str(tmp_path / f"{name}-calls.txt"),
                            "pids_file": str(pids),
                        },
                    }
                },
                **extra,
            }
        )
        return outcome, [int(line) for line in pids.read_text().split()]

    local, local_pids = run("local")
    remote, remote_pids = run("ray", executor="ray", ray=ray_cluster.model_dump(mode="json"))
    assert set(local_pids) == {os.getpid()}
    assert remote_pids and os.getpid() not in remote_pids  # the judge ran in Ray actors
    assert len(remote_pids) == len(local_pids) == 4  # speller spells out 4 of 8 answers
    assert remote.results.totals.failed == remote.results.totals.scoring_errors == 0
    assert answers(remote) == answers(local)
    assert remote.results.groups == local.results.groups
    digests = artifact_digests(remote)
    assert digests == artifact_digests(local) and len(digests) == 3
    for record in remote.records:
        for artifact in record.response.artifacts:
            assert (remote.run_dir / str(artifact.path)).is_file()


def test_a_replica_hands_over_files_it_wrote_as_bytes(
    ray_cluster: RaySettings, tmp_path: Path
) -> None:
    """On another node the driver could not open a replica's file: the replica reads it."""
    import asyncio

    from omnieval.models.ray_pool import RayReplicaPool
    from omnieval.types import Request, TextPart

    pool = RayReplicaPool("test-masks", {}, ray_cluster, plugins=["omnieval_maskmodels"])
    try:
        response = asyncio.run(pool.generate(Request(parts=(TextPart(text="two cats"),))))
    finally:
        asyncio.run(pool.close())
    assert [a.source for a in response.artifacts] == [None, None]
    assert all(a.data and a.data.startswith(b"\x89PNG") for a in response.artifacts)


def test_a_driver_killed_under_ray_resumes_with_nothing_lost(
    ray_cluster: RaySettings, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    import json
    import signal
    import subprocess
    import sys

    import ray
    import yaml

    questions = write_mcq(tmp_path / "q.jsonl", 40)
    local = api.evaluate(config(tmp_path, "local", questions, ["random", "constant"]))
    address = ray.get_runtime_context().gcs_address  # the test's local cluster
    settings = {**ray_cluster.model_dump(mode="json"), "address": address}
    models = ["random", "constant"]
    run = config(tmp_path, "killed", questions, models, executor="ray", ray=settings)
    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump(run))
    env = {**subprocess_env, "OMNIEVAL_KILL_AT": "journal.committed:3"}
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGINS), str(REPO), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "omnieval.cli", "run", "--config", str(path), "--no-progress"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    journal = tmp_path / "runs" / "killed" / "journal.sqlite"
    before = journaled(journal)
    assert 0 < before < 80
    resumed = api.evaluate(run)  # this process: already connected to the same cluster
    assert resumed.executed == 80 - before
    with sqlite3.connect(journal) as db:
        keys = [row[0] for row in db.execute("SELECT key FROM trials")]
    assert len(keys) == len(set(keys)) == 80
    assert answers(resumed) == answers(local)
    results = json.loads((resumed.run_dir / "results.json").read_text())
    assert results["groups"] == json.loads((local.run_dir / "results.json").read_text())["groups"]


def test_ray_models_must_name_aliases_of_the_run(tmp_path: Path) -> None:
    from omnieval.config import ConfigError

    questions = write_mcq(tmp_path / "q.jsonl", 2)
    run = config(tmp_path, "x", questions, ["random"], executor="ray", ray={"models": ["gpt"]})
    with pytest.raises(ConfigError, match=r"ray\.models names 'gpt'"):
        api.evaluate(run)


def test_media_tasks_asking_for_a_resource_no_node_offers_are_refused(
    ray_cluster: RaySettings, when_edition: Path, tmp_path: Path
) -> None:
    from omnieval.config import ConfigError

    ray_settings = {**ray_cluster.model_dump(mode="json"), "media_resources": {"dataset": 0.01}}
    run = when_config(tmp_path, "nodata", when_edition, executor="ray", ray=ray_settings)
    with pytest.raises(ConfigError, match="'dataset', which no node of the Ray cluster offers"):
        api.evaluate(run)
