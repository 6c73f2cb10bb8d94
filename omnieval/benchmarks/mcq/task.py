"""`mcq`: multiple-choice questions from one JSONL file, one object per line:

    {"id": "q1", "question": "...", "options": ["red", "blue"], "answer": "B",
     "category": "colours", "media": [{"kind": "video", "path": "clips/q1.mp4"}]}

`answer` is a letter or the text of the correct option; `media` paths are relative to the file
and must stay in its directory (no `..` out of it, no absolute path, no symlink resolving
elsewhere) unless the benchmark says `allow_outside_paths: true`.
Conditions: `default` (every part), `t` (text only; media parts dropped), plus the generic
ablations (`no-audio`, `no-frames`, `no-images`, `text-only`) and replicates (option rotation).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from omnieval import registry
from omnieval.benchmarks.base import Benchmark, DatasetError, Task
from omnieval.benchmarks.loading import read_dataset_text
from omnieval.media.paths import OutsideRootError, dataset_media_path
from omnieval.scoring.extractors import extract_choice
from omnieval.scoring.metrics import accuracy
from omnieval.types import (
    ChoiceTarget,
    Extraction,
    Part,
    Request,
    Response,
    Sample,
    Score,
    TextPart,
    TrialContext,
)

_PART: TypeAdapter[Part] = TypeAdapter(Part)
_MEDIA_EXAMPLE = '{"kind": "video", "path": "clips/q1.mp4"}'
PROMPT = (
    "{question}\n\n{options}\n\nAnswer with the option's letter from the given choices directly."
)


class MultipleChoice(Task):
    """Questions with lettered options, scored by robust letter extraction."""

    conditions = ("default", "t")
    default_conditions = ("default",)

    def __init__(
        self, path: Path, name: str, prompt: str = PROMPT, allow_outside_paths: bool = False
    ) -> None:
        self.path = path
        self.name = name
        self.prompt = prompt
        self.allow_outside_paths = allow_outside_paths

    @cached_property
    def _samples(self) -> list[Sample]:
        return load_mcq(self.path, self.name, self.allow_outside_paths)

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def build_request(self, sample: Sample, condition: str) -> Request:
        self.check_conditions([condition])
        target = sample.target
        assert isinstance(target, ChoiceTarget)
        options = "\n".join(target.lettered_options())
        text = self.prompt.format(question=sample.metadata["question"], options=options)
        media = sample.parts if condition == "default" else ()
        return Request(parts=(*media, TextPart(text=text)))

    def extract(self, ctx: TrialContext, response: Response) -> Extraction:
        target = ctx.target
        assert isinstance(target, ChoiceTarget)
        return extract_choice(response.text, target.option_letters(), target.options)

    def score(self, ctx: TrialContext, extraction: Extraction) -> Score:
        assert isinstance(ctx.target, ChoiceTarget)
        return Score(values=accuracy(extraction, ctx.target))

    def fingerprint(self) -> dict[str, Any]:
        return {"task": self.name, "version": self.version, "prompt": self.prompt}


def load_mcq(path: Path, task_name: str, allow_outside_paths: bool = False) -> list[Sample]:
    """Every sample of an mcq JSONL file; a malformed file raises one `DatasetError` that lists
    every bad line (bad JSON, missing keys, bad answers or media, duplicate ids) at once."""
    if not path.is_file():
        raise DatasetError(f"{path} does not exist")
    samples: list[Sample] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    text = read_dataset_text(path)
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append(f"{where}: not valid JSON: {err}")
            continue
        try:
            sample = _parse(item, where, path.parent, task_name, allow_outside_paths)
        except DatasetError as err:
            problems.append(str(err))
            continue
        if sample.id in seen:
            problems.append(
                f"{where}: duplicate id {sample.id!r} (first on line {seen[sample.id]})"
            )
            continue
        seen[sample.id] = number
        samples.append(sample)
    if problems:
        raise DatasetError(
            f"{path}: {len(problems)} bad line(s), fix them all and rerun:\n  "
            + "\n  ".join(problems)
        )
    return samples


def _parse(
    item: Any, where: str, root: Path, task_name: str, allow_outside: bool = False
) -> Sample:
    if not isinstance(item, dict):
        raise DatasetError(f"{where}: expected a JSON object")
    missing = [k for k in ("id", "question", "options", "answer") if k not in item]
    if missing:
        named = f" (id {item['id']!r})" if "id" in item else ""
        raise DatasetError(f"{where}: missing {', '.join(missing)}{named}")
    ident = f" (id {item['id']!r})"
    if not isinstance(item["options"], list) or not all(
        isinstance(o, (str, int, float)) for o in item["options"]
    ):
        raise DatasetError(f"{where}: 'options' must be a list of strings{ident}")
    media = item.get("media", [])
    if not isinstance(media, list) or not all(isinstance(m, dict) for m in media):
        raise DatasetError(
            f"{where}: 'media' must be a list of objects like {_MEDIA_EXAMPLE}{ident}"
        )
    options = [str(o) for o in item["options"]]
    letters = tuple(chr(ord("A") + i) for i in range(len(options)))
    answer = str(item["answer"]).strip()
    if answer not in letters:
        if answer not in options:
            raise DatasetError(f"{where}: answer {answer!r} is neither a letter nor an option")
        answer = letters[options.index(answer)]
    parts: list[Part] = []
    for raw in media:
        entry = dict(raw)
        if "path" in entry:
            try:
                entry["path"] = str(dataset_media_path(root, entry["path"], allow_outside))
            except (OutsideRootError, TypeError) as err:
                raise DatasetError(f"{where}{ident}: {err}") from None
        try:
            parts.append(_PART.validate_python(entry))
        except ValidationError as err:
            raise DatasetError(f"{where}: bad media part {raw}: {err}") from None
    return Sample(
        id=str(item["id"]),
        task=task_name,
        parts=tuple(parts),
        target=ChoiceTarget(answer=answer, options=tuple(options), letters=letters),
        category=str(item["category"]) if item.get("category") else None,
        metadata={"question": str(item["question"])},
    )


@registry.benchmarks.register("mcq")
class McqBenchmark(Benchmark):
    """Arguments: `path` (the JSONL file; `data_dir` is accepted as a synonym so that
    `--data FILE` works on the command line), optional `task` name and `prompt` template, and
    `allow_outside_paths` (default false: media paths leaving the file's directory are refused)."""

    name = "mcq"

    def __init__(
        self,
        path: str | Path | None = None,
        task: str = "mcq/default",
        prompt: str = PROMPT,
        data_dir: str | Path | None = None,
        allow_outside_paths: bool = False,
    ) -> None:
        source = path if path is not None else data_dir
        if source is None:
            raise ValueError("mcq needs `path` (the JSONL file)")
        self._task = MultipleChoice(Path(source), task, prompt, allow_outside_paths)

    def tasks(self) -> list[Task]:
        return [self._task]
