"""`omnieval fetch vmeval`: VMEvalKit's published question set from the Hugging Face Hub
(`VideoReason/MME-CoF-VMEval`), written as question directories.

The hub repository is a `datasets` repository (parquet shards with `prompt`, `image`,
`solution_image` and optionally `category` columns). The snapshot is downloaded pinned to one
commit (recorded with every file's sha256 in `OUT/FETCHED.json`, resumable; see
omnieval.fetchers), then each row becomes `OUT/questions/mme_cof_task/mme_cof_<i:04d>/` with
`first_frame.png`, `final_frame.png` (the solution image), `prompt.txt` and
`question_metadata.json`, numbered in shard order as upstream's downloader does. The downloaded
files are never modified.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from omnieval import registry
from omnieval.fetchers import Fetcher, FetchError, Log, hub_snapshot

REPO_ID = "VideoReason/MME-CoF-VMEval"
LICENCE = "see the dataset card of VideoReason/MME-CoF-VMEval (VMEvalKit itself: Apache-2.0)"
DOMAIN = "mme_cof"


def _image_bytes(value: Any) -> bytes | None:
    if isinstance(value, dict):
        data = value.get("bytes")
        return bytes(data) if data else None
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return None


def _write_png(data: bytes, path: Path) -> None:
    from PIL import Image

    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with Image.open(io.BytesIO(data)) as image:
        image.convert("RGB").save(tmp, format="PNG")
    os.replace(tmp, path)


def convert(snapshot: Path, questions: Path, log: Log) -> int:
    """Question directories from the snapshot's parquet shards; returns the task count."""
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise FetchError(
            "converting the vmeval release needs pyarrow: pip install 'omnieval[vmeval]'"
        ) from err
    shards = sorted(p for p in snapshot.rglob("*.parquet") if questions not in p.parents)
    index = 0
    for shard in shards:
        table = pq.read_table(shard)
        for row in table.to_pylist():
            prompt = str(row.get("prompt") or "").strip()
            first = _image_bytes(row.get("image"))
            if not prompt or first is None:
                continue  # as upstream: rows without a prompt or an image are left out
            task_id = f"{DOMAIN}_{index:04d}"
            out = questions / f"{DOMAIN}_task" / task_id
            out.mkdir(parents=True, exist_ok=True)
            _write_png(first, out / "first_frame.png")
            final = _image_bytes(row.get("solution_image"))
            if final is not None:
                _write_png(final, out / "final_frame.png")
            (out / "prompt.txt").write_text(prompt + "\n", encoding="utf-8")
            meta = {
                "id": task_id,
                "prompt": prompt,
                "domain": DOMAIN,
                "task_category": row.get("category") or DOMAIN,
                "source": f"{REPO_ID}:{shard.relative_to(snapshot).as_posix()}",
            }
            (out / "question_metadata.json").write_text(
                json.dumps(meta, indent=2) + "\n", encoding="utf-8"
            )
            index += 1
    log(f"wrote {index} question directories under {questions}")
    return index


def _run(out: Path, revision: str | None, endpoint: str | None, log: Log) -> dict[str, Any]:
    record = hub_snapshot(
        "vmeval", REPO_ID, "dataset", LICENCE, out, revision, "main", endpoint, log
    )
    convert(out, out / "questions", log)
    return record


registry.fetchers.register("vmeval")(
    Fetcher(
        name="vmeval",
        summary="Download VMEvalKit's MME-CoF question set and write question directories.",
        licence=LICENCE,
        run=_run,
    )
)
