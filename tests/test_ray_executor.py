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
    import ray

    from omnieval.models.ray_pool import RayReplicaPool

    questions = write_mcq(tmp_path / "q.jsonl", 80)
    sleepy = {"alias": "sleepy", "provider": "test-sleepy", "init_args": {"delay_s": 0.2}}
    local = api.evaluate(
        config(tmp_path, "local", questions, [sleepy], plugins=["omnieval_testmodels"])
    )
    pool = RayReplicaPool(
        "test-sleepy", {"delay_s": 0.2, "seed": 0}, ray_cluster, plugins=["omnieval_testmodels"]
    )
    victim = pool.replicas[0]
    before = ray.get(victim.pid.remote())
    killed = threading.Event()
    after: list[int] = []

    journal = tmp_path / "runs" / "killed" / "journal.sqlite"

    def kill_soon() -> None:  # once the run is provably under way (8 trials journaled)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and journaled(journal) < 8:
            time.sleep(0.05)
        ray.kill(victim, no_restart=False)
        killed.set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the kill is asynchronous: wait for the new worker
            try:
                pid = ray.get(victim.pid.remote(), timeout=30)
            except ray.exceptions.RayError:
                continue
            if pid != before:
                after.append(pid)
                return
            time.sleep(0.2)

    threading.Thread(target=kill_soon, daemon=True).start()
    run = config(
        tmp_path,
        "killed",
        questions,
        [{**sleepy, "concurrency": 8, "retry_base_s": 0.2}],
        plugins=["omnieval_testmodels"],
    )
    outcome = api.evaluate(run, models={"sleepy": pool})
    assert killed.is_set()
    assert outcome.results.totals.failed == 0
    assert answers(outcome) == answers(local)
    assert sum(r.response.attempts > 1 for r in outcome.records) >= 1  # the lost ones retried
    deadline = time.monotonic() + 120
    while not after and time.monotonic() < deadline:
        time.sleep(0.1)
    assert after and after[0] != before  # a new worker process took its place
