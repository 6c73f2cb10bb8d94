"""Verdicts: did each probe path reach the model?

Per path, from the probe run's trial records: accuracy against chance (a one-sided binomial
test), what the model declares it takes, and what its transport sent (each response's
`rendering`: dropped parts, audio channel counts, frames with or without timestamps). Rules, in
order:

1. accuracy above chance (p < `ALPHA`): **reaches** (or "not declared" with that accuracy shown,
   when the model does not declare a modality the path needs);
2. the model does not declare a modality the path needs: **not declared**;
3. the transport removed what the path needs (dropped the modality, downmixed the channels,
   sent frames without timestamps, sent audio as a transcript): **dropped by policy**;
4. otherwise: **does not reach**, the loud one: the model says it takes the modality, the
   request carried it, and the answers are at chance. A run stops on it unless allowed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from omnieval.probe.benchmark import TASK_PREFIX
from omnieval.probe.probeset import PATHS, ProbePath
from omnieval.types import Modality, TrialRecord

ALPHA = 0.05
REACHES = "reaches"
DOES_NOT_REACH = "does not reach"
DROPPED = "dropped by policy"
NOT_DECLARED = "not declared"
IN_PROCESS = "request parts as given (in-process model)"


@dataclass(frozen=True)
class PathVerdict:
    """One row of the probe table."""

    path: str
    carrier: str
    declared: str
    sent: str
    correct: int
    n: int
    chance: float
    p_value: float
    verdict: str
    why: str = ""

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def loud(self) -> bool:
        return self.verdict == DOES_NOT_REACH

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy": round(self.accuracy, 4)}


def binomial_p_above(correct: int, n: int, chance: float) -> float:
    """P(X >= correct) for X ~ Binomial(n, chance)."""
    return float(
        sum(math.comb(n, k) * chance**k * (1 - chance) ** (n - k) for k in range(correct, n + 1))
    )


def verdicts(
    records: Iterable[TrialRecord],
    declared: frozenset[Modality],
    requests: Mapping[str, dict[str, Any]] | None = None,
    has_transport: bool = False,
) -> list[PathVerdict]:
    """The probe table for one model's probe records (see the module docstring); `requests`
    gives the journaled compact request per trial key for records read without theirs;
    `has_transport`: the model sends requests over a wire (its fingerprint has a transport)."""
    by_path: dict[str, list[TrialRecord]] = {}
    for record in records:
        if record.trial.task.startswith(TASK_PREFIX):
            by_path.setdefault(record.trial.task[len(TASK_PREFIX) :], []).append(record)
    return [
        _verdict(path, by_path[path.name], declared, requests or {}, has_transport)
        for path in PATHS
        if path.name in by_path
    ]


def _verdict(
    path: ProbePath,
    records: Sequence[TrialRecord],
    declared: frozenset[Modality],
    requests: Mapping[str, dict[str, Any]],
    has_transport: bool,
) -> PathVerdict:
    correct = sum(1 for r in records if _correct(r))
    n = len(records)
    chance = 1.0 / path.options
    p_value = binomial_p_above(correct, n, chance) if n else 1.0
    missing = sorted(m.value for m in path.needs - declared)
    declared_text = ", ".join(sorted(m.value for m in path.needs & declared)) or "-"
    if missing:
        declared_text += f" (not {', '.join(missing)})"
    renderings = [_rendering(r, requests.get(r.trial.key)) for r in records]
    sent = _sent(renderings, has_transport)

    def row(verdict: str, why: str = "") -> PathVerdict:
        return PathVerdict(
            path=path.name,
            carrier=path.summary,
            declared=declared_text,
            sent=sent,
            correct=correct,
            n=n,
            chance=round(chance, 4),
            p_value=round(p_value, 6),
            verdict=verdict,
            why=why,
        )

    if p_value < ALPHA:
        return row(NOT_DECLARED, "answered above chance all the same") if missing else row(REACHES)
    if missing:
        return row(NOT_DECLARED, f"takes no {', '.join(missing)}")
    policy = _policy_loss(path, renderings)
    if policy:
        return row(DROPPED, policy)
    return row(DOES_NOT_REACH, "declared and sent, but answered at chance")


def _rendering(record: TrialRecord, request: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the transport made of the trial's media (kept with the journaled request)."""
    found = (record.request or request or {}).get("rendering")
    return found if isinstance(found, dict) else record.response.rendering


def _correct(record: TrialRecord) -> bool:
    score = record.score
    if score is None or score.error:
        return False
    return bool(score.values.get("accuracy", 0.0) >= 1.0)


def _policy_loss(path: ProbePath, renderings: Sequence[dict[str, Any] | None]) -> str:
    """What the transport did to the signal this path needs, in words ("" when nothing)."""
    reasons: list[str] = []
    for rendering in renderings:
        if not rendering:
            continue
        for entry in rendering.get("dropped", []):
            kind = str(entry.get("kind"))
            if Modality(kind) in path.needs or (kind == "video" and path.name == "video-frames"):
                reasons.append(f"{kind} dropped ({entry.get('why')})")
        if Modality.AUDIO in path.needs and rendering.get("transcript"):
            reasons.append("audio sent as a speech transcript")
        if path.name == "audio-channels":
            for entry in rendering.get("audio", []):
                if " 1 channel(s)" in f" {entry.get('sent', '')}":
                    reasons.append(f"channels not kept ({entry.get('sent')})")
        if path.name == "timing":
            for entry in rendering.get("frames", []):
                if entry.get("timestamps_sent") is False:
                    reasons.append("video frames sent without their timestamps")
        if path.name == "video-soundtrack":
            for entry in rendering.get("video", []):
                if "without its audio" in str(entry.get("sent")) and not rendering.get("audio"):
                    reasons.append("the video's soundtrack was removed")
    return "; ".join(dict.fromkeys(reasons))


def _sent(renderings: Sequence[dict[str, Any] | None], has_transport: bool) -> str:
    """A short account of what the transport sent for the path (its first trial's)."""
    for rendering in renderings:
        if rendering is None:
            continue
        bits: list[str] = []
        for key, entries in rendering.items():
            for entry in entries:
                if key == "frames":
                    stamps = "with" if entry.get("timestamps_sent", True) else "without"
                    bits.append(f"{len(entry.get('timestamps', []))} frames {stamps} timestamps")
                elif key == "transcript":
                    bits.append("audio as transcript")
                elif key == "dropped":
                    bits.append(f"{entry.get('kind')} dropped")
                else:
                    bits.append(f"{key}: {entry.get('sent')}")
        return "; ".join(dict.fromkeys(bits)) or "text only"
    return "text only" if has_transport else IN_PROCESS


def table_rows(rows: Sequence[PathVerdict]) -> list[list[str]]:
    """The probe table as text cells: path, declared, sent, accuracy vs chance, verdict."""
    return [
        [
            row.path,
            row.declared,
            row.sent,
            f"{row.correct}/{row.n} (chance {row.chance:.2f}, p={row.p_value:.3g})",
            row.verdict + (f": {row.why}" if row.why else ""),
        ]
        for row in rows
    ]


TABLE_HEADER = ["path", "declared", "sent", "accuracy", "verdict"]


def markdown(rows_by_model: dict[str, Sequence[PathVerdict]]) -> str:
    lines = ["## Wiring probe", ""]
    for alias, rows in rows_by_model.items():
        lines += [f"### `{alias}`", "", "| " + " | ".join(TABLE_HEADER) + " |"]
        lines.append("|" + "---|" * len(TABLE_HEADER))
        lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(rows)]
        lines.append("")
    return "\n".join(lines)
