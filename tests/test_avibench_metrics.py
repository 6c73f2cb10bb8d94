"""AVI-Bench metric edge cases in both modes, against values worked out by hand from upstream's
formulas (eval/level_metrics at 2ba4eb0b): parity reproduces upstream's quirks, the default
mode corrects them."""

from __future__ import annotations

import math
from typing import Any

import pytest

from omnieval.benchmarks.avibench import metrics_default as fixed
from omnieval.benchmarks.avibench import metrics_parity as upstream
from omnieval.benchmarks.avibench.extract import extract, read_answer
from omnieval.benchmarks.avibench.layout import Shape

YES_NO = ["yes", "no", "not sure"]


def answer(shape: Shape, text: str, options: Any = None, label: str | None = None) -> Any:
    return extract(shape, text, options, label).value["answer"]


# --------------------------------------------------------------------------- IoU


def test_iou_edge_cases() -> None:
    assert upstream.iou_xyxy([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    assert upstream.iou_xyxy([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0  # empty boxes: union 0
    # a reversed box keeps its negative area: union 4 + (-4) - 0 = 0 -> 0, not an error
    assert upstream.iou_xyxy([0, 0, 2, 2], [2, 0, 0, 2]) == 0.0
    assert upstream.iou_xyxy([5, 5, 6, 6], [0, 0, 1, 1]) == 0.0


# --------------------------------------------------------------------------- QA


@pytest.mark.parametrize(
    ("text", "label", "options", "parity", "default"),
    [
        ("The answer is: **Yes**", "yes", YES_NO, 1.0, 1.0),
        ("Not sure, but yes.", "yes", YES_NO, 0.0, 0.0),  # the earliest option wins
        ("I count 2 drums", "2", None, 1.0, 1.0),
        ("There are two drums, maybe 3", "2", None, 0.0, 0.0),  # the first integer is 3
        ("two drums", "2", None, 0.0, 1.0),  # default reads number words
        ("cube", "Cube", ["Cube", "Sphere", "None", "not sure"], 1.0, 1.0),
        ("", "yes", YES_NO, 0.0, 0.0),  # unparseable
        ("maybe", "yes", YES_NO, 0.0, 0.0),
    ],
)
def test_full_match(text: str, label: str, options: Any, parity: float, default: float) -> None:
    assert upstream.full_match(text, label, options) == parity
    assert fixed.choice_correct(answer("choice", text, options, label), label) == default


def test_full_match_literal_string_options_are_read_character_by_character() -> None:
    # upstream iterates a literal options string: its earliest "option" is a single letter
    assert upstream.full_match("n, not y", "n", "yn") == 1.0
    assert upstream.full_match("n, not y", "n", ["yn"]) == 0.0


@pytest.mark.parametrize(
    ("text", "parity", "default"),
    [
        ("#blue;red#", 1.0, 1.0),
        ("#Red; Blue#", 1.0, 1.0),
        ("#red;red;blue#", 0.0, 1.0),  # duplicates: a sorted list vs a set
        ("The answer is #red;blue#", 0.0, 1.0),  # text around the #...# span
        ("#red#", 0.0, 0.0),
        ("", 0.0, 0.0),
    ],
)
def test_multi_answers(text: str, parity: float, default: float) -> None:
    assert upstream.multi_match(text, "red;blue") == parity
    assert fixed.multi_correct(answer("multi", text), "red;blue") == default


# --------------------------------------------------------------------------- counting


GOLD = {"dog": 2, "cat": 1}


def test_counting_items() -> None:
    # a partial answer: F1 2/3; errors |3-2| = 1 and tau 7 for the missing cat -> mean 4
    both = {"semantic": pytest.approx(2 / 3), "count_error": 4.0}
    assert upstream.mic_item("AMIC", "answer={'dog': 3}", GOLD) == both
    assert fixed.mic_item("AMIC", answer("counts", "answer={'dog': 3}"), GOLD) == both
    # unparseable: semantic 0 and the true counts as errors, mean 1.5
    assert upstream.mic_item("AMIC", "two dogs", GOLD) == {"semantic": 0.0, "count_error": 1.5}
    assert fixed.mic_item("AMIC", answer("counts", "two dogs"), GOLD) == {
        "semantic": 0.0,
        "count_error": 1.5,
    }
    # a count that is not a number: upstream charges every true count (mean 1.5); the default
    # charges tau for that class only (dog 7, cat 0: mean 3.5)
    assert upstream.mic_item("AMIC", "{'dog': 'two', 'cat': 1}", GOLD)["count_error"] == 1.5
    assert fixed.mic_item("AMIC", answer("counts", "{'dog': 'two', 'cat': 1}"), GOLD) == {
        "semantic": pytest.approx(2 / 3),
        "count_error": 3.5,
    }
    # VMIC: recall over the true classes, and both counts >= 10 count as right
    vmic = {"car": 12, "tree": 1}
    text = "{'car': 15, 'tree': 1, 'bus': 2}"
    assert upstream.mic_item("VMIC", text, vmic) == {"semantic": 1.0, "count_error": 0.0}
    assert fixed.mic_item("VMIC", answer("counts", text), vmic) == {
        "semantic": 1.0,
        "count_error": 0.0,
    }
    # a missing VMIC class costs 12; the per-item error is capped at 20
    assert upstream.mic_item("VMIC", "{'car': 12}", vmic)["count_error"] == 6.0
    assert upstream.mic_item("AMIC", "{'dog': 90}", GOLD)["count_error"] == 20.0


def test_long_counting_answers_are_skipped_only_in_parity() -> None:
    text = "{'dog': 2, 'cat': 1}" + " " * 300
    assert upstream.mic_item("AMIC", text, GOLD) == {}  # in neither part
    assert fixed.mic_item("AMIC", answer("counts", text), GOLD) == {
        "semantic": 1.0,
        "count_error": 0.0,
    }


def test_counting_corpus() -> None:
    items = [{"semantic": 2 / 3, "count_error": 4.0}, {"semantic": 0.0, "count_error": 1.5}]
    rmse = math.sqrt((4.0**2 + 1.5**2) / 2)
    counting = 1 - math.tanh(0.3 * rmse)
    got = upstream.mic_corpus(items)
    assert got["Semantic"] == round(1 / 3, 5) and got["Instance"] == round(counting, 5)
    assert got["Average"] == round((1 / 3 + counting) / 2, 5)
    # a semantic mean of 0 forces the counting score to 0
    zero = upstream.mic_corpus([{"semantic": 0.0, "count_error": 0.0}])
    assert zero == {"Average": 0.0, "Semantic": 0.0, "Instance": 0.0}


# --------------------------------------------------------------------------- AVL

AVL_GOLD = {"bbox": {"dog_1": [10, 10, 20, 20], "cat_1": [30, 5, 10, 10]}, "original_wh": [64, 48]}
DOG = [10 / 64, 10 / 48, 30 / 64, 30 / 48]


def test_avl_units_and_matching() -> None:
    normalised = f"{{'dog_1': {DOG}}}"
    expected = {"iou": pytest.approx(1 / (2 + 1e-5)), "semantic_f1": pytest.approx(2 / 3)}
    got = upstream.avl_item(normalised, AVL_GOLD)
    assert got == {**expected, "instance_error": 1.0}
    assert fixed.avl_item(answer("boxes", normalised), AVL_GOLD) == got
    # 0-1000 units are divided by 1000
    thousand = f"{{'dog_1': {[v * 1000 for v in DOG]}}}"
    assert upstream.avl_item(thousand, AVL_GOLD)["iou"] == pytest.approx(1 / (2 + 1e-5))
    # pixel boxes below 1001 are read as 0-1000 units: far too small, IoU 0 (upstream's rule)
    assert upstream.avl_item("{'dog_1': [10, 10, 30, 30]}", AVL_GOLD)["iou"] == 0.0
    big = {"bbox": {"dog_1": [1000, 500, 500, 250]}, "original_wh": [2000, 1000]}
    assert upstream.avl_item("{'dog_1': [1000, 500, 1500, 750]}", big)["iou"] == pytest.approx(
        1 / (1 + 1e-5)
    )
    # duplicates: two predicted dogs for one true dog match once
    dupes = f"{{'dog_1': {DOG}, 'dog_2': {DOG}}}"
    one = {"bbox": {"dog_1": [10, 10, 20, 20]}, "original_wh": [64, 48]}
    assert upstream.avl_item(dupes, one) == {
        "iou": pytest.approx(1 / (1 + 1e-5)),
        "semantic_f1": 1.0,
        "instance_error": 0.0,
    }
    # a box string and a class name with another case still match (type = lower-cased label)
    assert upstream.avl_item(f"{{'Dog_1': '{DOG}'}}", one)["instance_error"] == 0.0


def test_avl_unparseable_answer_is_favourable_only_in_parity() -> None:
    assert upstream.avl_item("a dog on the left", AVL_GOLD) == {
        "iou": 0.0,
        "semantic_f1": 0.0,
        "instance_error": 0.0,
    }
    assert fixed.avl_item(answer("boxes", "a dog on the left"), AVL_GOLD) == {
        "iou": 0.0,
        "semantic_f1": 0.0,
        "instance_error": 2.0,
    }
    perfect = {"iou": 1.0, "semantic_f1": 1.0, "instance_error": 0.0}
    parity = upstream.avl_corpus([perfect, {"iou": 0.0, "semantic_f1": 0.0, "instance_error": 0.0}])
    assert parity == {"Average": 0.65, "mIoU": 0.5, "Instance": 1.0}
    default = upstream.avl_corpus(
        [perfect, {"iou": 0.0, "semantic_f1": 0.0, "instance_error": 2.0}]
    )
    instance = 1 - math.tanh(math.sqrt(2))
    assert default["Average"] == round(0.35 + 0.3 * instance, 5)


# --------------------------------------------------------------------------- retrieval


def test_retrieval_ranking() -> None:
    # parity sorts: [3, 1] -> [1, 3], so R@1 misses; the default keeps the model's order
    assert upstream.retrieval_list("[3, 1]") == [1, 3]
    assert upstream.retrieval_item([1, 3], [3]) == {
        "r1": 0.0,
        "r3": 1.0,
        "f1": pytest.approx(2 / 3),
        "confidence": 1.0,
    }
    assert fixed.retrieval(answer("indices", "[3, 1]"), [3])["r1"] == 1.0
    # the set's iteration order, not the sorted order: {3, 9} iterates 9 first
    assert upstream.retrieval_list("3 9") == [9, 3]
    assert upstream.retrieval_item(upstream.retrieval_list("3 9"), [3])["r1"] == 0.0
    # duplicates are dropped; an empty answer against an empty truth is F1 1
    assert answer("indices", "[2, 2, 0]") == [2, 0]
    assert upstream.set_f1([], []) == 1.0 and upstream.set_f1([1], []) == 0.0
    # more than six indices: confidence 0.3
    assert upstream.retrieval_item(list(range(7)), [0])["confidence"] == 0.3


def test_retrieval_corpus_penalties() -> None:
    hit = {"r1": 1.0, "r3": 1.0, "f1": 1.0, "confidence": 1.0}
    miss = {"r1": 0.0, "r3": 0.0, "f1": 0.0, "confidence": 1.0}
    two = upstream.retrieval_corpus([hit, miss], [[0], [0]])  # repeat rate 0.5 < 0.8: no penalty
    assert two == {"Average": 0.5, "Recall@1": 0.5, "Recall@3": 0.5, "F1_score": 0.5}
    ten = upstream.retrieval_corpus([hit] * 10, [[0]] * 10)  # repeat rate 0.9: penalty 0.9
    assert ten["Average"] == pytest.approx(0.9)
    wide = upstream.retrieval_corpus([hit, {**hit, "confidence": 0.3}], [[0], [1]])
    assert wide["Average"] == pytest.approx(0.65)


# --------------------------------------------------------------------------- AVLG

FRAMES = {"bbox": {"frame_0": [0, 0, 32, 24], "frame_1": None}, "original_wh": [64, 48]}


@pytest.mark.parametrize(
    ("text", "parity", "default"),
    [
        ("{'frame_0': [0, 0, 0.5, 0.5], 'frame_1': None}", 1.0, 1.0),
        ("{'frame_0': [0, 0, 0.5, 0.5]}", 1.0, 1.0),  # a missing frame is "no object"
        ("answer={'frame_0': [0, 0, 0.5, 0.5], 'frame_1': None}", 0.5, 1.0),  # prefix
        ("{'frame_0': [0, 0, 0.5, 0.5], 'frame_1': []}", 0.5, 1.0),  # refine's null -> []
        ("{'frame_0': [], 'frame_1': None}", 0.5, 0.5),  # a box expected, none given
        ("{'frame_0': [0, 0, 500, 500], 'frame_1': None}", 0.5, 1.0),  # 0-1000 units
        ("no idea", 0.5, 0.0),  # unparseable: the "no object" frame still scores in parity
    ],
)
def test_avlg_frames(text: str, parity: float, default: float) -> None:
    assert upstream.avlg_item(text, FRAMES) == pytest.approx(parity)
    assert fixed.avlg_item(answer("frames", text), FRAMES) == pytest.approx(default)


def test_refine_cleanup_turns_null_into_an_empty_list_only_in_parity() -> None:
    from omnieval.benchmarks.avibench.refine import default_cleanup

    reply = '```json\n{"frame_0": null}\n```'
    assert upstream.clean_refined(reply) == "{'frame_0': []}"
    assert read_answer("frames", default_cleanup(reply), None, None) == {"frame_0": None}


# --------------------------------------------------------------------------- captions


def test_caption_similarity_is_labelled_sbert_and_empty_captions_differ_by_mode() -> None:
    from omnieval.benchmarks.avibench.captions import CaptionMetricError, fense_score
    from omnieval.benchmarks.avibench.task import AviTask, Mode
    from omnieval.types import Sample, TextPart, TextTarget, Trial, TrialContext

    refs = ("a dog barks twice in a yard", "a small dog is barking")
    sample = Sample(
        id="00000",
        task="avibench/AVC",
        parts=(TextPart(text="Describe."),),
        target=TextTarget(references=refs),
        metadata={"text": "Describe.", "options": None},
    )
    trial = Trial(key="k", model="m", task="avibench/AVC", sample_id="00000", condition="default")
    ctx = TrialContext.create(trial, sample)
    scores = {}
    modes: tuple[Mode, ...] = ("default", "parity")
    for mode in modes:
        task = AviTask("avibench/AVC", "AVC", [sample], mode=mode)
        assert task.metric_names == ("sbert_sim(all-MiniLM-L6-v2)",)
        for text in ("a dog barks twice in a yard", "an engine hums", ""):
            extraction = extract("caption", text, None, None)
            scores[(mode, text)] = task.score(ctx, extraction).values
    name = "sbert_sim(all-MiniLM-L6-v2)"
    close = scores[("default", "a dog barks twice in a yard")][name]
    far = scores[("default", "an engine hums")][name]
    assert 0.6 < close < 1.0 and far < close - 0.3  # mean cosine over both references
    assert scores[("parity", "a dog barks twice in a yard")][name] == close
    assert scores[("default", "")] == {name: 0.0}  # an empty caption scores 0 ...
    assert scores[("parity", "")] == {}  # ... and upstream drops it from the mean
    try:
        import aac_metrics  # noqa: F401
    except ImportError:
        with pytest.raises(CaptionMetricError, match="aac-metrics"):
            fense_score("a dog", ["a dog barks"])
