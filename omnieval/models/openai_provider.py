"""The `openai` provider: any OpenAI-compatible chat-completions endpoint, or a pool of them.

OpenAI, Gemini's OpenAI-compatible endpoint, vLLM, SGLang, LiteLLM and `omnieval serve` all
speak this protocol. Media reach the model as its transport policy says (`transport`): natively,
as timestamped frames and transcripts, or dropped (docs/transport.md). Requests go through a
lean aiohttp client (`http_client`) and an endpoint pool with an adaptive concurrency limit per
endpoint (`pool`, docs/endpoint-pools.md). HTTP errors become `TransientModelError` (429, 408,
5xx, timeouts, connection errors; `retry_after_s` from Retry-After) or `PermanentModelError`
(other 4xx, with the server's message), so the runner's retry policy applies.

```yaml
models:
  - alias: gpt-4o
    provider: openai
    init_args:
      model: gpt-4o
      base_url: https://api.openai.com/v1
      api_key: ${OPENAI_API_KEY}
      inputs: [text, image]          # video -> frames, audio -> transcript
```
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError

from omnieval import registry
from omnieval.media import MediaCache
from omnieval.models.artifact_wire import ArtifactWireError, decode_artifacts
from omnieval.models.base import (
    Model,
    ModelCapabilities,
    ModelError,
    ModelUnreachableError,
    OutputKind,
    PermanentModelError,
    PreflightError,
    TransientModelError,
)
from omnieval.models.http_client import HttpClient, HttpFailure, HttpReply
from omnieval.models.pool import EndpointPool, Outcome
from omnieval.models.transport import (
    MediaPreparer,
    PreparedContent,
    TranscriberLike,
    TransportPolicy,
    needs_media_work,
)
from omnieval.models.wire import (
    WireFormatError,
    chat_body,
    encode_body,
    error_text,
    parse_chat_reply,
)
from omnieval.redaction import REDACTED
from omnieval.retry_after import parse_retry_after
from omnieval.types import Frozen, Modality, Request, Response

log = logging.getLogger("omnieval.models.openai")

_DEFAULT_INPUTS = ("text", "image")
_NOT_RETRYABLE_5XX = {501, 505}


class GenerationOverrides(Frozen):
    """Per-model generation settings; set fields replace the run's `generation` values.
    `extra` adds top-level body fields (e.g. `{"reasoning_effort": "low"}`)."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    millis = headers.get("retry-after-ms")  # OpenAI's finer hint
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("Retry-After"))


def endpoint_label(url: str) -> str:
    """`host[:port]/path` of a base URL: no scheme, credentials, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{host}{parts.path.rstrip('/')}"


@registry.models.register("openai")
class OpenAIChat(Model):
    """A model behind an OpenAI-compatible `/chat/completions` endpoint (or a pool of them).

    Arguments (the `init_args` of a model spec):
    - `model`: the served model name; `base_url` (…/v1) or `base_urls` (replicas of one model);
    - `api_key`: sent as `Authorization: Bearer …`; never in fingerprints, logs or errors;
    - `headers`: extra request headers (secret-looking names are redacted from manifests);
    - `generation`: overrides of temperature / top_p / max_tokens / seed, and `extra` body fields;
      `max_tokens_field`: `max_tokens` or `max_completion_tokens` (OpenAI reasoning models);
    - `timeout_s`: bound on one HTTP request;
    - `inputs`: the modalities the model takes natively (default text and image);
    - `transport`: a `TransportPolicy` mapping (docs/transport.md);
    - `max_concurrency`: the most requests in flight per endpoint (the adaptive limit's ceiling);
    - `failure_threshold`, `probe_interval_s`: endpoint health (docs/endpoint-pools.md);
    - `max_retry_after_s`: an endpoint of a pool that asks (Retry-After on a 429 / 5xx) for a
      longer pause than this is parked for that long and the request goes elsewhere; a lone
      endpoint's long Retry-After reaches the runner, whose own cap fails the trial;
    - `deployment`: a name to fingerprint instead of the endpoint hosts, so replicas can be added
      or removed without changing trial keys;
    - `cache_dir`: the media cache (default `~/.cache/omnieval/media`);
    - `output`, `also_produces`: what the served model produces (`text`; `masks` for a mask
      model behind `omnieval serve`, whose masks arrive as artifacts).
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        base_urls: Sequence[str] | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        generation: Mapping[str, Any] | None = None,
        max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
        timeout_s: float = 120.0,
        inputs: Sequence[str] | None = None,
        transport: Mapping[str, Any] | None = None,
        max_concurrency: int = 16,
        failure_threshold: int = 3,
        probe_interval_s: float = 2.0,
        max_retry_after_s: float = 60.0,
        deployment: str | None = None,
        cache_dir: str | None = None,
        transcriber: TranscriberLike | None = None,
        output: OutputKind = "text",
        also_produces: Sequence[OutputKind] = (),
    ) -> None:
        urls = [*([base_url] if base_url else []), *(base_urls or [])]
        if not urls:
            raise ValueError("the openai provider needs base_url (or base_urls)")
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"base URL {url!r} must start with http:// or https://")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, not {timeout_s}")
        if max_tokens_field not in ("max_tokens", "max_completion_tokens"):
            raise ValueError("max_tokens_field must be max_tokens or max_completion_tokens")
        self.model = model
        self.base_urls = [u.rstrip("/") for u in dict.fromkeys(urls)]
        self.timeout_s = float(timeout_s)
        if max_retry_after_s < 0:
            raise ValueError(f"max_retry_after_s must not be negative, not {max_retry_after_s}")
        self.max_retry_after_s = float(max_retry_after_s)
        self.deployment = deployment
        self.max_tokens_field = max_tokens_field
        try:
            self.overrides = GenerationOverrides.model_validate(dict(generation or {}))
            declared = frozenset(Modality(m) for m in (inputs or _DEFAULT_INPUTS))
            self.policy = TransportPolicy.model_validate(dict(transport or {})).resolve(declared)
        except ValidationError as err:
            raise ValueError(str(err)) from None
        self.inputs = declared | {Modality.TEXT}
        self.capabilities = ModelCapabilities(
            inputs=self.inputs,
            max_concurrency=max_concurrency * len(self.base_urls),
            output=output,
            also_produces=frozenset(also_produces),
        )
        sent_headers = dict(headers or {})
        if api_key:
            sent_headers["Authorization"] = f"Bearer {api_key}"
        secrets = {v for v in sent_headers.values() if len(v) >= 4}
        if api_key:
            secrets.add(api_key)
        self._secrets = sorted(secrets, key=len, reverse=True)
        self._chat_urls = {u: f"{u}/chat/completions" for u in self.base_urls}
        self.http = HttpClient(
            limit=max_concurrency * len(self.base_urls) + len(self.base_urls),
            timeout_s=self.timeout_s,
            headers=sent_headers,
        )
        self.pool = EndpointPool(
            self.base_urls,
            max_concurrency=max_concurrency,
            failure_threshold=failure_threshold,
            probe_interval_s=probe_interval_s,
            probe=self._probe,
        )
        cache = MediaCache(cache_dir) if cache_dir else MediaCache()
        self.preparer = MediaPreparer(self.policy, cache, transcriber)

    def __repr__(self) -> str:
        hosts = ", ".join(endpoint_label(u) for u in self.base_urls)
        return f"OpenAIChat(model={self.model!r}, endpoints=[{hosts}])"

    # ------------------------------------------------------------------ identity

    def fingerprint(self) -> dict[str, Any]:
        endpoints: Any = self.deployment or sorted({endpoint_label(u) for u in self.base_urls})
        return {
            "provider": self.name,
            "model": self.model,
            "endpoints": endpoints,
            "generation": self.overrides.model_dump(exclude_defaults=True),
            "max_tokens_field": self.max_tokens_field,
            "inputs": sorted(m.value for m in self.inputs),
            "transport": self.policy.describe(),
        }

    # ------------------------------------------------------------------ requests

    def sampling(self, request: Request) -> dict[str, Any]:
        """temperature / top_p / token limit / seed: the request's values under the overrides."""
        gen, over = request.generation, self.overrides
        out: dict[str, Any] = {
            "temperature": gen.temperature if over.temperature is None else over.temperature,
            "top_p": gen.top_p if over.top_p is None else over.top_p,
            self.max_tokens_field: gen.max_tokens if over.max_tokens is None else over.max_tokens,
        }
        seed = gen.seed if over.seed is None else over.seed
        if seed is not None:
            out["seed"] = seed
        return out

    def build_body(self, request: Request, content: PreparedContent) -> bytes:
        extra = {**content.extra, **self.overrides.extra} if self.overrides.extra else content.extra
        body = chat_body(self.model, request.system, content.parts, self.sampling(request), extra)
        return encode_body(body)

    def _prepare_and_encode(self, request: Request) -> tuple[bytes, dict[str, Any] | None]:
        content = self.preparer.prepare(request)
        return self.build_body(request, content), dict(content.rendering) or None

    async def generate(self, request: Request) -> Response:
        if needs_media_work(request):
            body, rendering = await asyncio.to_thread(self._prepare_and_encode, request)
        else:
            body, rendering = self._prepare_and_encode(request)
        lease = await self.pool.acquire()
        outcome = Outcome.CANCELLED
        try:
            try:
                reply = await self.http.post_json(self._chat_urls[lease.endpoint.base_url], body)
            except HttpFailure as err:
                outcome = Outcome.TIMEOUT if err.kind == "timeout" else Outcome.CONNECTION
                where = endpoint_label(lease.endpoint.base_url)
                raise ModelUnreachableError(self._scrub(f"{where}: {err}")) from None
            outcome, result = self._interpret(endpoint_label(lease.endpoint.base_url), reply)
            if isinstance(result, Response) and rendering:
                result = result.model_copy(update={"rendering": rendering})
            if isinstance(result, ModelError):
                wait = getattr(result, "retry_after_s", None) or 0.0
                too_long = wait > self.max_retry_after_s
                if too_long and self.pool.park(lease.endpoint, wait):
                    raise TransientModelError(
                        f"{result}; the endpoint asked for a {wait:g} s pause (over "
                        f"max_retry_after_s={self.max_retry_after_s:g}) and is parked"
                    )
                raise result
            return result
        finally:
            self.pool.release(lease, outcome)

    def _interpret(self, where: str, reply: HttpReply) -> tuple[Outcome, Response | ModelError]:
        """What a reply means: a response, or the error to raise, and the pool's outcome."""
        status = reply.status
        if 200 <= status < 300:
            try:
                payload = json.loads(reply.body)
                parsed = parse_chat_reply(payload)
                artifacts = decode_artifacts(payload)
            except ArtifactWireError as err:
                return Outcome.REFUSED, PermanentModelError(self._scrub(f"{where}: {err}"))
            except WireFormatError as err:
                refused = PermanentModelError(self._scrub(f"{where}: not a chat completion: {err}"))
                return Outcome.REFUSED, refused
            except ValueError as err:  # truncated or garbled body: worth another try
                garbled = TransientModelError(self._scrub(f"{where}: malformed JSON reply: {err}"))
                return Outcome.SERVER_ERROR, garbled
            response = Response(
                text=parsed.text,
                latency_s=reply.elapsed_s,
                usage=parsed.usage,
                finish_reason=parsed.finish_reason,
                artifacts=artifacts,
            )
            return Outcome.SUCCESS, response
        message = self._scrub(f"HTTP {status} from {where}: {error_text(reply.body)}")
        if status == 429:
            return Outcome.RATE_LIMITED, TransientModelError(message, _retry_after(reply.headers))
        if status == 408:
            return Outcome.TIMEOUT, TransientModelError(message)
        if status >= 500 and status not in _NOT_RETRYABLE_5XX:
            return Outcome.SERVER_ERROR, TransientModelError(message, _retry_after(reply.headers))
        return Outcome.REFUSED, PermanentModelError(message)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    # ------------------------------------------------------------------ health and lifecycle

    async def _probe(self, base_url: str) -> bool:
        """Whether an endpoint answers at all: any reply below 500 from `GET {base}/models`,
        else from `{root}/health` (vLLM and `omnieval serve` keep it beside `/v1`)."""
        limit = max(0.5, min(5.0, self.pool.probe_interval_s))
        root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
        for url in (f"{base_url}/models", f"{root}/health"):
            try:
                reply = await self.http.get(url, timeout_s=limit)
            except HttpFailure:
                return False
            if reply.status < 500:
                return True
        return False

    async def preflight(self, inputs: frozenset[Modality] = frozenset(Modality)) -> None:
        """Every base URL answers `GET {base}/models` and lists `model` (or, where that route
        is missing, answers `{root}/health`); the transport's ASR engine can be built."""
        problems = [p for p in await asyncio.gather(*map(self._check, self.base_urls)) if p]
        try:
            await asyncio.to_thread(self.preparer.preflight, inputs)
        except PreflightError as err:
            problems.append(str(err))
        if problems:
            raise PreflightError("; ".join(problems))

    async def _check(self, base_url: str) -> str | None:
        where = endpoint_label(base_url)
        limit = min(10.0, self.timeout_s)
        try:
            reply = await self.http.get(f"{base_url}/models", timeout_s=limit)
        except HttpFailure as err:
            return self._scrub(f"{where} does not answer ({err}); is the server running?")
        if reply.status in (401, 403):
            return f"{where} refused the credentials (HTTP {reply.status}); check api_key"
        if reply.status == 404:  # no model list: a server that only has /health is fine
            root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
            try:
                health = await self.http.get(f"{root}/health", timeout_s=limit)
            except HttpFailure as err:
                return self._scrub(f"{where} does not answer ({err})")
            return None if health.status < 400 else f"{where}: HTTP {health.status} on /health"
        if reply.status >= 400:
            return f"{where}: HTTP {reply.status} on GET /models: {error_text(reply.body)}"
        try:
            served = [str(m.get("id")) for m in json.loads(reply.body).get("data", [])]
        except (ValueError, AttributeError, TypeError):
            return None  # not a model list we can read: the endpoint answers, that is enough
        if served and self.model not in served:
            return f"{where} does not serve model {self.model!r}; it serves {', '.join(served)}"
        return None

    async def close(self) -> None:
        await self.pool.close()
        await self.http.close()
