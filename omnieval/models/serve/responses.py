"""The server's error responses, in OpenAI's shape (V-SYNC's shape on `/analyze`), and how a
refused request, a failed read or a model error maps to one."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse, Response

from omnieval.models.base import PermanentModelError, TransientModelError
from omnieval.models.serve.batching import BatcherClosed
from omnieval.models.serve.decode import RequestError

log = logging.getLogger("omnieval.serve")


def describe_error(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def request_error_response(path: str, err: RequestError) -> Response:
    headers = {"Retry-After": str(err.retry_after_s)} if err.retry_after_s else None
    return error_response(path, err.status, err.message, err.type, err.param, err.code, headers)


def server_error_response(path: str, err: Exception) -> Response:
    """A failure while reading the request (before the model saw it), e.g. a full disk."""
    log.exception("reading a request failed", exc_info=err)
    return error_response(
        path,
        500,
        f"the server could not read the request: {describe_error(err)}",
        "server_error",
        code="server_error",
    )


def model_error_response(path: str, err: Exception) -> Response:
    if isinstance(err, TransientModelError):
        retry = max(1, math.ceil(err.retry_after_s)) if err.retry_after_s else 1
        return error_response(
            path,
            503,
            f"the model is temporarily unable to answer: {err}",
            "server_error",
            code="model_overloaded",
            headers={"Retry-After": str(retry)},
        )
    if isinstance(err, BatcherClosed):
        return error_response(
            path, 503, str(err), "server_error", code="shutting_down", headers={"Retry-After": "1"}
        )
    if isinstance(err, PermanentModelError):
        return error_response(
            path, 422, f"the model cannot answer this request: {err}", code="model_refused"
        )
    log.exception("the model failed on a request", exc_info=err)
    return error_response(
        path, 500, f"the model failed: {describe_error(err)}", "server_error", code="model_error"
    )


def error_response(
    path: str,
    status: int,
    message: str,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error in OpenAI's shape (or V-SYNC's shape on `/analyze`)."""
    if path.rstrip("/") == "/analyze":
        body: dict[str, Any] = {"status": "error", "error": message}
    else:
        body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


# --------------------------------------------------------------------------- guard


def unknown_model_response(path: str, asked: str, alias: str) -> Response:
    return error_response(
        path,
        404,
        f"the model {asked!r} does not exist; this server serves {alias!r}",
        param="model",
        code="model_not_found",
    )
