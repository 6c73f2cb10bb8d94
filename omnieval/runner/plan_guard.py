"""No silent overwrite: a run directory holds one plan, which a later invocation may resume or
extend but not replace unless told to (`--force`).

The new plan *extends* the directory's plan when every journaled trial of the directory's
last plan is also in the new plan: the same benchmark settings, samples and models, with
models, tasks, conditions or samples (a larger `limit`) only added. Anything else (another
dataset, fewer models, other conditions, a smaller `limit`, a changed model setting) would
replace the run's results, and is refused with the reasons.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omnieval.config import ConfigError, RunConfig
from omnieval.runner import rundir
from omnieval.runner.plan import Plan, plan_fingerprint


class PlanChangedError(ConfigError):
    """The run directory holds another plan; the message says how it differs and what to do."""


def check_plan(run_dir: Path, config: RunConfig, plan: Plan, force: bool) -> str | None:
    """Refuse (`PlanChangedError`) when `run_dir` holds a plan the new one does not extend.
    Returns a warning to show when `force` overrides a refusal, else None."""
    manifest_path = run_dir / rundir.MANIFEST
    if not manifest_path.is_file():
        return None
    manifest = rundir.read_manifest(run_dir)
    if manifest.get("plan_fingerprint") == plan_fingerprint(plan):
        return None
    old_keys = _planned_keys(run_dir / rundir.JOURNAL)
    new_keys = {p.trial.key for p in plan.trials}
    missing = old_keys - new_keys
    if not missing:
        return None
    reasons = differences(manifest, config, plan)
    why = "; ".join(reasons) if reasons else "its samples or settings differ"
    lost = f"{len(missing)} of its {len(old_keys)} journaled trials are not in the new plan"
    if force:
        return (
            f"--force: {run_dir} held another plan ({why}; {lost}); its results are replaced "
            "by this plan's (journaled trials are kept)"
        )
    raise PlanChangedError(
        f"{run_dir} holds another run: {why}; {lost}, so its results.json would be replaced. "
        "Choose another run directory with --name NAME (config `name:`), or pass --force to "
        "evaluate this plan there anyway (journaled trials are kept and reused)"
    )


def _planned_keys(journal: Path) -> set[str]:
    """The journaled trials of the directory's last plan (what its results are made of); a
    plan none of whose trials ran (a failed pre-flight) holds nothing to overwrite."""
    if not journal.is_file():
        return set()
    try:
        db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT p.key FROM plan p JOIN trials t ON t.key = p.key")
            return {key for (key,) in rows}
        finally:
            db.close()
    except sqlite3.Error:
        return set()  # the journal itself will report what is wrong with it


def differences(manifest: Mapping[str, Any], config: RunConfig, plan: Plan) -> list[str]:
    """How the new plan differs from the manifest's, in words (best effort)."""
    found: list[str] = []
    old_config = manifest.get("config") or {}
    old_benches = {b.get("name"): b for b in old_config.get("benchmarks") or []}
    for spec in config.benchmarks:
        old = old_benches.get(spec.name)
        if old is None:
            continue
        old_args = old.get("args") or {}
        for key in sorted(set(old_args) | set(spec.args)):
            before, after = old_args.get(key), spec.args.get(key)
            if _normal(before) != _normal(after) and key != "scoring":
                found.append(f"benchmark {spec.name} `{key}` was {before!r}, now {after!r}")
    old_models = manifest.get("models") or {}
    removed = sorted(set(old_models) - set(plan.models))
    if removed:
        found.append(f"model(s) {', '.join(removed)} are no longer in the plan")
    for alias, model in plan.models.items():
        if alias in old_models and _normal(old_models[alias]) != _normal(model.fingerprint()):
            found.append(f"model {alias}'s settings changed")
    old_tasks = manifest.get("tasks") or {}
    for name, entry in old_tasks.items():
        try:
            tp = plan.task(name)
        except KeyError:
            found.append(f"task {name} is no longer in the plan")
            continue
        if _normal(entry.get("fingerprint")) != _normal(tp.task.fingerprint()):
            found.append(f"task {name}'s prompt or settings changed")
        dropped = [c for c in entry.get("conditions") or [] if c not in tp.conditions]
        if dropped:
            found.append(f"task {name} no longer has condition(s) {', '.join(dropped)}")
        old_rep = entry.get("replicates")
        new_rep = tp.replicates.model_dump() if tp.replicates else None
        if _normal(old_rep) != _normal(new_rep):
            found.append(f"task {name}'s replicates changed")
    old_limit, new_limit = old_config.get("limit"), config.limit
    if old_limit != new_limit and (new_limit is not None and (old_limit or 0) > new_limit):
        found.append(f"limit was {old_limit}, now {new_limit}")
    elif old_limit is None and new_limit is not None:
        found.append(f"limit was none, now {new_limit}")
    return found


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))
