"""Level 2 + 3 summary of a run: per model and condition, the "when" metrics beside the
always-yes and majority baselines, and the Level 3 aggregates (QGold, QEns, Cov+, QEns_joint,
zeros), joining each how-trial with the when-trial of the same item.

A how-trial gives an item its quality when it was scored (an empty answer scores 0 and is not
covered); a failed trial or a scoring error (a judge that could not answer) leaves the item
without a usable answer: 0 in QGold, not covered, and counted in `how_unscored`. With
replicates (option rotation), each item counts once, by its first replicate (the unrotated
options), as in the published protocol, which has no replicates.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from omnieval.benchmarks.vsync.level2_loader import HOW_TASK, WHEN_TASK
from omnieval.benchmarks.vsync.level23_metrics import (
    HowItem,
    always_yes,
    how_metrics,
    majority,
    when_metrics,
)
from omnieval.types import Outcome, TrialRecord

SUMMARY_FILE = "vsync-level23.json"


def summarize(records: Iterable[TrialRecord], positive_only: bool = False) -> list[dict[str, Any]]:
    """One row per (model, condition) with a when-task or how-task trial (see the module doc);
    `positive_only` adds upstream's above-zero average (`upstream_q2_avg`, a parity number)."""
    when: dict[tuple[str, str], dict[str, TrialRecord]] = defaultdict(dict)
    how: dict[tuple[str, str], dict[str, TrialRecord]] = defaultdict(dict)
    for record in records:
        trial = record.trial
        key = (trial.model, trial.condition)
        table = when if trial.task == WHEN_TASK else how if trial.task == HOW_TASK else None
        if table is None:
            continue
        kept = table[key].get(trial.sample_id)
        if kept is None or _replicate_order(trial.replicate) < _replicate_order(
            kept.trial.replicate
        ):
            table[key][trial.sample_id] = record
    rows: list[dict[str, Any]] = []
    for key in sorted(set(when) | set(how)):
        row: dict[str, Any] = {"model": key[0], "condition": key[1]}
        predicted: dict[str, bool | None] = {}
        if when.get(key):
            gold, pred = [], []
            for sample_id, record in sorted(when[key].items()):
                values = record.score.values if record.score is not None else {}
                if record.outcome is Outcome.SCORED and "gold_yes" in values:
                    yes = values["gold_yes"] >= 0.5
                    p = values.get("pred_yes", -1.0)
                    guess = None if p < 0 else p >= 0.5
                else:
                    yes = record.trial.sample_id in how.get(key, {})
                    guess = None
                gold.append(yes)
                pred.append(guess)
                predicted[sample_id] = guess
            row["when"] = when_metrics(gold, pred).as_dict()
            row["when_failed"] = sum(r.outcome is not Outcome.SCORED for r in when[key].values())
            row["baselines"] = {
                "always_yes": always_yes(gold).as_dict(),
                "majority": majority(gold).as_dict(),
            }
        if how.get(key):
            items, unscored = [], 0
            for sample_id, record in sorted(how[key].items()):
                values = record.score.values if record.score is not None else {}
                usable = record.outcome is Outcome.SCORED and values.get("answered", 0.0) >= 0.5
                if record.outcome is not Outcome.SCORED:
                    unscored += 1
                items.append(
                    HowItem(
                        quality=values["quality"] if usable else None,
                        predicted_yes=predicted.get(sample_id) is True,
                    )
                )
            row["how"] = how_metrics(items, positive_only=positive_only).as_dict()
            row["how_unscored"] = unscored
            row["how_joined_with_when"] = bool(when.get(key))
        rows.append(row)
    return rows


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
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def summarize_run(run_dir: Path, positive_only: bool = False) -> list[dict[str, Any]]:
    """The summary of a run directory, read from its journal (no inference, no judge call)."""
    from omnieval.runner.journal import Journal

    path = Path(run_dir) / "journal.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} holds no journal.sqlite (not a run directory)")
    journal = Journal(path)
    try:
        return summarize(journal.records(), positive_only=positive_only)
    finally:
        journal.close()


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


__all__ = ["SUMMARY_FILE", "main", "render", "summarize", "summarize_run", "write_summary"]
