"""Write the V-SYNC answer-parsing parity fixture by running upstream's own code.

This script is not a test and is not imported by the test suite. It imports V-SYNC's own answer
handling from a checkout of the upstream repository (nothing from it is copied here), feeds it
every answer in `ANSWERS` along both of upstream's answer paths, and writes what upstream
predicted to `tests/parity/fixtures/vsync_answers.json`. `tests/test_parity_vsync.py` then checks
`omnieval.scoring.extract.vsync.extract_choice_vsync_parity` against every row.

The two paths, each run through upstream's real client over a loopback HTTP server:

- `http` (local models): `models.utils.omni_http_client.OmniHttpClient.call_api` posts to a
  `/analyze` endpoint here that answers `{"status": "success", "answer": <text>}`; the client
  trims the answer (`_extract_clean_answer`) and returns it.
- `direct` (API models): `models.utils.openai_compat_tester.OpenAICompatTester.call` (frames off)
  posts to a `/chat/completions` endpoint here that returns <text> as the message content.

Both then go, as upstream's model clients do (`InferenceResult(answer=raw_answer or "")`), through
`models.pipeline.level1_pipeline.Level1Pipeline._normalize_answer`, whose result is the prediction
that upstream compares with `correct_answer`; each row also holds `Level1Pipeline._score` of that
prediction against every key in `CORRECT_ANSWERS`. Finally `run` is upstream's whole
`Level1Pipeline.run` over the small dataset `RUN` (one call failing with HTTP 500), with its
payload's accuracy, counts and per-row predictions; `prompts` holds `Level1Pipeline._build_request`
under each modality for `PROMPT_SAMPLES` (upstream's settings read `config/config.yaml` under
`V_SYNC_ROOT`, so the script copies the checkout's `config/` into its temporary root).

How the committed fixture was made (V-SYNC release_v1, commit 69dc3df):

    G=$(path to a clone or mirror of https://github.com/Alexisxty/V-SYNC)
    mkdir /tmp/vsync-69dc3df
    git --git-dir=$G archive 69dc3df config models/__init__.py models/pipeline models/utils \\
        | tar -x -C /tmp/vsync-69dc3df
    python tests/parity/vsync_upstream_answers.py --checkout /tmp/vsync-69dc3df \\
        --commit 69dc3dfdf32561acbfe38e61b08d6d5bf68ffeba

Upstream needs `requests`, `pyyaml` and `python-dotenv` importable (its config package reads
`config/config.yaml`); its logs go to a temporary `V_SYNC_ROOT`, never into the checkout.
To add a case, append it to `ANSWERS` and rerun the command above.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from upstream_checkout import commit_of  # a sibling: the script runs as a file

FIXTURE = Path(__file__).parent / "fixtures" / "vsync_answers.json"

# Model answers to feed upstream. None stands for a JSON null answer.
ANSWERS: list[str | None] = [
    "A",
    "b",
    "  C  ",
    "D.",
    "(B)",
    "B) the woman",
    "Answer: B",
    "ANSWER: C",
    "the answer is: d",
    "The answer is (C)",
    "It is a man",
    "It is option C, not a.",
    "Based on the video, the answer is C",
    "based on the audio: C",
    "Clearly, the woman",
    "During the clip the child laughs",
    "A man speaks first, so (D)",
    "The woman speaks.\n\nc",
    "Answer:\n\nD",
    "Answer:\nB",
    "Clearly the woman\nD",
    "During that time\nc",
    "A man and a woman; the woman\nB",
    "Based on the audio\n\n  a  \n",
    "Reasoning about the voices.\nB",
    "I think\nB.\n",
    "First line\nC\nmore text",
    "x\n d \n",
    "\tD\n",
    "Reasoning.\nAB",
    "**B**",
    "1. A",
    "Eh, B",
    "Option E",
    "e",
    "None of them",
    "I cannot tell",
    "The speaker is the second one.\nAnswer: b",
    "Both C and D",
    "c) The child",
    "",
    "   ",
    "\n\n",
    None,
    # adversarial additions (round 2)
    "E",
    "E.",
    "e",
    "Reasoning about it.\nE",
    "Every option is wrong: E",
    "D or B",
    "A or B",
    "Answer: b.",
    "**Answer:** C",
    "**C**\n",
    "<think>The woman speaks first.</think>\nB",
    "<think>\nmaybe A\n</think>\n\nC",
    "\uff21",  # fullwidth A
    "\u00c0 la fin: B",
    "\u00e4 b",
    "\u00a0B\u00a0",
    "\u2003C\u2003",
    "\u200bB",
    "B\u200b",
    "\u00dfB",
    "caf\u00e9 B",
    "\u00e9A",
    "A\rB",
    "Reasoning\r\nD",
    "Reasoning\r\nD\r\n",
    "\n\n d\n\n",
    "AB",
    "A1",
    "1",
    "2",
    "4",
    "Option 3",
    "a.",
    "c)",
    "(d)",
    "[B]",
    "yes",
    "No",
    "Yes, B",
    "I'm sorry, but I can't determine who is speaking.",
    "The answer is \u00c0.",
    "x" * 3000 + " C",
    "Reasoning " * 400 + "\nC",
    "\u7b54\u6848\uff1aB",
    "\u7b54\u6848\u662fC",
    "ANSWER:D",
    "answer:d",
    "d-",
    "-d",
    "_B_",
    "B_",
    "B's voice",
]

# Correct answers each prediction is scored against with upstream's `_score` (None: a sample
# without a correct answer; " b " and "e": upstream upper-cases and strips the correct answer).
CORRECT_ANSWERS: list[str | None] = ["A", "B", "C", "D", "E", " b ", "e", None, ""]


# A whole Level 1 run through upstream's `Level1Pipeline.run` (http path): (id, answer the model
# server gives, or FAIL for an HTTP 500 on every attempt, options, correct_answer).
FAIL = "<http 500>"
ABCD = ["A. the man", "B. the woman", "C. the child", "D. nobody"]
ABCDE = [*ABCD, "E. all of them"]
RUN: list[tuple[str, str, list[str], str]] = [
    ("r01", "A", ABCD, "A"),
    ("r02", "Based on the audio, the woman.", ABCD, "B"),
    ("r03", "The woman speaks.\nD", ABCD, "D"),
    ("r04", "E", ABCDE, "E"),
    ("r05", "E.", ABCDE, "E"),
    ("r06", FAIL, ABCD, "A"),
    ("r07", "", ABCD, "C"),
    ("r08", " c ", ABCD, " c "),
    ("r09", "It is a man", ABCD, "C"),
    ("r10", "D or B", ABCD[:3], "B"),
    ("r11", "None of them", ABCD, "D"),
    ("r12", "b", ABCD[:2], "b"),
]


# Prompts: upstream's `Level1Pipeline._build_request` under each modality, as the local-model
# HTTP client sends it (`user_prompt + "\n\n" + question`).
PROMPT_SAMPLES: list[dict[str, Any]] = [
    {
        "id": "p1",
        "video_path": "clip.mp4",
        "question": "Who speaks at 00:03?",
        "options": ABCD,
        "correct_answer": "B",
        "asr_content": "[00:01] Hello there.\n[00:03] Hi!",
    },
    {
        "id": "p2",
        "video_path": "clip.mp4",
        "question": "Who speaks first?",
        "options": ABCD[:3],
        "correct_answer": "A",
        "asr_content": "",
    },
    {
        "id": "p3",
        "video_path": "clip.mp4",
        "question": "Who laughs?",
        "options": ["the man", "the woman"],
        "correct_answer": "A",
    },
]


def _prompts() -> list[dict[str, Any]]:
    from config.settings import CONFIG
    from models.pipeline.level1_pipeline import Level1Pipeline

    pipeline = Level1Pipeline.__new__(Level1Pipeline)
    pipeline.config = None  # _build_request reads only CONFIG and the sample's video path
    rows = []
    level1 = CONFIG._data["benchmark"]["level1"]
    for modality in ("avt", "vt", "at"):
        level1["modality"] = modality
        for sample in PROMPT_SAMPLES:

            class _Config:
                video_dir = Path("/videos")

            pipeline.config = _Config()
            request = pipeline._build_request(sample)
            text = f"{request.metadata['user_prompt']}\n\n{request.question}"
            rows.append({"modality": modality, "sample": sample, "http_text": text})
    level1["modality"] = "avt"
    return rows


class _Upstream(BaseHTTPRequestHandler):
    """Both of upstream's endpoints; the answer to return is in `server.answer`."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        answer = self.server.answer  # type: ignore[attr-defined]
        if answer == FAIL:
            self.send_error(500)
            return
        if self.path.endswith("/analyze"):
            body: dict[str, Any] = {"status": "success", "answer": answer}
        elif self.path.endswith("/chat/completions"):
            body = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _whole_run(server: ThreadingHTTPServer, http_client: Any, scratch: Path) -> dict[str, Any]:
    """Upstream's `Level1Pipeline.run` over `RUN`, as its local-model clients call it."""
    from models.pipeline.level1_pipeline import Level1Config, Level1Pipeline
    from models.pipeline.types import InferenceResult

    answers = {item_id: answer for item_id, answer, _, _ in RUN}

    class _Client:
        model_name = "parity"

        def predict(self, request: Any) -> Any:
            server.answer = answers[request.metadata["sample_id"]]  # type: ignore[attr-defined]
            raw = http_client.call_api(request.video_path, request.question, max_retries=1)
            return InferenceResult(answer=raw or "", raw_response=raw)

    videos = scratch / "videos"
    videos.mkdir()
    (videos / "clip.mp4").write_bytes(b"not decoded")
    dataset = [
        {
            "id": item_id,
            "video_path": "clip.mp4",
            "question": "Who speaks at 00:03?",
            "options": options,
            "correct_answer": correct,
            "asr_content": "",
        }
        for item_id, _, options, correct in RUN
    ]
    dataset_path = scratch / "dataset.json"
    dataset_path.write_text(json.dumps(dataset), encoding="utf-8")
    config = Level1Config(
        dataset_path=dataset_path,
        video_dir=videos,
        output_path=scratch / "results.json",
        log_dir=scratch / "logs",
    )
    payload = Level1Pipeline(_Client(), config).run()
    return {
        "dataset": dataset,
        "answers": {item_id: answer for item_id, answer, _, _ in RUN},
        "failed": [item_id for item_id, answer, _, _ in RUN if answer == FAIL],
        "accuracy": payload["accuracy"],
        "correct": payload["correct"],
        "total": payload["total"],
        "results": [
            {k: r[k] for k in ("id", "prediction", "is_correct", "raw_response")}
            for r in payload["results"]
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, required=True, help="V-SYNC source tree")
    parser.add_argument("--commit", help="commit of the checkout (default: git rev-parse HEAD)")
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args(argv)

    checkout = args.checkout.resolve()
    commit = args.commit or commit_of(checkout)
    if not commit:
        parser.error("--commit is needed when the checkout is not a git work tree")
    scratch = Path(tempfile.mkdtemp(prefix="vsync-upstream-"))
    os.environ["V_SYNC_ROOT"] = str(scratch)  # upstream's log directory lives under this root
    # the root also holds upstream's config/config.yaml, which its settings read: copy it there
    shutil.copytree(checkout / "config", scratch / "config", dirs_exist_ok=True)
    sys.path.insert(0, str(checkout))

    from models.pipeline.level1_pipeline import Level1Pipeline
    from models.utils.omni_http_client import OmniHttpClient
    from models.utils.openai_compat_tester import OpenAICompatTester

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    video = scratch / "clip.mp4"
    video.write_bytes(b"not decoded by either path")

    http_client = OmniHttpClient(base)
    api_client = OpenAICompatTester("parity", api_base=base, api_key="parity")
    pipeline = Level1Pipeline.__new__(Level1Pipeline)  # _normalize_answer reads no state

    rows = []
    try:
        for text in ANSWERS:
            server.answer = text  # type: ignore[attr-defined]
            from_http = http_client.call_api(str(video), "q", max_retries=1, retry_delay=0)
            from_api = api_client.call(str(video), "q", include_images=False)
            for path, answer in (("http", from_http), ("direct", from_api)):
                prediction = pipeline._normalize_answer(answer or "")
                rows.append(
                    {
                        "text": text,
                        "answer_path": path,
                        "client_answer": answer,
                        "prediction": prediction,
                        "is_correct": [
                            [correct, pipeline._score(prediction, correct)]
                            for correct in CORRECT_ANSWERS
                        ],
                    }
                )
        run = _whole_run(server, http_client, scratch)
        prompts = _prompts()
    finally:
        server.shutdown()

    fixture = {
        "upstream": "https://github.com/Alexisxty/V-SYNC",
        "commit": commit,
        "functions": [
            "models.utils.omni_http_client.OmniHttpClient.call_api (answer_path=http)",
            "models.utils.openai_compat_tester.OpenAICompatTester.call (answer_path=direct)",
            "models.pipeline.level1_pipeline.Level1Pipeline._normalize_answer (both)",
        ],
        "generated_by": "python tests/parity/vsync_upstream_answers.py --checkout <V-SYNC tree>"
        f" --commit {commit}",
        "python": platform.python_version(),
        "rows": rows,
        "run_functions": [
            "models.pipeline.level1_pipeline.Level1Pipeline.run (its payload, answer_path=http;"
            " the model client calls OmniHttpClient.call_api with max_retries=1)"
        ],
        "run": run,
        "prompt_functions": [
            "models.pipeline.level1_pipeline.Level1Pipeline._build_request (modality from"
            " benchmark.level1.modality; http path: user_prompt + blank line + question)"
        ],
        "prompts": prompts,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} rows from {commit[:12]} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
