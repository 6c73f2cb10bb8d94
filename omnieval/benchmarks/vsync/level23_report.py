"""Level 2 + 3 summary of a run: per model and condition, the "when" metrics beside the
always-yes and majority baselines, and the Level 3 aggregates (QGold, QEns, Cov+, QEns_joint,
zeros), joining each how-trial with the when-trial of the same item. `summarize` is the one
implementation of that join: the run's own Level 3 results (`level3_joint`, joint metrics in
results.json) call it too; this module adds the side-by-side table over samples.jsonl.

A how-trial gives an item its quality when it was scored (an empty answer scores 0 and is not
covered); a failed trial or a scoring error (a judge that could not answer) leaves the item
without a usable answer: 0 in QGold, not covered, and counted in `how_unscored`. A when-trial
that failed counts as an unreadable answer (wrong, and in the denominator), as upstream counts
it; its gold answer comes from the run's samples.jsonl target. With
replicates (option rotation), each item counts once, by its first replicate (the unrotated
options), as in the published protocol, which has no replicates.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from omnieval.benchmarks.vsync.level2_loader import HOW_TASK, WHEN_TASK
from omnieval.benchmarks.vsync.level2_parity import (
    UNREADABLE_VERDICT,
    UpstreamItem,
    UpstreamLevel2,
    upstream_level2,
)
from omnieval.benchmarks.vsync.level23_metrics import (
    HowItem,
    always_yes,
    how_metrics,
    majority,
    when_metrics,
)
from omnieval.types import Outcome, TrialRecord

SUMMARY_FILE = "vsync-level23.json"


@dataclass(frozen=True)
class TrialRow:
    """What the summary needs of one trial (from a `TrialRecord` or a samples.jsonl line)."""

    model: str
    condition: str
    task: str
    sample_id: str
    replicate: str
    scored: bool
    values: dict[str, float]
    #: the item's gold "when" answer when known without a score (a samples.jsonl target)
    gold_yes: bool | None = None
    #: why scoring failed (a scoring error), e.g. a judge that gave no score
    scoring_error: str | None = None


def rows_from_records(records: Iterable[TrialRecord]) -> list[TrialRow]:
    return [
        TrialRow(
            model=r.trial.model,
            condition=r.trial.condition,
            task=r.trial.task,
            sample_id=r.trial.sample_id,
            replicate=r.trial.replicate,
            scored=r.outcome is Outcome.SCORED,
            values=dict(r.score.values) if r.score is not None else {},
            scoring_error=r.score.error if r.score is not None else None,
        )
        for r in records
    ]


def rows_from_samples_jsonl(path: Path) -> list[TrialRow]:
    """The trials of a run's samples.jsonl (its documented per-trial export)."""
    found: list[TrialRow] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        target = row.get("target") or {}
        gold = None
        if row["task"] == WHEN_TASK and not row.get("replicate_params") and target.get("answer"):
            gold = target["answer"] == "A"  # unrotated: A is the dataset's YES
        found.append(
            TrialRow(
                model=row["model"],
                condition=row["condition"],
                task=row["task"],
                sample_id=row["sample_id"],
                replicate=row.get("replicate") or "",
                scored=row["outcome"] == Outcome.SCORED.value,
                values=dict(row.get("scores") or {}),
                gold_yes=gold,
                scoring_error=row.get("scoring_error"),
            )
        )
    return found


def summarize(
    records: Iterable[TrialRecord] | Iterable[TrialRow], positive_only: bool = False
) -> list[dict[str, Any]]:
    """One row per (model, condition) with a when-task or how-task trial (see the module doc);
    `positive_only` adds upstream's above-zero average (`upstream_q2_avg`, a parity number)."""
    rows_in = [r if isinstance(r, TrialRow) else rows_from_records([r])[0] for r in records]
    when: dict[tuple[str, str], dict[str, TrialRow]] = defaultdict(dict)
    how: dict[tuple[str, str], dict[str, TrialRow]] = defaultdict(dict)
    for trial in rows_in:
        key = (trial.model, trial.condition)
        table = when if trial.task == WHEN_TASK else how if trial.task == HOW_TASK else None
        if table is None:
            continue
        kept = table[key].get(trial.sample_id)
        if kept is None or _replicate_order(trial.replicate) < _replicate_order(kept.replicate):
            table[key][trial.sample_id] = trial
    rows: list[dict[str, Any]] = []
    for key in sorted(set(when) | set(how)):
        row: dict[str, Any] = {"model": key[0], "condition": key[1]}
        predicted: dict[str, bool | None] = {}
        golds: dict[str, bool] = {}
        if when.get(key):
            gold, pred = [], []
            unknown = 0
            for sample_id, trial in sorted(when[key].items()):
                guess: bool | None = None
                if trial.scored and "gold_yes" in trial.values:
                    yes = trial.values["gold_yes"] >= 0.5
                    p = trial.values.get("pred_yes", -1.0)
                    guess = None if p < 0 else p >= 0.5
                elif trial.gold_yes is not None:
                    yes = trial.gold_yes
                else:  # a failed trial read from memory: YES items are those with a how-trial
                    yes = sample_id in how.get(key, {})
                    unknown += 1
                gold.append(yes)
                pred.append(guess)
                predicted[sample_id] = guess
                golds[sample_id] = yes
            row["when"] = when_metrics(gold, pred).as_dict()
            row["when_failed"] = sum(not t.scored for t in when[key].values())
            row["when_gold_guessed"] = unknown
            row["baselines"] = {
                "always_yes": always_yes(gold).as_dict(),
                "majority": majority(gold).as_dict(),
            }
        if how.get(key):
            items, unscored = [], 0
            for sample_id, trial in sorted(how[key].items()):
                usable = trial.scored and trial.values.get("answered", 0.0) >= 0.5
                unscored += not trial.scored
                items.append(
                    HowItem(
                        quality=trial.values["quality"] if usable else None,
                        predicted_yes=predicted.get(sample_id) is True,
                    )
                )
            row["how"] = how_metrics(items, positive_only=positive_only).as_dict()
            row["how_unscored"] = unscored
            row["how_joined_with_when"] = bool(when.get(key))
        if positive_only and when.get(key) and how.get(key):
            row["upstream"] = asdict(_upstream(golds, how[key], predicted))
        rows.append(row)
    return rows


def _upstream(
    golds: dict[str, bool], how: dict[str, TrialRow], predicted: dict[str, bool | None]
) -> UpstreamLevel2:
    """Upstream's printed Level 2 payload (`level2_parity.upstream_level2`) of one model and
    condition: a how-trial is usable when it was answered and judged; a judge reply without a
    number is usable and scores 0, as upstream reads it."""
    items = []
    for sample_id, yes in sorted(golds.items()):
        guess = predicted.get(sample_id)
        answer = how.get(sample_id)
        how_ok, score = False, 0.0
        if answer is not None and answer.scored and answer.values.get("answered", 0.0) >= 0.5:
            how_ok, score = True, float(answer.values.get("quality", 0.0))
        elif answer is not None and UNREADABLE_VERDICT in (answer.scoring_error or ""):
            how_ok = True
        items.append(UpstreamItem(when_right=guess is yes, yes=yes, how_ok=how_ok, score=score))
    return upstream_level2(items)


def _replicate_order(label: str) -> tuple[int, str]:
    """The unreplicated copy first, then `rotation0` before `rotation1` ..."""
    digits = "".join(c for c in label if c.isdigit())
    return (0 if not label else 1, f"{int(digits or 0):09d}{label}")


def write_summary(run_dir: Path, rows: list[dict[str, Any]]) -> Path:
    path = run_dir / SUMMARY_FILE
    path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return path


def render(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of the summary (percentages, one line per model and condition)."""
    lines = [
        "model | cond | when acc | macro-F1 | YES P/R/F1 | fail | always-yes acc/F1 | "
        "majority acc/F1 | QGold | QEns | Cov+ | QEns_joint | zeros"
    ]
    for row in rows:
        cells = [row["model"], row["condition"]]
        if "when" in row:
            w, b = row["when"], row["baselines"]
            cells += [
                f"{100 * w['accuracy']:.1f}",
                f"{100 * w['macro_f1']:.1f}",
                f"{100 * w['yes_precision']:.0f}/{100 * w['yes_recall']:.0f}/"
                f"{100 * w['yes_f1']:.0f}",
                str(w["extraction_failures"]),
                f"{100 * b['always_yes']['accuracy']:.1f}/{100 * b['always_yes']['macro_f1']:.1f}",
                f"{100 * b['majority']['accuracy']:.1f}/{100 * b['majority']['macro_f1']:.1f}",
            ]
        else:
            cells += ["-"] * 6
        if "how" in row:
            h = row["how"]
            qens = "-" if h["qens"] is None else f"{h['qens']:.2f}"
            cells += [f"{h['qgold']:.2f}", qens, f"{h['cov_plus']:.2f}", f"{h['qens_joint']:.2f}"]
            cells.append(str(h["zeros"]))
            if h.get("upstream_q2_avg") is not None:
                cells.append(
                    f"[parity, upstream bug: mean of scores > 0 = {h['upstream_q2_avg']:.2f}]"
                )
        else:
            cells += ["-"] * 5
        if "upstream" in row:
            u = row["upstream"]
            cells.append(
                f"[parity, upstream's printout: q1_accuracy {u['q1_accuracy']:.2f}"
                f" ({u['q1_correct']}/{u['q1_total']}), q2_avg {u['q2_avg_score']:.2f}"
                f" (n={u['q2_count']})]"
            )
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def summarize_run(run_dir: Path, positive_only: bool = False) -> list[dict[str, Any]]:
    """The summary of a run directory, read from its samples.jsonl (no inference, no judge)."""
    path = Path(run_dir) / "samples.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} holds no samples.jsonl (not a finished run directory)")
    return summarize(rows_from_samples_jsonl(path), positive_only=positive_only)


def main(argv: list[str] | None = None) -> int:
    """`python -m omnieval.benchmarks.vsync.level23_report RUN_DIR [--positive-only]`: print
    the table and write `vsync-level23.json` into the run directory."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m omnieval.benchmarks.vsync.level23_report")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument(
        "--positive-only",
        action="store_true",
        help="also report upstream's mean over scores above 0 (parity with a known bug)",
    )
    args = parser.parse_args(argv)
    rows = summarize_run(args.run_dir, positive_only=args.positive_only)
    print(render(rows))
    print(f"wrote {write_summary(args.run_dir, rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "SUMMARY_FILE",
    "TrialRow",
    "main",
    "render",
    "rows_from_records",
    "rows_from_samples_jsonl",
    "summarize",
    "summarize_run",
    "write_summary",
]
