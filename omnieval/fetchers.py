"""Fetchers: code that downloads a benchmark's official release into a directory.

A fetcher registers itself by name in `registry.fetchers`; most releases live in a Hugging Face
Hub repository, and `hub_fetcher` builds the fetcher for one:

    from omnieval import registry
    from omnieval.fetchers import hub_fetcher

    registry.fetchers.register("mine")(
        hub_fetcher("mine", "My benchmark's release.", "org/mine", licence="CC-BY-4.0")
    )

`omnieval fetch mine --out DIR [--revision REV] [--endpoint URL]` then downloads it. A hub fetch
resolves the revision to a commit, downloads that commit with `huggingface_hub` (the optional
extra `fetch`, imported only here), skips files already complete in `DIR` (a rerun resumes) and
writes `DIR/FETCHED.json`: repo id, the commit, and every file with its size and sha256. A rerun
without `--revision` fetches the commit recorded there, so a directory never mixes revisions.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORD = "FETCHED.json"
EXTRA_HINT = "pip install 'omnieval[fetch]' (huggingface_hub>=0.20)"

#: log(message): how a fetcher reports what it does (the CLI prints to stderr)
Log = Callable[[str], None]


class FetchError(RuntimeError):
    """A fetch that cannot proceed: missing extra, unknown revision, unreachable hub."""


@dataclass(frozen=True)
class Fetcher:
    """A registered fetcher: `run(out, revision, endpoint, log) -> dict` (the record written)."""

    name: str
    summary: str
    licence: str
    run: Callable[[Path, str | None, str | None, Log], dict[str, Any]]

    def fetch(
        self,
        out: Path,
        revision: str | None = None,
        endpoint: str | None = None,
        log: Log | None = None,
    ) -> dict[str, Any]:
        return self.run(out, revision, endpoint, log or _quiet)


def _quiet(message: str) -> None:
    return None


def hub_fetcher(
    name: str,
    summary: str,
    repo_id: str,
    licence: str,
    repo_type: str = "dataset",
    default_revision: str = "main",
) -> Fetcher:
    """A fetcher for a Hugging Face Hub repository (see the module docstring)."""

    def run(out: Path, revision: str | None, endpoint: str | None, log: Log) -> dict[str, Any]:
        return hub_snapshot(
            name, repo_id, repo_type, licence, out, revision, default_revision, endpoint, log
        )

    return Fetcher(name=name, summary=summary, licence=licence, run=run)


def read_record(out: Path) -> dict[str, Any] | None:
    path = out / RECORD
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def hub_snapshot(
    name: str,
    repo_id: str,
    repo_type: str,
    licence: str,
    out: Path,
    revision: str | None,
    default_revision: str,
    endpoint: str | None,
    log: Log,
) -> dict[str, Any]:
    """Download `repo_id` at one commit into `out` and write the record (FETCHED.json)."""
    try:
        import huggingface_hub
    except ImportError:
        raise FetchError(f"fetch {name} needs huggingface_hub: {EXTRA_HINT}") from None
    previous = read_record(out)
    if previous is not None:
        recorded = str(previous.get("revision", ""))
        if revision is not None and revision != recorded and revision != previous.get("requested"):
            raise FetchError(
                f"{out} holds {repo_id} at {recorded}; fetching {revision} there would mix "
                "revisions (use another --out)"
            )
        revision = recorded
        log(f"resuming {repo_id} at the recorded commit {recorded}")
    wanted = revision or default_revision
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    api = huggingface_hub.HfApi(endpoint=endpoint)
    try:
        commit = api.repo_info(repo_id, repo_type=repo_type, revision=wanted).sha
        if not commit:
            raise FetchError(f"the hub gave no commit for {repo_id} at {wanted}")
        log(f"fetching {repo_id} ({repo_type}) at {wanted} = commit {commit} into {out}")
        huggingface_hub.snapshot_download(
            repo_id,
            repo_type=repo_type,
            revision=commit,
            local_dir=str(out),
            endpoint=endpoint,
        )
    except FetchError:
        raise
    except Exception as err:  # the hub client's errors: not found, offline, HTTP
        raise FetchError(f"fetch {name}: {type(err).__name__}: {err}") from None
    record = {
        "fetcher": name,
        "repo_id": repo_id,
        "repo_type": repo_type,
        "requested": (previous or {}).get("requested", wanted),
        "revision": commit,
        "endpoint": endpoint or "https://huggingface.co",
        "licence": licence,
        "files": _file_list(out),
    }
    (out / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def _file_list(out: Path) -> list[dict[str, Any]]:
    """Every downloaded file (not the hub client's `.cache/` nor the record) with its sha256."""
    files = []
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if not path.is_file() or rel == RECORD or rel.startswith(".cache/"):
            continue
        files.append({"path": rel, "size": path.stat().st_size, "sha256": _sha256(path)})
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
