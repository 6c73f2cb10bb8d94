"""Per-object (DAVIS) versus per-expression (MeViS-style, upstream) averaging of mask scores.

Each mask item is one referring expression about one object (`<dataset>/<scene>/<obj_id>`, the
object being `obj<n>` from the id's `_<n>`). Per expression, every item counts once (upstream's
category J&F). Per object, the expressions of one object in one scene are averaged first, then
the objects (the DAVIS convention: every object counts once).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from omnieval.scoring.tree import CorpusMetric
from omnieval.types import MetricKind, MetricSpec, TrialRecord

Averaging = Literal["expression", "object"]
_OBJECT = re.compile(r"_(\d+)$")


def object_key(sample_id: str) -> str:
    """`<dataset>/<scene>/obj<n>` for a mask item id `<dataset>/<scene>/<obj_id>`."""
    head, _, obj_id = sample_id.rpartition("/")
    match = _OBJECT.search(obj_id)
    return f"{head}/obj{match.group(1)}" if match else sample_id


def per_object_mean(records: Sequence[TrialRecord], metric: str) -> float:
    by_object: dict[str, list[float]] = {}
    for record in records:
        if record.score is None:
            continue
        value = record.score.values.get(metric, 0.0)
        by_object.setdefault(object_key(record.trial.sample_id), []).append(value)
    if not by_object:
        return 0.0
    return sum(sum(v) / len(v) for v in by_object.values()) / len(by_object)


def per_object_metric(name: str, metric: str) -> CorpusMetric:
    return CorpusMetric(
        spec=MetricSpec(
            name=name,
            kind=MetricKind.BOUNDED,
            low=0.0,
            high=1.0,
            description=f"{metric} averaged per object (DAVIS): an object's expressions first",
        ),
        compute=lambda records: per_object_mean(records, metric),
    )
