"""Models registered for tests through the `plugins:` config key (also importable in subprocesses).

They speak the real Model protocol; each exists to exercise one runner behaviour.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

from omnieval import registry
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError, TransientModelError
from omnieval.models.reference import Oracle, RandomChoice
from omnieval.types import Modality, Request, Response

ALL = frozenset(Modality)


@registry.models.register("test-sleepy")
class Sleepy(RandomChoice):
    """`random` with a fixed latency, so a run lasts long enough to be killed mid-way.

    `crash_after` > 0 SIGKILLs the whole process when this model starts its `crash_after`-th
    request: a crash at a known point of the run, whatever the machine's speed. Neither knob is in
    the fingerprint (the answers do not depend on them), so a rerun without them resumes."""

    name = "test-sleepy"

    def __init__(self, seed: int = 0, delay_s: float = 0.01, crash_after: int = 0) -> None:
        super().__init__(seed)
        self.delay_s = delay_s
        self.crash_after = crash_after
        self.started = 0

    async def generate(self, request: Request) -> Response:
        self.started += 1
        if self.crash_after and self.started >= self.crash_after:
            os.kill(os.getpid(), signal.SIGKILL)
        await asyncio.sleep(self.delay_s)
        return await super().generate(request)


@registry.models.register("test-gated")
class Gated(RandomChoice):
    """`random` that holds each request until a gate opens, and says when a request is held.

    On each request it appends a line to `started_file` (a signal the test can wait for), then
    waits until `release_file` exists. Lets a test act while a request is provably in flight."""

    name = "test-gated"

    def __init__(self, started_file: str, release_file: str, seed: int = 0) -> None:
        super().__init__(seed)
        self.started_file = Path(started_file)
        self.release_file = Path(release_file)

    async def generate(self, request: Request) -> Response:
        with self.started_file.open("a", encoding="utf-8") as out:
            out.write("started\n")
        while not self.release_file.exists():
            await asyncio.sleep(0.01)
        return await super().generate(request)


@registry.models.register("test-flaky")
class Flaky(RandomChoice):
    """Fails the first `failures` attempts of every request with a transient error."""

    name = "test-flaky"

    def __init__(
        self, seed: int = 0, failures: int = 2, retry_after_s: float | None = None
    ) -> None:
        super().__init__(seed)
        self.failures = failures
        self.retry_after_s = retry_after_s
        self.attempts: Counter[str] = Counter()

    async def generate(self, request: Request) -> Response:
        digest = hashlib.sha256(request.text().encode()).hexdigest()
        self.attempts[digest] += 1
        if self.attempts[digest] <= self.failures:
            raise TransientModelError("server overloaded (429)", self.retry_after_s)
        return await super().generate(request)


@registry.models.register("test-broken")
class Broken(Model):
    """Refuses every request for which `refuse` appears in the prompt (all if empty)."""

    name = "test-broken"
    capabilities = ModelCapabilities(inputs=ALL)

    def __init__(self, refuse: str = "") -> None:
        self.refuse = refuse

    async def generate(self, request: Request) -> Response:
        if self.refuse in request.text():
            raise PermanentModelError(f"refused: prompt contains {self.refuse!r}")
        return Response(text="A")

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "refuse": self.refuse}


@registry.models.register("test-keyed")
class Keyed(RandomChoice):
    """Needs an API key, and carelessly puts it in its errors and logs (redaction must catch it)."""

    name = "test-keyed"

    def __init__(self, api_key: str, fail_every: int = 3, seed: int = 0) -> None:
        super().__init__(seed)
        self.api_key = api_key
        self.fail_every = fail_every
        self.calls = 0

    async def generate(self, request: Request) -> Response:
        self.calls += 1
        if self.calls % self.fail_every == 0:
            raise PermanentModelError(f"401 unauthorized for key {self.api_key}")
        return await super().generate(request)


@registry.models.register("test-failing-oracle")
class FailingOracle(Oracle):
    """`oracle` (text or masks) that fails some calls and answers others wrongly, by request.

    A request whose digest (prompt text and the last three components of each media path, so
    that it does not depend on where the data lives) is 0 modulo `fail_every` raises a
    permanent error (a failed trial); 1 modulo `wrong_every` gets the answer "Z" without masks
    (scored 0); every other request gets the target."""

    name = "test-failing-oracle"

    def __init__(self, fail_every: int = 3, wrong_every: int = 4) -> None:
        self.fail_every = fail_every
        self.wrong_every = wrong_every

    async def generate(self, request: Request) -> Response:
        paths = [
            "/".join(Path(part.path).parts[-3:])
            for part in request.parts
            if getattr(part, "path", None) is not None
        ]
        key = "\n".join([request.text(), *paths])
        digest = int(hashlib.sha256(key.encode()).hexdigest(), 16)
        if digest % self.fail_every == 0:
            raise PermanentModelError("the endpoint timed out (scripted)")
        if digest % self.wrong_every == 1:
            return Response(text="Z")
        return await super().generate(request)

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "fail": self.fail_every, "wrong": self.wrong_every}
