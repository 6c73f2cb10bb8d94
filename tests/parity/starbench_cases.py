"""The inputs of the STAR-Bench parity fixture (tests/parity/starbench_upstream.py): responses and
option sets for answer parsing and rotation, and the items and run responses of the whole-dataset
evaluations."""

from __future__ import annotations

import itertools

# Option sets the responses are parsed against (upstream's meta["options"] of one run).
OPTION_SETS: dict[str, list[str]] = {
    "pitch3": ["low", "medium", "high"],
    "side4": ["left", "right", "front", "behind"],
    "animal4": ["a dog", "a cat", "a bird", "a cow"],
    "order6": [" -> ".join(f"clip {k}" for k in p) for p in itertools.permutations((1, 2, 3))],
    "count10": [str(k) for k in range(1, 11)],
    "symbols": ["C++", "(a)", "1.5 kHz", "a/b"],
    "dup3": ["left", "right", "left"],
}

# (response, option set, index of the right option in that set)
RESPONSES: list[tuple[str, str, int]] = [
    # terse
    ("A", "side4", 0),
    ("B.", "side4", 1),
    ("C", "side4", 1),
    ("  D  ", "side4", 3),
    # bracketed
    ("<C>", "side4", 2),
    ("(D)", "side4", 3),
    ("[B]", "side4", 1),
    ("{A}", "side4", 0),
    ("( b )", "side4", 1),
    ("<A>: low", "pitch3", 0),
    ("**B**", "side4", 1),
    ("B) right", "side4", 1),
    # keyword forms
    ("Answer: b", "side4", 1),
    ("answer:d", "side4", 3),
    ("ANSWER: D", "side4", 3),
    ("Answer: <C>", "side4", 2),
    ("The answer is B.", "side4", 1),
    ("The answer is: ( b )", "side4", 1),
    ("The correct option is (D) because the sound moves to the back.", "side4", 3),
    ("solution {C}", "side4", 2),
    ("Choice: E", "side4", 0),
    ("Option A is wrong; the answer is C", "side4", 2),
    ("(A) is unlikely; answer: B", "side4", 1),
    ("Answer: (B) ... no, Answer: C", "side4", 1),
    ("Answer: A. Explanation: B is wrong because it is quieter.", "side4", 0),
    ("A dog is barking, so the answer is <B>.", "animal4", 1),
    ("The answer is a dog.", "animal4", 0),
    # Chinese keywords
    ("答案是C", "side4", 2),
    ("答案是 b", "side4", 1),
    ("选项是：<B>", "side4", 1),
    ("答案：A", "side4", 0),
    # lower case without a keyword
    ("b", "side4", 1),
    ("a", "animal4", 0),
    # option text only
    ("The sound source is on the right.", "side4", 1),
    ("right", "side4", 1),
    ("Right side", "side4", 1),
    ("It comes from behind the listener", "side4", 3),
    ("The pitch is high.", "pitch3", 2),
    ("The pitch goes from low to high", "pitch3", 2),
    ("It is Medium pitch.", "pitch3", 1),
    ("MEDIUM", "pitch3", 1),
    ("The lowest pitch", "pitch3", 0),
    ("Option text only: medium", "pitch3", 1),
    ("The order is clip 2 -> clip 3 -> clip 1", "order6", 3),
    ("The correct order is <E>: clip 3 -> clip 1 -> clip 2", "order6", 4),
    ("clip 1 -> clip 2 -> clip 3", "order6", 0),
    # several letters
    ("I think it is A, but maybe B.", "side4", 0),
    ("A or B", "side4", 1),
    ("A, C", "side4", 2),
    ("C D", "side4", 3),
    ("I cannot tell", "count10", 8),
    # trailing explanations
    ("B\nExplanation: the sound is louder in the left ear, so it is on the left.", "side4", 1),
    ("C. The pitch rises steadily over the clip.", "pitch3", 2),
    ("<B>\nThe second clip contains the car passing, which happens before the horn.", "order6", 1),
    # nothing
    ("None of the above.", "side4", 0),
    ("I cannot determine the direction.", "side4", 0),
    ("ERROR: timeout", "side4", 0),
    ("", "side4", 0),
    ("   ", "pitch3", 0),
    # adversarial additions (round 2)
    ("Answer: a", "side4", 0),
    ("To answer a question like this, I pick <C>.", "side4", 2),
    ("answer is (b)", "side4", 1),
    ("**Answer:** B", "side4", 1),
    ("Answer: **B**", "side4", 1),
    ("The answer is: E", "side4", 0),
    ("Option (C) and option (D)", "side4", 3),
    ("答案：<B>", "side4", 1),
    ("选项是（B）", "side4", 1),
    ("\uff21", "side4", 0),
    ("A.", "pitch3", 0),
    ("I think C++ is right", "symbols", 0),
    ("It is 1.5 kHz here", "symbols", 2),
    ("Surely (a) is the one", "symbols", 1),
    ("The count is 10 sounds", "count10", 9),
    ("There are 3 or 4 sounds", "count10", 3),
    ("Yes", "side4", 0),
    ("No", "side4", 0),
    ("x " * 2500 + "so the answer is C", "side4", 2),
    ("AAAA", "side4", 0),
    ("[A] [B] [C]", "side4", 2),
    ("(A)(B)", "side4", 1),
    ("{d}", "side4", 3),
    ("<answer>C</answer>", "side4", 2),
    ("ANSWER: (e)", "side4", 0),
    ("Choice: b) right", "side4", 1),
    ("ERROR: CUDA out of memory", "side4", 0),
    ("I choose the first option, A.", "side4", 0),
    ("Option A is wrong and option B is wrong, so C", "side4", 2),
    ("The left one", "side4", 0),
    ("left", "side4", 0),
    ("left or right?", "side4", 1),
    ("a dog", "animal4", 0),
    ("It's a dog.", "animal4", 0),
    ("It is a cat, not a dog", "animal4", 1),
    ("\u00c9A B", "side4", 1),
    ("B\u0301", "side4", 1),
    ("The answer is B\n\nAnswer: C", "side4", 2),
    ("solution: [D]", "side4", 3),
    ("The correct option is <b>", "side4", 1),
    ("left", "dup3", 2),
    ("It is on the left side", "dup3", 0),
    ("<C>", "dup3", 2),
    ("<A>", "dup3", 2),
]


# Whole-dataset evaluation (upstream's `evaluate` on a results file it wrote itself): the items
# of a small temporal and a small perception dataset, and the responses each run gets. A
# response "<right>" is replaced by the run's right letter in upstream's own `<X>` form.
RIGHT = "<right>"
RUN_RESPONSES = [RIGHT, "A", "Answer: b", "I cannot tell", "(C)", RIGHT, "<B>", RIGHT]
TR_ITEMS = [
    ("tr_OSM_0", "order", "OSM"),
    ("tr_OSM_1", "order", "OSM"),
    ("tr_ISSE_2", "order", "ISSE"),
    ("tr_TAO_3", "causal", "TAO"),
    ("tr_DSS_4", "causal", "DSS"),
    ("tr_ETC_5", "causal", "ETC"),
    ("tr_ETC_6", "causal", "ETC"),
]
# (id, category, sub-category, number of options); "loudness" appears under two categories
PC_ITEMS = [
    ("pc_0", "spatial", "direction", 4),
    ("pc_1", "spatial", "direction", 4),
    ("pc_2", "spatial", "distance", 3),
    ("pc_3", "spatial", "loudness", 2),
    ("pc_4", "non-spatial", "pitch", 3),
    ("pc_5", "non-spatial", "pitch", 5),
    ("pc_6", "non-spatial", "pitch", 2),
    ("pc_7", "non-spatial", "duration", 4),
    ("pc_8", "non-spatial", "loudness", 3),
    ("pc_9", "non-spatial", "count", 5),
]
