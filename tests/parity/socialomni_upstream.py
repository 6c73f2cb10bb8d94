"""Write the V-SYNC Levels 2/3 (SocialOmni) parity fixture by running upstream's own code.

This script is not a test and is not imported by the test suite. SocialOmni (V-SYNC's successor,
same code base) is the only upstream with a Level 2 ("when") / Level 3 ("how") pipeline:
`models/pipeline/level2_pipeline.py`. The script imports it from a checkout (nothing of it is
copied here), runs its functions on the tables below and writes what they returned to
`tests/parity/fixtures/socialomni_<commit7>.json`; `tests/test_parity_vsync_level23.py` checks
omnieval's `vsync-level2` parity code against every row.

Sections (all computed by upstream's code; `Level2Pipeline` instances are made without
`__init__` where a method reads no state):

- `when`: `Level2Pipeline._normalize_q1_prediction(answer)` of each answer in `WHEN_ANSWERS`,
  after `_infer_with_retry`'s strip (an answer empty after it raises, which upstream records as
  an error row: `empty: true`);
- `verdict`: `_parse_judge_score(reply)` of each judge reply in `VERDICTS`;
- `timestamp`: `_parse_timestamp_to_seconds(value)` of each value in `TIMESTAMPS`;
- `prompts`: `_build_q1_prompt` / `_build_q2_prompt` of a sample without `full_asr`, joined with
  the question as its HTTP client sends them (`user_prompt + "\\n\\n" + question`);
- `judge_request`: the chat request `_judge_q2` posts (captured at a loopback server);
- `run`: upstream's whole `Level2Pipeline.run` over the dataset `RUN` with a model client
  answering from that table, its judge (`OpenAICompatTester`) at a loopback server answering
  the verdicts of the table, and its payload (`q1_accuracy`, `q1_correct`, `q1_total`,
  `q2_avg_score`, `q2_count`, each row). The ffmpeg cut of the prefix is replaced by writing a
  placeholder file (it decides what the model sees, not how answers are scored).

How the committed fixtures were made (two upstream versions; the first is the one the
`socialomni` scoring reproduces, the second the current MAC-AutoML repository):

    G=$(path to a mirror of https://github.com/Alexisxty/SocialOmni)
    mkdir /tmp/so-956463a
    git --git-dir=$G archive 956463a config models/__init__.py models/pipeline models/utils \\
        | tar -x -C /tmp/so-956463a
    python tests/parity/socialomni_upstream.py --checkout /tmp/so-956463a \\
        --repo https://github.com/Alexisxty/SocialOmni \\
        --commit 956463adad91d7e49c801f458b1df6f9f7a3a1ee

    G=$(path to a mirror of https://github.com/MAC-AutoML/SocialOmni)
    mkdir /tmp/so-0fab46a
    git --git-dir=$G archive 0fab46a config models/__init__.py models/pipeline models/utils \\
        | tar -x -C /tmp/so-0fab46a
    python tests/parity/socialomni_upstream.py --checkout /tmp/so-0fab46a \\
        --repo https://github.com/MAC-AutoML/SocialOmni \\
        --commit 0fab46ac73387675afc44c48f126e56615dbefb6

Upstream needs `requests`, `pyyaml` and `python-dotenv`; its logs go to a temporary root.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"

WHEN_ANSWERS: list[str | None] = [
    "A",
    "B",
    "a",
    "b",
    " A ",
    "A.",
    "B)",
    "(A)",
    "[B]",
    "**A**",
    "**B**",
    "Yes",
    "No",
    "yes.",
    "NO",
    "Yes, they should speak now.",
    "No, the other person is still talking.",
    "Absolutely not",
    "Absolutely, yes",
    "Both A and B are possible",
    "A or B",
    "B or A",
    "Answer: A",
    "Answer: B",
    "answer: b",
    "The answer is B.",
    "Final answer: A",
    "Option B",
    "Choice A",
    "Correct answer is B",
    "I think the answer is A, but B is possible.",
    "I don't know",
    "I cannot tell",
    "Not sure",
    "None",
    "Maybe",
    "It depends",
    "C",
    "D",
    "C. Maybe",
    "Based on the video, no.",
    "Because the woman is still talking, B",
    "Definitely yes",
    "Yesterday",
    "Nobody should speak",
    "Sure",
    "<think>She is still speaking, so no.</think>\nB",
    "<think>The speaker has finished.</think>A",
    "<think>maybe B</think>",
    "Reasoning: the speaker paused.\nAnswer: A",
    "Reasoning: the speaker paused.\nanswer is b",
    "assistant\nA",
    "user: should she speak?\nassistant: B",
    "<|im_start|>assistant\nA<|im_end|>",
    "A, because the speaker finished",
    "B: No",
    "A：Yes",
    "B，不",
    "答案是A",
    "是",
    "否",
    "\uff21",
    "\u00c0",
    "\u200bA",
    "AB",
    "BA",
    "1",
    "0",
    "x" * 2000 + " B",
    "B " + "x" * 2000,
    "A" + "\n" * 3 + "B",
    "<THINK>A</THINK> B",
    "\u0130\u0130\u0130</think>B",
    "Some reasoning\nAnswer is B\nbut maybe A",
    "system\nuser\nassistant\nB\nuser\nA",
    "x" * 1300 + "\nanswer: B",
    "The final answer is: A",
    "OPTIONB",
    "Answer is not A",
    "I'd say: a.",
    "<think>long thought</think>",
    "<think>yes</think>no",
    "assistant:\n\nuser: A",
    "Correct choice B.",
    "Known issue",
    "\u00c5",
    "B\n",
    "  b)  ",
    "",
    "   ",
    "\n",
    None,
]

VERDICTS: list[str | None] = [
    "75",
    "100",
    "0",
    "25",
    "50",
    " 75 ",
    "75.",
    "Score: 75",
    "75/100",
    "62.5",
    "37.5",
    "12.5",
    "87.5",
    "62.4",
    "62.6",
    "-5",
    "-50",
    "150",
    "1000",
    "1e2",
    "0.5",
    "99.9",
    "seventy-five",
    "",
    "N/A",
    "Score 4 out of 5",
    "I'd give it a 50, maybe 75",
    "**75**",
    "The candidate earns 100 points",
    "100%",
    "٧٥",
    "\uff17\uff15",
    "3.",
    ".5",
    None,
]

TIMESTAMPS: list[Any] = [
    "00:17:00",
    "00:17:45",
    "01:17:00",
    "00:05:30",
    "1:05",
    "0:27",
    "17",
    "17.5",
    " 00:17:00 ",
    "00:17.5:00",
    "1:2:3:4",
    "00:xx:00",
    "abc",
    "",
    None,
    17,
    17.5,
    "-3",
    "1:-5",
    "00:00:00",
]

# The whole run. Per item: id, gold ("A" YES / "B" NO, as written in the dataset), the when
# answer (RAISE: the model call raises every time), the how answer, the judge's reply (FAIL: the
# judge's HTTP call fails).
RAISE = "<model raises>"
FAIL = "<judge http 500>"
RUN: list[tuple[str, str, str, str, str]] = [
    ("s01", "A", "A", "Sure, let me add one thing about the trip.", "75"),
    ("s02", "A", "B", "unused", "unused"),
    ("s03", "B", "B", "unused", "unused"),
    ("s04", "B", "Yes", "unused", "unused"),
    ("s05", "A", "I don't know", "unused", "unused"),
    ("s06", "A", "A", "", "unused"),
    ("s07", "A", "A", "Fine.", "zero points"),
    ("s08", "A", "**A**", "Okay, go on.", "Score: 62.5"),
    ("s09", "A", "A", "Hello there.", FAIL),
    ("s10", "B", RAISE, "unused", "unused"),
    ("s11", "a", "A", "Yes, I agree with you.", "100"),
    ("s12", "A", "Answer: A", "Let me think.", "25/100"),
    ("s13", "B", "", "unused", "unused"),
    ("s14", "A", "<think>no</think>A", "Right, thanks.", "50"),
    ("s15", "A", "Absolutely not", "No way.", "0"),
    ("s16", "B", "Absolutely not", "unused", "unused"),
    ("s17", "A", "A", "Sure.", "-10"),
    ("s18", "A", RAISE, "unused", "unused"),
]


class _Server(BaseHTTPRequestHandler):
    """The judge's OpenAI-compatible endpoint: the verdict for the candidate in the request."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.server.requests.append(body)  # type: ignore[attr-defined]
        text = body["messages"][0]["content"][0]["text"]
        candidate = re.search(r"\[Candidate\]\n(.*?)\n", text, re.S)
        verdicts = self.server.verdicts  # type: ignore[attr-defined]
        verdict = verdicts.get(candidate.group(1) if candidate else "", "50")
        if verdict == FAIL:
            self.send_error(500)
            return
        data = json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": verdict}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _when(pipeline: Any) -> list[dict[str, Any]]:
    rows = []
    for text in WHEN_ANSWERS:
        stripped = (text or "").strip()  # `_infer_with_retry`: an empty answer raises
        prediction = pipeline._normalize_q1_prediction(stripped) if stripped else ""
        rows.append({"text": text, "empty": not stripped, "prediction": prediction})
    return rows


def _sample(item_id: str, gold: str) -> dict[str, Any]:
    yes = gold.strip().upper() == "A"
    return {
        "video_id": item_id,
        "video_file": "clip.mp4",
        "question_1": {
            "question": "Should the woman in green speak at the 3rd second?",
            "timestamp": "00:03:00",
            "option_A": "Yes",
            "option_B": "No",
            "correct_answer": gold,
        },
        "question_2": {
            "question": "What should the woman in green say?",
            "answer": "Sure, let me add one thing about the trip." if yes else "",
        },
        "metadata": {"num_people": 3},
        "full_asr": "",
    }


def _run(pipeline_cls: Any, config_cls: Any, scratch: Path) -> dict[str, Any]:
    from models.pipeline.types import InferenceResult

    when = {item_id: answer for item_id, _, answer, _, _ in RUN}
    how = {item_id: answer for item_id, _, _, answer, _ in RUN}

    class _Client:
        model_name = "parity"

        def predict(self, request: Any) -> Any:
            item_id = request.metadata["sample_id"]
            answer = when[item_id] if request.options else how[item_id]
            if answer == RAISE:
                raise RuntimeError("model server unreachable")
            return InferenceResult(answer=answer, raw_response=answer)

    videos = scratch / "videos"
    videos.mkdir()
    (videos / "clip.mp4").write_bytes(b"not decoded")
    dataset = [_sample(item_id, gold) for item_id, gold, _, _, _ in RUN]
    dataset_path = scratch / "annotations.json"
    dataset_path.write_text(json.dumps(dataset), encoding="utf-8")
    config = config_cls(
        dataset_path=dataset_path,
        video_dir=videos,
        output_path=scratch / "results_level2.json",
        log_dir=scratch / "logs",
        max_retries=1,
        retry_delay=0.0,
    )
    pipeline = pipeline_cls(_Client(), config)

    def cut(source: Path, seconds: float, out: Path) -> bool:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"prefix placeholder")
        return True

    pipeline._cut_video_at_timestamp = cut
    payload = pipeline.run()
    keys = ("video_id", "q1_correct", "q1_prediction", "q1_answer", "q2_score", "error")
    return {
        "dataset": dataset,
        "when_answers": when,
        "how_answers": how,
        "verdicts": {item_id: v for item_id, _, _, _, v in RUN},
        "raise": RAISE,
        "judge_fail": FAIL,
        "q1_accuracy": payload["q1_accuracy"],
        "q1_correct": payload["q1_correct"],
        "q1_total": payload["q1_total"],
        "q2_avg_score": payload["q2_avg_score"],
        "q2_count": payload["q2_count"],
        "results": [{k: r.get(k) for k in keys} for r in payload["results"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, required=True, help="SocialOmni source tree")
    parser.add_argument("--repo", required=True, help="the upstream repository's URL")
    parser.add_argument("--commit", required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="socialomni-upstream-"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    server.requests = []  # type: ignore[attr-defined]
    server.verdicts = {how: v for _, _, _, how, v in RUN}  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ.update(
        {
            "V_SYNC_ROOT": str(scratch),
            "SOCIALOMNI_ROOT": str(scratch),
            "OPENAI_API_BASE": f"http://127.0.0.1:{server.server_address[1]}",
            "V_SYNC_OPENAI_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}",
            "OPENAI_API_KEY": "parity",
            "V_SYNC_OPENAI_API_KEY": "parity",
        }
    )
    sys.path.insert(0, str(args.checkout.resolve()))
    # the root (logs) also holds upstream's config/config.yaml, which its settings read
    shutil.copytree(args.checkout.resolve() / "config", scratch / "config", dirs_exist_ok=True)
    from models.pipeline.level2_pipeline import Level2Config, Level2Pipeline

    bare = Level2Pipeline.__new__(Level2Pipeline)
    when = _when(bare)
    verdict = [{"text": t, "score": bare._parse_judge_score(t)} for t in VERDICTS]
    timestamp = [{"value": v, "seconds": bare._parse_timestamp_to_seconds(v)} for v in TIMESTAMPS]
    plain = _sample("p01", "A")
    unlabelled = _sample("p02", "A")  # no option texts: upstream's prompt falls back to YES / NO
    del unlabelled["question_1"]["option_A"], unlabelled["question_1"]["option_B"]
    prompts = [
        {
            "sample": sample,
            "when_text": bare._build_q1_prompt(sample) + "\n\n" + sample["question_1"]["question"],
            "how_text": bare._build_q2_prompt(sample) + "\n\n" + sample["question_2"]["question"],
        }
        for sample in (plain, unlabelled)
    ]
    try:
        run = _run(Level2Pipeline, Level2Config, scratch)
        server.requests.clear()  # type: ignore[attr-defined]
        judge = Level2Pipeline.__new__(Level2Pipeline)
        judge._judge_tester = None
        judge._judge_model_cfg = {}
        judge._judge_q2("Sure, let me add one thing.", "Okay, go on.", str(scratch / "x.mp4"))
        request = server.requests[0]  # type: ignore[attr-defined]
    finally:
        server.shutdown()
    judge_request = {
        "reference": "Sure, let me add one thing.",
        "candidate": "Okay, go on.",
        "text": request["messages"][0]["content"][0]["text"],
        "parts": len(request["messages"][0]["content"]),
        "params": {k: v for k, v in request.items() if k != "messages"},
    }
    commit = args.commit
    fixture = {
        "upstream": args.repo,
        "commit": commit,
        "file": "models/pipeline/level2_pipeline.py",
        "functions": [
            "Level2Pipeline._normalize_q1_prediction (when)",
            "Level2Pipeline._parse_judge_score (verdict)",
            "Level2Pipeline._parse_timestamp_to_seconds (timestamp)",
            "Level2Pipeline._build_q1_prompt / _build_q2_prompt (prompts)",
            "Level2Pipeline._judge_q2 -> OpenAICompatTester.call (judge_request)",
            "Level2Pipeline.run -> _evaluate_one, _infer_with_retry, _build_payload (run)",
        ],
        "generated_by": f"python tests/parity/socialomni_upstream.py --checkout <tree>"
        f" --repo {args.repo} --commit {commit}",
        "python": platform.python_version(),
        "when": when,
        "verdict": verdict,
        "timestamp": timestamp,
        "prompts": prompts,
        "judge_request": judge_request,
        "run": run,
    }
    out = args.out or FIXTURES / f"socialomni_{commit[:7]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"wrote {len(when)} when, {len(verdict)} verdict, {len(timestamp)} timestamp rows and a"
        f" {len(run['results'])}-item run from {commit[:12]} to {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
