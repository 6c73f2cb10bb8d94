"""AVI-Bench's refine step as journaled judge calls: with `refine: fallback`, a run whose
model answers vaguely asks an OpenAI-compatible refine judge (a loopback server on 127.0.0.1)
once per unreadable answer, even when the run is SIGKILLed and rerun; `rescore` asks nothing;
the refined extraction records its provenance."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from omnieval import api

from .journal_probe import kill_once_journaled
from .loopback import LoopbackConfig, LoopbackServer

N = 24
DEFINITIONS = "havib_constants = {'AVQA': {'yes_no': ['yes', 'no', 'not sure']}}\n"


def _edition(root: Path) -> Path:
    folder = root / "levels/reasoning/AVQA"
    folder.mkdir(parents=True)
    (root / "definitions.py").write_text(DEFINITIONS, encoding="utf-8")
    items = [
        {
            "id": f"{k // 2:05d}",  # ids repeat in pairs, as upstream's AVQA does
            "task": "AVQA",
            "subtask": None,
            "input": {
                "question": {"prompt": None, "text": f"Is sound {k} loud?", "options": "yes_no"},
                "video": None,
                "audio_list": None,
                "image_list": None,
            },
            "output": {"question_answer": "yes" if k % 3 else "no"},
        }
        for k in range(N)
    ]
    (folder / "data.json").write_text(json.dumps(items), encoding="utf-8")
    return root


def _config(tmp: Path, edition: Path, model_url: str, judge_url: str) -> Path:
    path = tmp / "refine.yaml"
    config: dict[str, Any] = {
        "name": "refined",
        "output": str(tmp / "runs"),
        "progress": False,
        "benchmarks": [
            {"name": "avibench", "args": {"data_dir": str(edition), "refine": "fallback"}}
        ],
        "models": [
            {
                "alias": "vague",
                "provider": "openai",
                "init_args": {"base_url": model_url, "model": "loopback"},
                "concurrency": 4,
            }
        ],
        "judges": {
            "refine": {
                "provider": "openai",
                "init_args": {"base_url": judge_url, "model": "loopback"},
                "concurrency": 2,
            }
        },
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _asked(server: LoopbackServer) -> Counter[str]:
    """Refine requests per question (the question text is inside each refine prompt)."""
    counts: Counter[str] = Counter()
    with server.lock:
        bodies = list(server.bodies)
    for body in bodies:
        text = json.dumps(body["messages"])
        for k in range(N):
            if f"Is sound {k} loud?" in text:
                counts[f"q{k}"] += 1
    return counts


def test_fallback_refine_survives_sigkill_and_rescore_asks_nothing(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    edition = _edition(tmp_path / "edition")
    model = LoopbackServer(LoopbackConfig(reply="Hard to say, I would lean one way.")).start()
    judge = LoopbackServer(LoopbackConfig(reply="**yes**", delay_s=0.05)).start()
    try:
        config = _config(tmp_path, edition, model.url, judge.url)
        command = [sys.executable, "-m", "omnieval.cli", "run", "--config", str(config)]
        journal = tmp_path / "runs" / "refined" / "journal.sqlite"
        kill_once_journaled(command, journal, "judge_trials", 5, env=subprocess_env)
        before = sum(_asked(judge).values())
        assert 5 <= before < N, before  # killed while refining

        rerun = subprocess.run(
            command, env=subprocess_env, capture_output=True, text=True, timeout=180
        )
        assert rerun.returncode == 0, rerun.stderr
        asked = _asked(judge)
        assert set(asked) == {f"q{k}" for k in range(N)}  # every vague answer was refined
        twice = [q for q, count in asked.items() if count > 1]
        # only a call in flight at the kill (answered, never journaled) may be asked again
        assert len(twice) <= 2 and all(asked[q] == 2 for q in twice), asked
        with sqlite3.connect(journal) as db:
            rows = db.execute("SELECT parent_key, COUNT(*) FROM judge_trials GROUP BY parent_key")
            per_parent = dict(rows.fetchall())
        assert len(per_parent) == N and set(per_parent.values()) == {1}

        outcome = api.rescore(journal.parent)
        assert _asked(judge) == asked  # rescore: no refine call
        result = outcome.results.find("vague", "default", "avibench/AVQA")
        # the judge says "yes" everywhere; 16 of 24 labels are yes
        assert result.metrics["accuracy"].value == 16 / 24 and result.scoring_errors == 0
        refined = [r.extraction for r in outcome.records if r.extraction is not None]
        assert all(e.rule == "avibench:choice:refine:refine" for e in refined)
        assert all("rules failed" in (e.detail or "") for e in refined)
    finally:
        model.stop()
        judge.stop()
