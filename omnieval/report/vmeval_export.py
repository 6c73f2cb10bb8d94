"""A vmeval run exported in VMEvalKit's output layout, so upstream's scripts can read it.

```
<out>/<model>/<domain>_task/<task_id>/video/video.mp4
                                      question/first_frame.png, final_frame.png,
                                               ground_truth.mp4, prompt.txt,
                                               question_metadata.json
                                      metadata.json
```

`metadata.json` is the file upstream's README documents (and its code stopped writing):
`inference` (run_id, model, timestamp, status, duration_seconds, error), `input` (prompt,
image_path, question_id, task_category), `output` (video_path, video_url, generation_id),
`paths` and `question_data` (upstream's task record), with null values left out as upstream did;
an `omnieval` block adds the trial key, the video's sha256 and the trial's scores and verdict.
With `evaluations`, judged trials also get upstream's score file
`<evaluations>/<model>/<domain>_task/<task_id>/GPT4OEvaluator.json` (`metadata` + `result`).
Only answered trials are exported (upstream removes a failed task's folder); files are copied,
never moved, and a trial already exported with the same video is left as it is.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omnieval.runner import rundir
from omnieval.runner.journal import Journal
from omnieval.types import TrialRecord, TrialStatus


@dataclass
class ExportSummary:
    exported: int = 0
    unchanged: int = 0
    skipped_failed: int = 0
    skipped_other: int = 0


def questions_dir_of(run_dir: Path) -> Path:
    """The `data_dir` of the run's vmeval benchmark, from its manifest."""
    manifest = rundir.read_manifest(run_dir)
    for bench in (manifest.get("config") or {}).get("benchmarks") or []:
        if bench.get("name") == "vmeval":
            data_dir = (bench.get("args") or {}).get("data_dir")
            if data_dir:
                return Path(data_dir)
    raise ValueError(f"run {run_dir} has no vmeval benchmark in its manifest; pass --questions")


def _drop_none(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None:
            continue
        if isinstance(item, dict):
            nested = _drop_none(item)
            if nested:
                out[key] = nested
        else:
            out[key] = item
    return out


def _copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".tmp-{os.getpid()}-{dst.name}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def export_run(
    run_dir: Path, out: Path, questions: Path | None = None, evaluations: Path | None = None
) -> ExportSummary:
    """Write every answered vmeval trial of `run_dir` under `out` in upstream's layout; with
    `evaluations`, also each judged trial's score file in upstream's evaluation layout."""
    questions = questions or questions_dir_of(run_dir)
    journal = Journal(run_dir / rundir.JOURNAL)
    try:
        records = list(journal.records(planned_only=False))
    finally:
        journal.close()
    summary = ExportSummary()
    for record in records:
        if not record.trial.task.startswith("vmeval/"):
            continue
        if record.response.status is not TrialStatus.OK:
            summary.skipped_failed += 1
            continue
        if record.trial.condition != "default" or record.trial.replicate:
            summary.skipped_other += 1  # upstream's layout has one video per model and task
            continue
        if _export_one(run_dir, out, questions, record):
            summary.exported += 1
        else:
            summary.unchanged += 1
        if evaluations is not None:
            _write_evaluation(evaluations, record)
    return summary


def _write_evaluation(root: Path, record: TrialRecord) -> None:
    """`<root>/<model>/<domain>_task/<task_id>/GPT4OEvaluator.json` as upstream's evaluators
    write it (single-frame: `final_frame_comparison`; multi-frame: `multi_frame_voting`)."""
    detail = record.extraction.value if record.extraction is not None else None
    judge = detail.get("judge") if isinstance(detail, dict) else None
    if not isinstance(judge, dict) or record.score is None or record.score.error is not None:
        return
    domain = record.trial.task.removeprefix("vmeval/")
    if judge.get("protocol") == "single":
        result: dict[str, Any] = {
            "solution_correctness_score": judge["solution_correctness_score"],
            "explanation": judge.get("explanation", ""),
            "evaluation_type": "final_frame_comparison",
            "status": "completed",
        }
    else:
        result = {
            key: judge[key]
            for key in (
                "final_score", "confidence", "agreement_ratio", "needs_review",
                "voting_method", "vote_distribution", "frame_results", "consistency", "config",
            )
            if key in judge
        }
        result["solution_correctness_score"] = judge.get("final_score")
        result["stability_score"] = judge.get("consistency", {}).get("stability_score")
        result.update(evaluation_type="multi_frame_voting", status="completed")
    payload = {
        "metadata": {
            "evaluator": "GPT4OEvaluator",
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "model_name": record.trial.model,
            "task_type": f"{domain}_task",
            "task_id": record.trial.sample_id,
        },
        "result": result,
    }
    target = root / record.trial.model / f"{domain}_task" / record.trial.sample_id
    target.mkdir(parents=True, exist_ok=True)
    path = target / "GPT4OEvaluator.json"
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _export_one(run_dir: Path, out: Path, questions: Path, record: TrialRecord) -> bool:
    domain = record.trial.task.removeprefix("vmeval/")
    task_id = record.trial.sample_id
    videos = [a for a in record.response.artifacts if a.kind == "video" and a.path]
    if not videos:
        raise ValueError(f"trial {record.trial.key} ({task_id}) has no stored video artifact")
    video = next((a for a in videos if a.name == "video.mp4"), videos[0])
    assert video.path is not None
    source = run_dir / video.path
    target = out / record.trial.model / f"{domain}_task" / task_id
    meta_path = target / "metadata.json"
    if meta_path.is_file():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if old.get("omnieval", {}).get("video_sha256") == video.sha256:
            return False
    question_src = questions / f"{domain}_task" / task_id
    (target / "video").mkdir(parents=True, exist_ok=True)
    (target / "question").mkdir(parents=True, exist_ok=True)
    _copy(source, target / "video" / "video.mp4")
    copied: dict[str, Path] = {}
    for name in (
        "first_frame.png",
        "final_frame.png",
        "ground_truth.mp4",
        "prompt.txt",
        "question_metadata.json",
    ):
        if (question_src / name).is_file():
            _copy(question_src / name, target / "question" / name)
            copied[name] = question_src / name
    prompt = (
        (question_src / "prompt.txt").read_text(encoding="utf-8").strip()
        if "prompt.txt" in copied
        else None
    )
    vmeta = dict(video.meta)
    score = record.score.values if record.score is not None else None
    verdict = record.extraction.detail if record.extraction is not None else None
    question_data = {
        "id": task_id,
        "domain": domain,
        "prompt": prompt,
        "first_image_path": str(copied.get("first_frame.png") or "") or None,
        "final_image_path": str(copied["final_frame.png"]) if "final_frame.png" in copied else None,
        "ground_truth_video": (
            str(copied["ground_truth.mp4"]) if "ground_truth.mp4" in copied else None
        ),
    }
    metadata = {
        "inference": {
            "run_id": f"{record.trial.model}_{task_id}_{run_dir.name}",
            "model": vmeta.get("model") or record.trial.model,
            "timestamp": vmeta.get("finished_at") or vmeta.get("submitted_at"),
            "status": "success",
            "duration_seconds": vmeta.get("generation_s", record.response.latency_s),
            "error": None,
        },
        "input": {
            "prompt": prompt,
            "image_path": question_data["first_image_path"],
            "question_id": task_id,
            "task_category": domain,
        },
        "output": {
            "video_path": str(target / "video" / "video.mp4"),
            "video_url": vmeta.get("video_url"),
            "generation_id": vmeta.get("job_id"),
        },
        "paths": {
            "inference_dir": str(target),
            "video_dir": str(target / "video"),
            "question_dir": str(target / "question"),
        },
        "question_data": question_data,
        "omnieval": {
            "run_dir": str(run_dir),
            "trial_key": record.trial.key,
            "video_sha256": video.sha256,
            "provider": vmeta.get("provider"),
            "scores": score,
            "verdict": verdict,
        },
    }
    tmp = meta_path.with_name(f".tmp-{os.getpid()}-metadata.json")
    tmp.write_text(json.dumps(_drop_none(metadata), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, meta_path)
    return True
