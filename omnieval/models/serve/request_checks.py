"""`RequestError`, the error every request decoder of `omnieval serve` raises, and the JSON type
checks they share."""

from __future__ import annotations

from typing import Any


class RequestError(Exception):
    """A request the server refuses; `message` says what is wrong and where (`param`).

    `retry_after_s` is sent as `Retry-After` (for 503s such as "the model is still loading").
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = "invalid_value",
        type: str = "invalid_request_error",
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.type = type



def optional_field(
    obj: dict[str, Any], key: str, kind: type, described: str, prefix: str = ""
) -> Any:
    """obj[key] checked to be of `kind` (None when absent or null); bools are not numbers."""
    value = obj.get(key)
    if value is None:
        return None
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise type_error(prefix + key, described, value)
    return value


def type_error(where: str, expected: str, value: Any) -> RequestError:
    return RequestError(
        f"{where} must be {expected}, not {json_type(value)}", param=where, code="invalid_type"
    )


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
