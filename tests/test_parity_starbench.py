"""STAR-Bench parity against upstream's own outputs (fixture written by upstream's code).

`tests/parity/fixtures/starbench.json` was produced by `tests/parity/starbench_upstream.py`, which
ran STAR-Bench's own `parse_multi_choice_response` / `evaluate_item`, its option rotation
(`RotationBasedDataset._prepare_options_and_audios`) and its temporal round robin
(`TemporalReasoningDataset._prepare_options_and_audios`, `_perm_by_roundrobin`) at the commit
recorded in the fixture. Nothing here re-derives the expected values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnieval.benchmarks.starbench.circular import (
    RUNS,
    permutation_replicates,
    present_clips,
    rotation_replicates,
)
from omnieval.benchmarks.starbench.extract import (
    extract_starbench_parity,
    parity_answer_letter,
    parity_correct,
)
from omnieval.benchmarks.starbench.summary import upstream_macro, upstream_percent
from omnieval.benchmarks.starbench.task import StarBenchmark
from omnieval.runner.transforms import rotate_choice
from omnieval.types import AudioPart, ChoiceTarget, Sample, TextPart

FIXTURE = Path(__file__).parent / "parity" / "fixtures" / "starbench.json"
DATA: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
EXTRACTION: list[dict[str, Any]] = DATA["extraction"]
ROTATION: list[dict[str, Any]] = DATA["rotation"]
PERMUTATION: list[dict[str, Any]] = DATA["permutation"]


def _letter(tagged: str) -> str:
    """Upstream's `<X>` as the bare letter X."""
    assert tagged.startswith("<") and tagged.endswith(">"), tagged
    return tagged[1:-1]


def test_fixture_comes_from_the_pinned_upstream_commit() -> None:
    assert DATA["upstream"] == "https://github.com/InternLM/StarBench"
    assert DATA["commit"] == "0daf8b02f21db316f8bccc4319f5b98b83b82c00"
    assert len(EXTRACTION) >= 40 and ROTATION and PERMUTATION
    predictions = {row["prediction"] for row in EXTRACTION}
    # the table reaches upstream's "Z" and its lower-case keyword letters
    assert "Z" in predictions and any(p[1:-1].islower() for p in predictions if p != "Z")
    # and every run upstream makes is covered
    assert {r["rotate_id"] for r in PERMUTATION if r["temporal_run"]} == set(range(3))
    for n in range(2, 7):
        runs = {r["rotate_id"] for r in ROTATION if len(r["options"]) == n}
        assert set(range(max(n, 3))) <= runs


@pytest.mark.parametrize(
    "row",
    EXTRACTION,
    ids=[f"{r['option_set']}:{json.dumps(r['response'])[:40]}" for r in EXTRACTION],
)
def test_parity_extraction_matches_upstream(row: dict[str, Any]) -> None:
    result = extract_starbench_parity(row["response"], row["options"])
    if row["prediction"] == "Z":
        assert (result.ok, result.value, result.rule) == (False, None, "starbench:none")
    else:
        assert (result.ok, result.value) == (True, _letter(row["prediction"]))
    target = ChoiceTarget(answer=_letter(row["answer_letter"]), options=tuple(row["options"]))
    assert parity_correct(result, target) is row["is_correct"]
    if len(set(row["options"])) < len(row["options"]):
        # the same answer text at a later position: still upstream's first one
        options = row["options"]
        later = max(i for i, o in enumerate(options) if o == options[ord(target.answer) - 65])
        moved = target.model_copy(update={"answer": chr(65 + later)})
        assert parity_correct(result, moved) is row["is_correct"]


@pytest.mark.parametrize(
    "row",
    ROTATION,
    ids=[f"n{len(r['options'])}-{r['answer'][-1]}-r{r['rotate_id']}" for r in ROTATION],
)
def test_rotation_matches_upstream(row: dict[str, Any]) -> None:
    """Our replicate for upstream's run r, applied to the item, shows upstream's options."""
    options = tuple(row["options"])
    letters = ChoiceTarget(answer="A", options=options).option_letters()
    target = ChoiceTarget(answer=letters[options.index(row["answer"])], options=options)
    r = row["rotate_id"]
    replicate = rotation_replicates(len(options), r + 1)[r]
    assert replicate.params["rotate_id"] == r
    shift = int(replicate.params["shift"])
    shown = rotate_choice(target, shift) if shift else target
    assert list(shown.options) == row["shown_options"]
    # upstream's right letter: the first option holding the answer text (items may repeat one)
    assert parity_answer_letter(shown) == _letter(row["answer_letter"])
    if len(set(options)) == len(options):
        assert shown.answer == _letter(row["answer_letter"])


def test_rotation_run_counts_match_upstream() -> None:
    """Perception runs r < n (one per option), spatial r < 3, as upstream's runner."""
    assert RUNS["perception"] is None and RUNS["spatial"] == 3
    for row in ROTATION:
        n = len(row["options"])
        assert row["perception_run"] == (row["rotate_id"] < n)
        assert row["spatial_run"] == (row["rotate_id"] < RUNS["spatial"])


def _temporal_sample(row: dict[str, Any]) -> Sample:
    clips = [f"/clips/{name}" for name in ("clip_1.wav", "clip_2.wav", "clip_3.wav")]
    return Sample(
        id=row["id"],
        task="starbench/tr",
        parts=tuple(AudioPart(path=Path(c)) for c in clips),
        target=ChoiceTarget(answer="A", options=tuple(row["options"])),
        metadata={"subcat_code": row["subcategory"], "subid": row["subid"], "clip_paths": clips},
    )


@pytest.mark.parametrize(
    "row", PERMUTATION, ids=[f"{r['id']}-r{r['rotate_id']}" for r in PERMUTATION]
)
def test_permutation_matches_upstream(row: dict[str, Any]) -> None:
    """Our replicate for upstream's run r shows the clips in upstream's order, options unmoved,
    and the right option is upstream's answer."""
    sample = _temporal_sample(row)
    r = row["rotate_id"]
    replicate = permutation_replicates(sample, r + 1)[r]
    assert replicate.params["rotate_id"] == r
    order = [int(k) for k in replicate.params["order"]]
    assert "-".join(str(k + 1) for k in order) == row["shuffled_seg_order"]
    seen = present_clips(sample, order)
    assert isinstance(seen.target, ChoiceTarget)
    assert list(seen.target.options) == row["shown_options"]
    assert (
        seen.target.options[seen.target.option_letters().index(seen.target.answer)]
        == (row["answer"])
    )
    assert seen.target.answer == _letter(row["answer_letter"])
    shown = [p.path.name for p in seen.parts if isinstance(p, AudioPart)]
    assert shown == row["audio_paths"]


AGGREGATES: dict[str, Any] = DATA["aggregates"]


def _our_runs(alias: str) -> list[tuple[dict[str, Any], int, float]]:
    """Each run of the fixture's dataset through our code: the item as our replicate for
    upstream's run r shows it, our parity extraction of upstream's response, our parity score."""
    section = AGGREGATES[alias]
    items = {item["id"]: item for item in section["items"]}
    found = []
    for run in section["runs"]:
        item, r = items[run["id"]], run["rotate_id"]
        options = tuple(item["options"])
        if alias == "tr":
            sample = _temporal_sample(
                {
                    "id": item["id"],
                    "options": options,
                    "subcategory": item["sub-category"],
                    "subid": int(item["id"].rsplit("_", 1)[1]),
                }
            )
            order = [int(k) for k in permutation_replicates(sample, r + 1)[r].params["order"]]
            shown = present_clips(sample, order).target
        else:
            letters = ChoiceTarget(answer="A", options=options).option_letters()
            target = ChoiceTarget(answer=letters[options.index(item["answer"])], options=options)
            shift = int(rotation_replicates(len(options), r + 1)[r].params["shift"])
            shown = rotate_choice(target, shift) if shift else target
        assert isinstance(shown, ChoiceTarget)
        assert list(shown.options) == run["options"]
        value = float(
            parity_correct(extract_starbench_parity(run["response"], shown.options), shown)
        )
        assert bool(value) is run["is_correct"], (run["id"], r, run["response"])
        found.append((item, r, value))
    return found


def _aa_acr(runs: list[tuple[dict[str, Any], int, float]]) -> tuple[float, float]:
    """AA (`trial_mean`: mean over runs) and ACR (`all`: items right in every run)."""
    by_item: dict[str, list[float]] = {}
    for item, _, value in runs:
        by_item.setdefault(item["id"], []).append(value)
    aa = sum(v for _, _, v in runs) / len(runs)
    acr = sum(all(v == 1.0 for v in vs) for vs in by_item.values()) / len(by_item)
    return aa, acr


def _pct(text: str) -> float:
    return float(text.rstrip("%"))


def test_temporal_evaluation_matches_upstream() -> None:
    """Upstream's `evaluate` on its own results file: Total and By Sub-category are micro over
    runs (AA) and over items (ACR), in percent with two decimals."""
    runs = _our_runs("tr")
    performance = AGGREGATES["tr"]["performance"]
    aa, acr = _aa_acr(runs)
    assert upstream_percent(aa) == _pct(performance["Total"]["AA"])
    assert upstream_percent(acr) == _pct(performance["Total"]["ACR"])
    for sub, expected in performance["By Sub-category"].items():
        mine = [run for run in runs if run[0]["sub-category"] == sub]
        assert len(mine) == expected["total_runs"]
        sub_aa, sub_acr = _aa_acr(mine)
        assert upstream_percent(sub_aa) == _pct(expected["AA"])
        assert upstream_percent(sub_acr) == _pct(expected["ACR"])


def test_perception_evaluation_matches_upstream() -> None:
    """Upstream's perception Total is the mean of the sub-categories' two-decimal percents,
    rounded again (here 5.55, where the exact macro gives 5.56); categories take a
    sub-category's first row's category; ours is `summary.upstream_macro`."""
    runs = _our_runs("pc")
    performance = AGGREGATES["pc"]["performance"]
    subs: dict[str, list[tuple[dict[str, Any], int, float]]] = {}
    for run in runs:
        subs.setdefault(run[0]["sub-category"], []).append(run)
    assert set(subs) == set(performance["By Sub-category"])
    rounded = {}
    for sub, mine in subs.items():
        aa, acr = _aa_acr(mine)
        rounded[sub] = (upstream_percent(aa), upstream_percent(acr))
        assert rounded[sub] == (
            _pct(performance["By Sub-category"][sub]["AA"]),
            _pct(performance["By Sub-category"][sub]["ACR"]),
        )
    total = performance["Total"]
    assert upstream_macro([aa for aa, _ in rounded.values()]) == _pct(total["AA"])
    assert upstream_macro([acr for _, acr in rounded.values()]) == _pct(total["ACR"])
    exact = sum(_aa_acr(mine)[1] for mine in subs.values()) / len(subs)
    assert upstream_percent(exact) != _pct(total["ACR"])  # the fixture shows the rounding
    for category, expected in performance["By Category"].items():
        names = [s for s, mine in subs.items() if mine[0][0]["category"] == category]
        assert len(names) == expected["n_subcategories"]
        assert upstream_macro([rounded[s][0] for s in names]) == _pct(expected["AA"])


PROMPTS: list[dict[str, Any]] = DATA["prompts"]
_META = {
    "pc": "meta_info/foundation_perception.json",
    "sr": "meta_info/holistic_reasoning_spatial.json",
    "tr": "meta_info/holistic_reasoning_temporal.json",
}


@pytest.fixture(scope="module")
def prompt_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release layout holding the fixture's prompt items (empty audio files)."""
    root = tmp_path_factory.mktemp("starbench-prompts")
    for row in PROMPTS:
        item = row["item"]
        meta = root / _META[item["task"]]
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps([item]), encoding="utf-8")
        for rel in [*item["audio_paths"], item.get("uncut_audio_path")]:
            if rel:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(b"")
    return root


def _as_upstream(part: Any) -> dict[str, str]:
    if isinstance(part, TextPart):
        return {"type": "text", "value": part.text}
    assert isinstance(part, AudioPart)
    if part.channel:  # upstream gives sr_ch the split files <stem>_left.wav / <stem>_right.wav
        return {"type": "audio", "value": f"{part.path.stem}_{part.channel}.wav"}
    return {"type": "audio", "value": part.path.name}


@pytest.mark.parametrize("row", PROMPTS, ids=[f"{r['alias']}-r{r['rotate_id']}" for r in PROMPTS])
def test_request_matches_upstream_prompt(row: dict[str, Any], prompt_root: Path) -> None:
    """Our request for upstream's run r (after its replicate is applied) has upstream's text and
    audio parts in upstream's order, and upstream's answer letter."""
    bench = StarBenchmark(data_dir=prompt_root, data=row["alias"], scoring="starbench")
    [task] = bench.tasks()
    sample = task.samples()[0]
    r = row["rotate_id"]
    if row["alias"].startswith("tr"):
        order = [int(k) for k in permutation_replicates(sample, r + 1)[r].params["order"]]
        shown = present_clips(sample, order)
    else:
        target = sample.target
        assert isinstance(target, ChoiceTarget)
        shift = int(rotation_replicates(len(target.options), r + 1)[r].params["shift"])
        shown = (
            sample.model_copy(update={"target": rotate_choice(target, shift)}) if shift else sample
        )
    request = task.build_request(shown, task.default_conditions[0])
    assert [_as_upstream(p) for p in request.parts] == row["parts"]
    assert isinstance(shown.target, ChoiceTarget)
    assert parity_answer_letter(shown.target) == _letter(row["answer_letter"])
