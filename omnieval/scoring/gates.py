"""Gates: one sample's outcome zeroes or voids another's (a pre-question gating its formal
question), per model and condition, with the counts reported."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from omnieval.scoring.items import Item
from omnieval.scoring.tree import Gate
from omnieval.types import Sample


@dataclass
class GateCounts:
    gated: int = 0
    voided: int = 0
    missing: int = 0
    by_sample: dict[str, str] = field(default_factory=dict)  # sample id -> gated/voided/missing


def apply_gates(
    items: dict[tuple[str, str, str], dict[str, Item]],
    gates: Sequence[Gate],
    samples: dict[str, dict[str, Sample]],
    headlines: dict[str, str],
) -> dict[tuple[str, str, str], GateCounts]:
    """Zero or void gated items in place; counts per (model, condition, gated task)."""
    counts: dict[tuple[str, str, str], GateCounts] = defaultdict(GateCounts)
    for gate in gates:
        for (model, condition, task), by_sample in items.items():
            if task != gate.gated_task:
                continue
            gate_items = items.get((model, condition, gate.gate_task), {})
            tally = counts[(model, condition, task)]
            for sample_id in list(by_sample):
                sample = samples.get(task, {}).get(sample_id)
                linked = gate.link(sample) if sample is not None else None
                gate_ids = [linked] if isinstance(linked, str) else list(linked or ())
                found = [gate_items[g] for g in gate_ids if g in gate_items]
                if not found:
                    tally.missing += 1
                    tally.by_sample[sample_id] = "missing"
                    continue
                values = [item.values.get(headlines[gate.gate_task]) for item in found]
                if all(v is not None and gate.passes(v) for v in values):
                    continue
                if gate.effect == "void":
                    del by_sample[sample_id]
                    tally.voided += 1
                    tally.by_sample[sample_id] = "voided"
                else:
                    item = by_sample[sample_id]
                    item.values = {k: 0.0 for k in item.values}
                    item.slots = {k: [0.0] * len(v) for k, v in item.slots.items()}
                    item.gated = True
                    tally.gated += 1
                    tally.by_sample[sample_id] = "gated"
    return counts
