"""Issue #7, as a new user met it: scoring as a rescore option, no silent overwrite of a run
directory, what the model saw (the transport's rendering), and reading results (chance rows,
pandas, the terminal's model lines). Real files, a real HTTP server on 127.0.0.1, real SQLite,
the real `omnieval` command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from omnieval import api
from omnieval.benchmarks.vsync.synth import generate_vsync
from omnieval.benchmarks.vsync.task import VsyncBenchmark
from omnieval.config import ConfigError, resolve_run_config
from omnieval.models.base import PreflightError
from omnieval.report.results import read_results
from omnieval.runner.plan_guard import PlanChangedError
from omnieval.types import ChoiceTarget
from tests.cli_runs import samples
from tests.conftest import write_mcq
from tests.loopback import LoopbackConfig, LoopbackServer

TASK = "vsync/level1"
VERBOSE_REPLY = "Based on the video, the answer is A."


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four V-SYNC items (answers C, C, B, C; 4, 3, 3, 4 options)."""
    out = tmp_path_factory.mktemp("vsync4")
    generate_vsync(out, 4, seed=5, workers=1)
    return out


@pytest.fixture(scope="module")
def verbose_server() -> Any:
    with LoopbackServer(LoopbackConfig(reply=VERBOSE_REPLY)) as server:
        yield server


def _targets(edition: Path) -> list[ChoiceTarget]:
    task = VsyncBenchmark(data_dir=edition).tasks()[0]
    targets = [s.target for s in task.samples()]
    assert all(isinstance(t, ChoiceTarget) for t in targets)
    return targets  # type: ignore[return-value]


def _verbose_run(edition: Path, server: LoopbackServer, out: Path, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "output": str(out),
        "progress": False,
        "benchmarks": [{"name": "vsync", "args": {"data_dir": str(edition)}, "conditions": ["vt"]}],
        "models": [
            {
                "alias": "verbose",
                "provider": "openai",
                "init_args": {
                    "model": "loopback",
                    "base_url": server.url,
                    "inputs": ["text", "video"],
                    "transport": {"video": "native", "audio": "drop"},
                    "cache_dir": str(out / "cache"),
                },
            }
        ],
    }


def _omnieval(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnieval.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


# --------------------------------------------------------------------------- 1. scoring


def test_rescore_with_scoring_vsync_changes_the_numbers_and_names_the_mode(
    edition: Path, verbose_server: LoopbackServer, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    targets = _targets(edition)
    share = {x: sum(t.answer == x for t in targets) / len(targets) for x in "AB"}
    assert share["A"] != share["B"]  # the edition tells the two scorings apart
    config = _verbose_run(edition, verbose_server, tmp_path / "runs", "verbose")
    first = api.evaluate(config)
    run = first.run_dir
    assert first.results.find("verbose", "vt").metrics["accuracy"].value == share["A"]
    assert first.results.tasks[TASK].scoring["scoring"] == "default"
    calls = len(verbose_server.bodies)

    done = _omnieval("rescore", str(run), "--scoring", "vsync", env=subprocess_env)
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    assert f"{TASK} scored with scoring=vsync" in said
    assert len(verbose_server.bodies) == calls  # no inference
    results = read_results(run / "results.json")
    assert results.find("verbose", "vt").metrics["accuracy"].value == share["B"]
    assert results.tasks[TASK].scoring["scoring"] == "vsync"
    assert "scoring=vsync" in (run / "leaderboard.md").read_text()
    rows = samples(run)
    assert {r["extraction"] for r in rows} == {"B"}
    assert {r["extraction_rule"] for r in rows} == {"vsync:first-char"}
    manifest = yaml.safe_load((run / "manifest.yaml").read_text())
    assert manifest["scoring_settings"] == {"vsync": {"scoring": "vsync"}}
    assert manifest["config"]["benchmarks"][0]["args"]["scoring"] == "vsync"
    assert manifest["tasks"][TASK]["scoring"]["scoring"] == "vsync"

    # a later plain rescore, and a resumed run whose config does not set it, keep the setting
    again = api.rescore(run)
    assert again.results.tasks[TASK].scoring["scoring"] == "vsync"
    resumed = api.evaluate(config)
    assert resumed.executed == 0
    assert resumed.results.find("verbose", "vt").metrics["accuracy"].value == share["B"]
    # ... and --set by index switches it back
    back = api.rescore(run, settings=["0.args.scoring=default"])
    assert back.results.find("verbose", "vt").metrics["accuracy"].value == share["A"]
    assert len(verbose_server.bodies) == calls


def test_rescore_refuses_settings_that_would_change_trial_keys(
    edition: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    config = {
        "name": "solver",
        "output": str(tmp_path / "runs"),
        "progress": False,
        "benchmarks": [{"name": "vsync", "args": {"data_dir": str(edition)}, "conditions": ["vt"]}],
        "models": ["constant"],
    }
    run = api.evaluate(config).run_dir
    before = (run / "manifest.yaml").read_text()

    refused = _omnieval(
        "rescore", str(run), "--set", "vsync.args.prompt=upstream", env=subprocess_env
    )
    assert refused.returncode == 2
    assert "task fingerprint" in refused.stderr and "not a scoring setting" in refused.stderr
    with pytest.raises(ConfigError, match="names data"):
        api.rescore(run, settings={"vsync.args.data_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="not a scoring setting of benchmark 'vsync'"):
        api.rescore(run, settings=["vsync.args.allow_outside_paths=true"])
    with pytest.raises(ConfigError, match="no benchmark 'avibench'"):
        api.rescore(run, settings=["avibench.args.scoring=vsync"])
    with pytest.raises(ConfigError, match=r"expected BENCHMARK\.args\.KEY=VALUE"):
        api.rescore(run, settings=["scoring=vsync"])
    assert (run / "manifest.yaml").read_text() == before  # nothing was kept

    ok = _omnieval("rescore", str(run), "--set", "vsync.args.scoring=vsync", env=subprocess_env)
    assert ok.returncode == 0, ok.stderr
    assert f"{TASK} scored with scoring=vsync" in ok.stdout + ok.stderr

    quiz = write_mcq(tmp_path / "quiz.jsonl", 2)
    mcq_run = api.evaluate(_mcq_run(quiz, tmp_path / "runs", ["random"])).run_dir
    with pytest.raises(ConfigError, match="no benchmark of this run has a `scoring` setting"):
        api.rescore(mcq_run, scoring="vsync")


# --------------------------------------------------------------------------- 3. no overwrite


def _mcq_run(path: Path, out: Path, models: list[Any], name: str | None = "same") -> dict[str, Any]:
    config: dict[str, Any] = {
        "output": str(out),
        "progress": False,
        "benchmarks": [{"name": "mcq", "args": {"path": str(path)}}],
        "models": models,
    }
    if name is not None:
        config["name"] = name
    return config


def test_a_run_directory_is_not_silently_overwritten(tmp_path: Path) -> None:
    first = write_mcq(tmp_path / "first.jsonl", 10)
    second = write_mcq(tmp_path / "second.jsonl", 2, n_options=3)
    out = tmp_path / "runs"
    done = api.evaluate(_mcq_run(first, out, ["random"]))
    assert done.results.totals.trials == 10

    with pytest.raises(PlanChangedError) as refused:
        api.evaluate(_mcq_run(second, out, ["random"]))
    message = str(refused.value)
    assert "second.jsonl" in message and "--name" in message and "--force" in message
    assert "10 of its 10 journaled trials are not in the new plan" in message
    assert read_results(done.run_dir / "results.json").totals.trials == 10  # untouched

    with pytest.raises(PlanChangedError, match="model\\(s\\) random are no longer in the plan"):
        api.evaluate(_mcq_run(first, out, ["constant"]))
    with pytest.raises(PlanChangedError, match="limit was none, now 5"):
        api.evaluate({**_mcq_run(first, out, ["random"]), "limit": 5})

    extended = api.evaluate(_mcq_run(first, out, ["random", "constant"]))  # adds a model
    assert (extended.executed, extended.resumed) == (10, 10)
    assert extended.results.totals.trials == 20

    forced = api.evaluate(_mcq_run(second, out, ["random"]), force=True)
    assert forced.results.totals.trials == 2

    # a plan none of whose trials was journaled (stopped by its pre-flight) holds nothing
    unreachable = {"alias": "remote", "provider": "openai"}
    unreachable["init_args"] = {"model": "m", "base_url": "http://127.0.0.1:9/v1"}
    with pytest.raises(PreflightError):
        api.evaluate(_mcq_run(first, out, [unreachable], name="fixed"))
    assert api.evaluate(_mcq_run(first, out, ["random"], name="fixed")).executed == 10


def test_the_default_run_name_names_benchmark_data_and_date(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    data = write_mcq(tmp_path / "quiz.jsonl", 3)
    config, _ = resolve_run_config(_mcq_run(data, tmp_path / "runs", ["random"], name=None))
    today = time.strftime("%Y%m%d", time.gmtime())
    assert config.name == f"mcq-quiz.jsonl-{today}"
    done = _omnieval(
        "run", "--benchmark", "mcq", "--data", str(data), "--models", "random",
        "--output", str(tmp_path / "cli"), "--quiet", env=subprocess_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).name == f"mcq-quiz.jsonl-{today}"
    (tmp_path / "quiz2").mkdir()
    other = write_mcq(tmp_path / "quiz2" / "quiz.jsonl", 4, n_options=3)  # same name, other data
    clash = _omnieval(
        "run", "--benchmark", "mcq", "--data", str(other), "--models", "random",
        "--output", str(tmp_path / "cli"), "--quiet", env=subprocess_env,
    )  # fmt: skip
    assert clash.returncode == 2
    assert "holds another run" in clash.stderr and "--force" in clash.stderr
    forced = _omnieval(
        "run", "--benchmark", "mcq", "--data", str(other), "--models", "random",
        "--output", str(tmp_path / "cli"), "--quiet", "--force", env=subprocess_env,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert read_results(Path(forced.stdout.strip()) / "results.json").totals.trials == 4


# --------------------------------------------------------------------------- 4. what was sent


def test_samples_jsonl_shows_the_transcript_and_frame_timestamps_sent(
    edition: Path, verbose_server: LoopbackServer, tmp_path: Path
) -> None:
    task = VsyncBenchmark(data_dir=edition).tasks()[0]
    sample = task.samples()[0]
    words = sorted(
        {w for line in sample.metadata["asr_content"].splitlines() for w in line.split()[1:]}
    )
    config = _verbose_run(edition, verbose_server, tmp_path / "runs", "frames")
    config["limit"] = 1
    config["benchmarks"][0]["conditions"] = ["avt"]
    config["models"][0]["init_args"].update(
        inputs=["text", "image"],
        transport={"asr": {"engine": "pocketsphinx", "grammar_words": words}},
    )
    start = len(verbose_server.bodies)
    terminal = Console(record=True, width=200)
    resolved, redactor = resolve_run_config(config)
    outcome = api.evaluate_config(resolved, redactor, out=terminal, show=True)
    body = verbose_server.bodies[start]
    sent_texts = [p["text"] for p in body["messages"][-1]["content"] if p["type"] == "text"]
    sent_stamps = [
        float(m.group(1)) for t in sent_texts if (m := re.match(r"^Frame at (\S+) s:$", t))
    ]
    sent_transcript = next(t for t in sent_texts if t.startswith("Audio transcript"))

    (row,) = samples(outcome.run_dir)
    rendering = row["request"]["rendering"]
    (frames,) = rendering["frames"]
    assert frames["name"] == sample.parts[0].path.name  # type: ignore[union-attr]
    assert [round(t, 2) for t in frames["timestamps"]] == sent_stamps and len(sent_stamps) == 4
    (transcript,) = rendering["transcript"]
    assert transcript["text"] == sent_transcript
    assert re.search(r"\[\d+\.\d\d-\d+\.\d\d\] \w", transcript["text"])
    # the journal keeps it with the deduplicated request, not in every response
    response = json.loads(
        __import__("sqlite3")
        .connect(outcome.run_dir / "journal.sqlite")
        .execute("SELECT response FROM trials")
        .fetchone()[0]
    )
    assert response.get("rendering") is None
    # the terminal names the transport policy, like leaderboard.md's Models section
    shown = terminal.export_text()
    assert "model verbose: openai loopback; transport: video frames, audio transcript" in shown
    assert (
        "transport: video frames, audio transcript"
        in (outcome.run_dir / "leaderboard.md").read_text()
    )


def test_dropped_media_are_named_in_the_rendering(
    edition: Path, verbose_server: LoopbackServer, tmp_path: Path
) -> None:
    config = _verbose_run(edition, verbose_server, tmp_path / "runs", "dropped")
    config["limit"] = 1
    config["benchmarks"][0]["conditions"] = ["avt"]
    outcome = api.evaluate(config)
    (row,) = samples(outcome.run_dir)
    rendering = row["request"]["rendering"]
    assert rendering["dropped"] == [
        {"kind": "audio", "name": rendering["video"][0]["name"], "why": "transport audio: drop"}
    ]
    assert rendering["video"][0]["sent"] == "data_url video/mp4, without its audio"


# --------------------------------------------------------------------------- 9. reading


def test_chance_rows_in_results_and_leaderboards(edition: Path, tmp_path: Path) -> None:
    targets = _targets(edition)
    options = [len(t.options) for t in targets]
    assert len(set(options)) > 1  # items with different option counts
    config = {
        "name": "chance",
        "output": str(tmp_path / "runs"),
        "progress": False,
        "benchmarks": [
            {
                "name": "vsync",
                "args": {"data_dir": str(edition)},
                "conditions": ["vt"],
                "replicates": {"scheme": "rotation", "k": 2},
            }
        ],
        "models": ["random"],
    }
    resolved, redactor = resolve_run_config(config)
    terminal = Console(record=True, width=200)
    outcome = api.evaluate_config(resolved, redactor, out=terminal, show=True)
    chance = read_results(outcome.run_dir / "results.json").tasks[TASK].chance
    expected_aa = sum(1 / n for n in options) / len(options)
    expected_acr = sum((1 / n) ** 2 for n in options) / len(options)
    assert chance == pytest.approx({"AA": expected_aa, "ACR": expected_acr})
    aa, acr = f"{expected_aa * 100:.1f}", f"{expected_acr * 100:.1f}"
    markdown = (outcome.run_dir / "leaderboard.md").read_text()
    assert f"| chance | uniform guess | {aa} | - | {acr} | - | - | - | - |" in markdown
    assert "uniform guess among each item's options" in markdown
    line = next(
        x for x in terminal.export_text().splitlines() if x.lstrip("│ ").startswith("chance")
    )
    assert aa in line and acr in line


def test_results_to_pandas(edition: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {
        "name": "frame",
        "output": str(tmp_path / "runs"),
        "progress": False,
        "benchmarks": [{"name": "vsync", "args": {"data_dir": str(edition)}}],
        "models": ["random", "constant"],
    }
    results = api.evaluate(config).results
    frame = results.to_pandas()
    assert len(frame) == sum(len(g.metrics) for g in results.groups)
    assert list(frame.columns[:10]) == [
        "model", "condition", "task", "group", "metric", "value", "ci_low", "ci_high", "stderr",
        "n",
    ]  # fmt: skip
    for group in results.groups:
        for metric, value in group.metrics.items():
            (row,) = frame[
                (frame.model == group.model)
                & (frame.condition == group.condition)
                & (frame.group == group.group)
                & (frame.metric == metric)
            ].itertuples()
            assert (row.value, row.ci_low, row.ci_high, row.n) == (
                value.value, value.ci_low, value.ci_high, value.n,
            )  # fmt: skip
    overall = frame[(frame.group == "overall") & frame.headline]
    assert set(overall.chance) == {results.tasks[TASK].chance["accuracy"]}
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if the extra were not installed
    with pytest.raises(ImportError, match=r"omnieval\[pandas\]"):
        results.to_pandas()
