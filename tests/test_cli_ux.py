"""Running evaluations as a new user meets them (issue #7): interrupts, output streams, errors a
person can act on, paths, exit codes, generators (pre-flight and the circuit breaker:
test_cli_preflight.py).

Real `omnieval` subprocesses, real files, real SQLite journals, real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omnieval import api
from omnieval.benchmarks.base import DatasetError
from omnieval.benchmarks.mcq.task import load_mcq
from tests.cli_runs import (
    OMNIEVAL,
    mcq_benchmark,
    omnieval,
    run_journal_rows,
    write_config,
)
from tests.conftest import write_mcq

#: `run` of the config file run.yaml in the working directory
RUN_YAML = ("run", "-c", "run.yaml", "--no-progress")


def _omnieval(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return omnieval(args, env, cwd, timeout)


# --------------------------------------------------------------------------- interrupts

N_SLOW = 24


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_says_how_far_it_got_and_the_rerun_resumes(
    tmp_path: Path, subprocess_env: dict[str, str], signum: signal.Signals, code: int
) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", N_SLOW)

    def config(name: str, delay_s: float) -> Path:
        return write_config(
            tmp_path / f"{name}.yaml",
            name=name,
            output=str(tmp_path / "runs"),
            plugins=["omnieval_testmodels"],
            benchmarks=mcq_benchmark(mcq),
            models=[
                {
                    "alias": "sleepy",
                    "provider": "test-sleepy",
                    "init_args": {"delay_s": delay_s},
                    "concurrency": 1,
                }
            ],
        )

    slow = config("slow", 0.15)
    command = [*OMNIEVAL, "run", "--config", str(slow), "--no-progress"]
    run_dir = tmp_path / "runs" / "slow"
    process = subprocess.Popen(
        command,
        env=subprocess_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job inherits SIGINT ignored; a user's terminal does not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None and run_journal_rows(run_dir) < 3:
        time.sleep(0.01)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code, stderr
    done = run_journal_rows(run_dir)
    assert 3 <= done < N_SLOW, done  # stopped mid-run
    line = f"interrupted: {done} of {N_SLOW} trials journaled; rerun the same command to resume"
    assert line in stderr
    assert line in (run_dir / "run.log").read_text(encoding="utf-8")
    assert "Traceback" not in stderr and not (run_dir / "results.json").exists()

    resumed = subprocess.run(
        command, env=subprocess_env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done} of {N_SLOW} trials done" in resumed.stderr
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        count, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM trials").fetchone()
    assert count == distinct == N_SLOW

    whole = config("whole", 0.0)  # the same trial keys: delay_s is not part of the fingerprint
    subprocess.run(
        [*OMNIEVAL, "run", "--config", str(whole), "--no-progress"],
        env=subprocess_env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    interrupted = json.loads((run_dir / "results.json").read_text())
    uninterrupted = json.loads((tmp_path / "runs" / "whole" / "results.json").read_text())
    assert interrupted["groups"] == uninterrupted["groups"]
    assert interrupted["totals"] == uninterrupted["totals"]


# --------------------------------------------------------------------------- output streams


def _mcq_run_args(mcq: Path, *extra: str) -> tuple[str, ...]:
    return ("run", "--benchmark", "mcq", "--data", str(mcq), "--models", "random", *extra)


def test_no_progress_keeps_the_leaderboard_on_stdout(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", 12)
    result = _omnieval(
        *_mcq_run_args(mcq, "--name", "streams", "--no-progress"), env=subprocess_env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "accuracy %" in result.stdout and "12 trials, 12 answered, 0 failed" in result.stdout
    assert "run directory: runs/streams" in result.stdout
    assert "accuracy %" not in result.stderr


def test_json_prints_the_results_summary_on_stdout(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", 12)
    result = _omnieval(*_mcq_run_args(mcq, "--json"), env=subprocess_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["results"]["totals"]["trials"] == 12
    assert summary["executed"] == 12 and summary["resumed"] == 0
    on_disk = json.loads((Path(summary["run_dir"]) / "results.json").read_text())
    assert on_disk["totals"] == summary["results"]["totals"]

    quiet = _omnieval(*_mcq_run_args(mcq, "--quiet"), env=subprocess_env, cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.strip() == summary["run_dir"] and quiet.stderr == ""


# --------------------------------------------------------------------------- errors


def test_unknown_config_key_gets_a_did_you_mean(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", 4)
    write_config(
        tmp_path / "run.yaml",
        limt=3,
        benchmarks=mcq_benchmark(mcq),
        models=["random"],
    )
    result = _omnieval("run", "-c", "run.yaml", env=subprocess_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown key `limt` in run.yaml (did you mean `limit`?)" in result.stderr
    assert "pydantic" not in result.stderr and "Traceback" not in result.stderr


def test_every_bad_mcq_line_is_listed_in_one_error(tmp_path: Path) -> None:
    good = {"id": "a", "question": "q?", "options": ["x", "y"], "answer": "A"}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "b", "answer": "Z"}),
        json.dumps({"id": "c", "question": "q?"}),
        json.dumps(good),  # duplicate id
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_mcq(path, "mcq/default")
    message = str(caught.value)
    assert "4 bad line(s)" in message
    for number, what in [
        (2, "not valid JSON"),
        (3, "'Z'"),
        (4, "missing options, answer"),
        (5, "duplicate id 'a'"),
    ]:
        assert f"{path}:{number}: " in message and what in message


def test_find_names_the_known_models_and_variants(tmp_path: Path) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", 6)
    outcome = api.evaluate(
        {
            "name": "find",
            "output": str(tmp_path / "runs"),
            "benchmarks": [{"name": "mcq", "args": {"path": str(mcq)}}],
            "models": ["random", "constant"],
        },
        progress=False,
    )
    with pytest.raises(KeyError) as caught:
        outcome.results.find("randomm", "default")
    assert "model 'randomm' (known: constant, random)" in str(caught.value)
    with pytest.raises(KeyError) as caught:
        outcome.results.find("random", "avt")
    assert "condition 'avt' (known: default)" in str(caught.value)


def test_no_error_output_holds_raw_markup(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", 4)
    write_config(tmp_path / "bad.yaml", limt=1, benchmarks=["mcq"], models=["random"])
    outputs = [
        _omnieval(
            "run", "--benchmark", "nosuch", "--models", "random", env=subprocess_env, cwd=tmp_path
        ),
        _omnieval(
            "run", "--data", str(mcq), "--models", "random", env=subprocess_env, cwd=tmp_path
        ),
        _omnieval("run", "-c", "bad.yaml", env=subprocess_env, cwd=tmp_path),
        _omnieval("rescore", "nowhere", env=subprocess_env, cwd=tmp_path),
    ]
    for result in outputs:
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: "), result.stderr
        assert "[bold red]" not in result.stderr + result.stdout and "[/]" not in result.stderr


# --------------------------------------------------------------------------- exit codes


def test_failed_trials_exit_3_unless_allowed(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    mcq = write_mcq(tmp_path / "mcq.jsonl", 6)
    write_config(
        tmp_path / "run.yaml",
        plugins=["omnieval_testmodels"],
        benchmarks=mcq_benchmark(mcq),
        models=[{"alias": "broken", "provider": "test-broken", "max_retries": 0}],
    )
    failing = _omnieval(*RUN_YAML, env=subprocess_env, cwd=tmp_path)
    assert failing.returncode == 3, failing.stderr
    assert "6 of 6 trials failed" in failing.stderr and "--allow-failures" in failing.stderr
    allowed = _omnieval(*RUN_YAML, "--allow-failures", env=subprocess_env, cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr


# --------------------------------------------------------------------------- paths


def test_relative_paths_follow_the_config_file_and_rescore_works_anywhere(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    write_mcq(project / "data" / "mcq.jsonl", 8)
    write_config(
        project / "run.yaml",
        name="rel",
        output="runs",
        benchmarks=[{"name": "mcq", "args": {"path": "data/mcq.jsonl"}}],
        models=["random"],
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = _omnieval("run", "-c", str(project / "run.yaml"), env=subprocess_env, cwd=elsewhere)
    assert run.returncode == 0, run.stderr
    run_dir = project / "runs" / "rel"
    assert (run_dir / "results.json").is_file()

    flags = _omnieval(
        *_mcq_run_args(Path("data/mcq.jsonl"), "--name", "flags"), env=subprocess_env, cwd=project
    )
    assert flags.returncode == 0, flags.stderr
    for target in (run_dir, project / "runs" / "flags"):
        rescored = _omnieval("rescore", str(target), env=subprocess_env, cwd=elsewhere)
        assert rescored.returncode == 0, rescored.stderr
        assert "8 trials, 8 answered" in rescored.stdout


def test_plugins_import_from_the_working_directory(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    (tmp_path / "my_local_models.py").write_text(
        "from omnieval import registry\n"
        "from omnieval.models.reference import ConstantChoice\n"
        "registry.models.register('local-constant')(type('Local', (ConstantChoice,), "
        "{'name': 'local-constant'}))\n",
        encoding="utf-8",
    )
    mcq = write_mcq(tmp_path / "mcq.jsonl", 4)
    write_config(
        tmp_path / "run.yaml",
        plugins=["my_local_models"],
        benchmarks=mcq_benchmark(mcq),
        models=[{"alias": "local", "provider": "local-constant"}],
    )
    # the installed console script, whose sys.path does not start with the working directory
    script = (
        "import sys; sys.path = [p for p in sys.path if p not in ('', '.')]; "
        "from omnieval.cli import main; sys.argv = ['omnieval', *sys.argv[1:]]; main()"
    )
    result = subprocess.run(
        [sys.executable, "-P", "-c", script, *RUN_YAML],
        env=subprocess_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "local" in result.stdout


# --------------------------------------------------------------------------- generators


def test_generate_help_and_list_show_registered_generators(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    helped = _omnieval("generate", "--help", env=subprocess_env, cwd=tmp_path)
    assert helped.returncode == 0 and "vsync" in helped.stdout
    listed = _omnieval("list", env=subprocess_env, cwd=tmp_path)
    generators = next(x for x in listed.stdout.splitlines() if x.startswith("generators: "))
    assert {"vsync", "starbench"} <= set(generators.removeprefix("generators: ").split(", "))
    options = _omnieval("generate", "vsync", "--help", env=subprocess_env, cwd=tmp_path)
    for flag in ("--out", "--n", "--seed", "--sync-share", "--speakers", "--speech", "--workers"):
        assert flag in options.stdout


def test_a_plugin_generator_registers_and_runs(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    plugin = ("--plugin", "omnieval_testgenerators")
    helped = _omnieval("generate", *plugin, "--help", env=subprocess_env, cwd=tmp_path)
    assert "test-arith" in helped.stdout and "vsync" in helped.stdout
    made = _omnieval(
        "generate",
        *plugin,
        "test-arith",
        "--out",
        "arith",
        "--n",
        "7",
        "--seed",
        "3",
        env=subprocess_env,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    lines = (tmp_path / "arith" / "arith.jsonl").read_text().splitlines()
    assert len(lines) == 7
    again = _omnieval(
        "generate",
        *plugin,
        "test-arith",
        "--out",
        "again",
        "--n",
        "7",
        "--seed",
        "3",
        env=subprocess_env,
        cwd=tmp_path,
    )
    assert again.returncode == 0
    assert (tmp_path / "again" / "arith.jsonl").read_text().splitlines() == lines
    run = _omnieval(
        "run",
        "--benchmark",
        "mcq",
        "--data",
        "arith/arith.jsonl",
        "--models",
        "random",
        env=subprocess_env,
        cwd=tmp_path,
    )
    assert run.returncode == 0 and "7 trials, 7 answered" in run.stdout
    unknown = _omnieval("generate", "nosuch", "--out", "x", env=subprocess_env, cwd=tmp_path)
    assert unknown.returncode == 2


def test_serve_api_key_comes_from_the_environment_variable_its_help_names(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    import urllib.error
    import urllib.request

    from tests.served import omnieval_serve

    helped = _omnieval("serve", "--help", env=subprocess_env, cwd=tmp_path)
    assert "OMNIEVAL_API_KEY" in helped.stdout
    env = {**subprocess_env, "OMNIEVAL_API_KEY": "sekrit-from-env"}
    with omnieval_serve(["--model", "constant"], env, tmp_path) as url:
        request = urllib.request.Request(f"{url}/v1/models")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
        request.add_header("Authorization", "Bearer sekrit-from-env")
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200
