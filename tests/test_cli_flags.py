"""The `omnieval run` flags, each through a real `omnieval` subprocess and the files it writes:
`--limit`, `--output`, `--tasks`, `--variants`, `--env-file`, `--models-file`, `--keep-failed`
and `--no-doctor` (docs/configuration.md, docs/running.md)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_runs import audio_question, results, said, samples, write_jsonl
from tests.cli_runs import omnieval as run_cli
from tests.conftest import write_mcq
from tests.loopback import LoopbackConfig, LoopbackServer
from tests.mediagen import write_test_audio


def omnieval(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli([*args, "--no-progress"], env, cwd)


def _served(models: Path, name: str) -> list[str]:
    """`run` of q.jsonl by the model `served` of a models file."""
    mcq = ["run", "--benchmark", "mcq", "--data", "q.jsonl"]
    return [*mcq, "--models", "served", "--models-file", str(models), "--name", name]


def test_limit_output_tasks_and_variants(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    write_mcq(tmp_path / "q.jsonl", 12)
    base = ["run", "--benchmark", "mcq", "--data", "q.jsonl", "--models", "random,constant"]
    done = omnieval(
        [
            *base,
            "--limit",
            "5",
            "--output",
            "elsewhere",
            "--name",
            "flags",
            "--tasks",
            "mcq/default",
            "--variants",
            "default,t",
        ],
        subprocess_env,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "elsewhere" / "flags"  # --output is the parent of the run directory
    assert results(run_dir)["totals"]["trials"] == 5 * 2 * 2  # limit x models x variants
    rows = samples(run_dir)
    assert {r["sample_id"] for r in rows} == {f"q{i:05d}" for i in range(5)}
    assert {r["variant"] if "variant" in r else r["condition"] for r in rows} == {"default", "t"}
    assert not (tmp_path / "runs").exists()

    unknown = omnieval([*base, "--tasks", "mcq/nope", "--name", "x"], subprocess_env, tmp_path)
    assert unknown.returncode != 0
    assert "no task(s) ['mcq/nope']" in said(unknown) and "mcq/default" in said(unknown)


def _models_file(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_env_file_and_models_file(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    write_mcq(tmp_path / "q.jsonl", 3)
    with LoopbackServer(LoopbackConfig(reply="C")) as server:
        (tmp_path / "my.env").write_text(
            f"LOOPBACK_URL={server.url}\nLOOPBACK_KEY=sk-from-the-env-file-123\n"
        )
        models = _models_file(
            tmp_path / "models.yaml",
            "models:\n"
            "  served:\n"
            "    provider: openai\n"
            "    init_args:\n"
            "      model: loopback\n"
            '      base_url: "${LOOPBACK_URL}"\n'
            '      api_key: "${LOOPBACK_KEY}"\n',
        )
        envy = [*_served(models, "envy"), "--env-file", "my.env"]
        done = omnieval(envy, subprocess_env, tmp_path)
        assert done.returncode == 0, done.stderr
        assert server.chat_requests == 3
        assert set(server.auth) == {"Bearer sk-from-the-env-file-123"}
        assert {b["model"] for b in server.bodies} == {"loopback"}
    run_dir = tmp_path / "runs" / "envy"
    assert {r["response"] for r in samples(run_dir)} == {"C"}
    assert "sk-from-the-env-file-123" not in (run_dir / "manifest.yaml").read_text()

    missing = omnieval(_served(models, "no-env"), subprocess_env, tmp_path)
    assert missing.returncode != 0 and "LOOPBACK_URL" in said(missing)


def test_keep_failed_does_not_retry_failed_trials(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    write_mcq(tmp_path / "q.jsonl", 4)
    # The server refuses its first request (400: a permanent error), then answers.
    with LoopbackServer(LoopbackConfig(reply="A", script=["400"])) as server:
        models = _models_file(
            tmp_path / "models.yaml",
            "models:\n  served:\n    provider: openai\n    concurrency: 1\n"
            f"    init_args: {{model: loopback, base_url: '{server.url}', api_key: k}}\n",
        )
        command = _served(models, "kept")
        first = omnieval(command, subprocess_env, tmp_path)
        assert first.returncode == 3, first.stderr  # one trial failed: exit code 3
        run_dir = tmp_path / "runs" / "kept"
        assert results(run_dir)["totals"]["failed"] == 1 and server.chat_requests == 4

        kept = omnieval([*command, "--keep-failed"], subprocess_env, tmp_path)
        assert kept.returncode == 3, kept.stderr  # the failed trial is still failed
        assert server.chat_requests == 4  # the failed trial was not asked again
        assert results(run_dir)["totals"]["failed"] == 1

        retried = omnieval(command, subprocess_env, tmp_path)
        assert retried.returncode == 0, retried.stderr
        assert server.chat_requests == 5  # only the failed trial, once
        assert results(run_dir)["totals"]["failed"] == 0


def test_no_doctor_skips_the_media_preflight(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    write_test_audio(tmp_path / "ok.wav", 0.3)
    rows = [audio_question("fine", "ok.wav"), audio_question("gone", "missing.wav")]
    write_jsonl(tmp_path / "q.jsonl", rows)
    base = ["run", "--benchmark", "mcq", "--data", "q.jsonl", "--models", "constant"]

    checked = omnieval([*base, "--name", "checked"], subprocess_env, tmp_path)
    assert checked.returncode == 3, checked.stderr  # a trial failed: documented exit code 3
    assert "missing.wav" in said(checked)  # the doctor names the file before inference
    [failed] = [r for r in samples(tmp_path / "runs" / "checked") if r["status"] != "ok"]
    assert failed["sample_id"] == "gone" and "missing.wav" in failed["error"]

    unchecked = omnieval([*base, "--name", "unchecked", "--no-doctor"], subprocess_env, tmp_path)
    assert unchecked.returncode == 0, unchecked.stderr
    assert "missing.wav" not in said(unchecked)
    # `constant` never opens the media, so without the pre-flight both trials are answered
    assert results(tmp_path / "runs" / "unchecked")["totals"]["failed"] == 0


@pytest.mark.parametrize("bad_line", [2, 3])
def test_malformed_mcq_lines_are_reported_with_file_and_line(
    tmp_path: Path, subprocess_env: dict[str, str], bad_line: int
) -> None:
    good = {"id": "a", "question": "x?", "options": ["p", "q"], "answer": "A"}
    lines = [json.dumps(good), json.dumps(good | {"id": "b"}), json.dumps(good | {"id": "c"})]
    lines[bad_line - 1] = "{not json" if bad_line == 2 else json.dumps({"id": "c", "question": "?"})
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    done = omnieval(
        ["run", "--benchmark", "mcq", "--data", "bad.jsonl", "--models", "random"],
        subprocess_env,
        tmp_path,
    )
    assert done.returncode != 0
    assert f"bad.jsonl:{bad_line}:" in said(done), said(done)
