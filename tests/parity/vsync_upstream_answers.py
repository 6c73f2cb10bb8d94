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
that upstream compares with `correct_answer`.

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
]


class _Upstream(BaseHTTPRequestHandler):
    """Both of upstream's endpoints; the answer to return is in `server.answer`."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        answer = self.server.answer  # type: ignore[attr-defined]
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
                    }
                )
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
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} rows from {commit[:12]} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
