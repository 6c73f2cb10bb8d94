"""Human ratings (`omnieval rate`) journaled as judge trials: role `human`, judge `human:<name>`.

One rating per (rater, trial): its judge key is a digest of the rater and the trial key, so
rating a trial again replaces the earlier rating, and a rater resumes where they stopped
(`rated_keys`). The answer is the judge response's text: `{"rating": 1-5, "comment": "..."}`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from omnieval.runner import rundir
from omnieval.runner.judge import JudgeJournal
from omnieval.runner.keys import canonical_json
from omnieval.types import Response

ROLE = "human"
PROMPT_VERSION = "rate-1"
_RATER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class RatingError(ValueError):
    """A rating that cannot be recorded (bad rater name, value or trial key)."""


def check_rater(name: str) -> str:
    if not _RATER.match(name):
        raise RatingError(f"rater name {name!r}: use 1-64 letters, digits, '_', '.', '@' or '-'")
    return name


def judge_of(rater: str) -> dict[str, str]:
    return {"provider": "human", "name": f"human:{rater}"}


def rating_key(rater: str, trial_key: str) -> str:
    return hashlib.sha256(f"human-rating\0{rater}\0{trial_key}".encode()).hexdigest()[:32]


def record_rating(
    run_dir: Path, rater: str, trial_key: str, rating: int, comment: str = ""
) -> None:
    """Journal one rating (committed before returning)."""
    check_rater(rater)
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise RatingError(f"rating must be an integer from 1 to 5, not {rating!r}")
    journal = JudgeJournal.open(run_dir / rundir.JOURNAL)
    try:
        exists = journal.connection.execute(
            "SELECT 1 FROM trials WHERE key = ?", (trial_key,)
        ).fetchone()
        if exists is None:
            raise RatingError(f"no trial with key {trial_key!r} in {run_dir}")
        answer = json.dumps({"rating": rating, "comment": comment[:4000]}, ensure_ascii=False)
        journal.put(
            rating_key(rater, trial_key),
            ROLE,
            trial_key,
            PROMPT_VERSION,
            judge_of(rater),
            json.dumps({"rater": rater, "protocol": PROMPT_VERSION}),
            Response(text=answer),
        )
        journal.flush()
    finally:
        journal.connection.close()


def rated_keys(run_dir: Path, rater: str) -> set[str]:
    """Trial keys this rater has rated already."""
    path = run_dir / rundir.JOURNAL
    if not path.is_file():
        return set()
    journal = JudgeJournal.open(path)
    try:
        rows = journal.connection.execute(
            "SELECT parent_key FROM judge_trials WHERE role = ? AND judge = ?",
            (ROLE, canonical_json(judge_of(rater))),
        ).fetchall()
    finally:
        journal.connection.close()
    return {row[0] for row in rows}
