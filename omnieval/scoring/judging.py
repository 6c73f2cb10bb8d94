"""What a task may call during extraction or scoring: a judge (or refine) model.

The runner provides the implementation: each call is a *judge trial*, keyed by (judge
fingerprint, parent trial key, role, prompt version, request), journaled and resumed, run with
the judge model's own concurrency limit and retries. A task only sees this protocol.
"""

from __future__ import annotations

from typing import Protocol

from omnieval.types import Request, Response


class JudgeUnavailableError(RuntimeError):
    """No judge is configured for a role, or (on rescore) no journaled answer and no judge."""


class JudgeClient(Protocol):
    """The judge handle a task receives in `Task.evaluate`."""

    async def ask(
        self, role: str, parent_key: str, request: Request, prompt_version: str
    ) -> Response:
        """The judge's answer for this (role, parent trial, request, prompt version)."""
        ...


class NoJudges:
    """The handle used when the run configures no judge: every call names the missing role."""

    async def ask(
        self, role: str, parent_key: str, request: Request, prompt_version: str
    ) -> Response:
        raise JudgeUnavailableError(
            f"the task asks for a judge with role {role!r}, but the run configures none; "
            f"add `judges: {{{role}: <model>}}` to the run configuration"
        )
