"""Item reducers (`registry.reducers`): how an item's replicates (rotations, permutations,
repeats) become one item value.

A reducer receives the **full replicate set** of an item: every slot's value (a failed slot
counts 0) and its outcome (so `all` fails an item with a failed replicate). Built-ins:

- `item_mean`: the mean over the item's replicates (AA, every item weighs the same);
- `trial_mean`: the same item value, the item weighted by its replicate count (AA as a flat
  mean over trials, STAR-Bench's way);
- `all`: 1 if every replicate was answered and right (ACR);
- `any`: 1 if any replicate was right.

Register your own in a plugin module:

    from omnieval import registry
    from omnieval.scoring.reducers import Reducer

    registry.reducers.register("majority")(
        Reducer("majority", lambda values, outcomes: float(sum(values) * 2 > len(values)), True)
    )

and name it in a run config: `replicates: {scheme: repeat, k: 5, reducers: {MAJ: majority}}`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from omnieval import registry
from omnieval.types import Outcome


@dataclass(frozen=True)
class Reducer:
    """`reduce(values, outcomes) -> item value`; `binary` outputs are 0 or 1 (summarised with a
    Wilson interval); `by_trials` weighs each item by its replicate count."""

    name: str
    reduce: Callable[[Sequence[float], Sequence[Outcome]], float]
    binary: bool = False
    by_trials: bool = False


def _mean(values: Sequence[float], outcomes: Sequence[Outcome]) -> float:
    return sum(values) / len(values)


def _all_right(values: Sequence[float], outcomes: Sequence[Outcome]) -> float:
    clean = all(o is Outcome.SCORED for o in outcomes)
    return 1.0 if clean and all(v >= 1.0 for v in values) else 0.0


def _any_right(values: Sequence[float], outcomes: Sequence[Outcome]) -> float:
    return 1.0 if any(v >= 1.0 for v in values) else 0.0


registry.reducers.register("item_mean")(Reducer("item_mean", _mean))
registry.reducers.register("trial_mean")(Reducer("trial_mean", _mean, by_trials=True))
registry.reducers.register("all")(Reducer("all", _all_right, binary=True))
registry.reducers.register("any")(Reducer("any", _any_right, binary=True))


def reducer(name: str) -> Reducer:
    """The registered reducer `name` (a `RegistryError` lists the known ones)."""
    found = registry.reducers.get(name)
    if not isinstance(found, Reducer):
        raise TypeError(f"reducer {name!r} is registered as {found!r}, not a Reducer")
    return found
