"""Secrets: which config keys hold them, which values to scrub, and the scrubber itself.

A value is secret when its key looks like one (`api_key`, `token`, `password`, ...) or when it
came from a secret-named environment variable. `Redactor` replaces every such value with `***`
in any text or nested structure before it reaches a manifest, a log, a journal or a report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"(api[_-]?key|private[_-]?key|(^|[_-])(token|secret|password|passwd|credentials?)$"
    r"|^auth(orization)?$|^(secret|password)[_-])",
    re.I,
)

def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def collect_secrets(value: Any, env: Mapping[str, str]) -> set[str]:
    """Values to scrub from every output: secret-keyed config values and secret-named env vars."""
    found: set[str] = {v for k, v in env.items() if is_secret_key(k) and len(v) >= 4}

    def walk(node: Any, secret: bool) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, secret or is_secret_key(str(k)))
        elif isinstance(node, list):
            for v in node:
                walk(v, secret)
        elif secret and isinstance(node, str) and len(node) >= 4:
            found.add(node)

    walk(value, False)
    return found


class Redactor:
    """Scrubs known secret values from any text or nested structure."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, text: str) -> str:
        if not self._secrets:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def value(self, node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: self.value(v, str(k)) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [self.value(v, key) for v in node]
        if is_secret_key(key) and node not in (None, ""):
            return REDACTED
        if isinstance(node, str):
            return self.text(node)
        return node
