"""What the hosted video APIs (Luma, Runway, OpenAI's videos, Veo) share beyond the submit / poll
loop of `VideoGenerator`: an API key, a base URL and a per-call timeout; one SDK client built on
first use and closed with the model; SDK errors mapped to ours, with a content-policy refusal
recognised by words of the provider's message; and a finished job's video fetched from a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omnieval.models.base import PermanentModelError
from omnieval.models.video.base import ContentRefused, VideoGenerator, sdk_error
from omnieval.models.video.media import download, without_query
from omnieval.models.video.spec import video_response
from omnieval.types import Response


class HostedVideoGenerator(VideoGenerator):
    """A `VideoGenerator` behind a provider's SDK client.

    Subclasses build their client in `_new_client` (importing the SDK lazily) and list in
    `refusal_words` the words that make a permanent SDK error a content-policy refusal.
    """

    refusal_words: tuple[str, ...] = ()

    def __init__(
        self,
        model: str,
        api_key: str | None,
        base_url: str | None,
        timeout_s: float,
        poll_interval_s: float,
        max_poll_interval_s: float,
        poll_timeout_s: float,
        max_concurrency: int,
    ) -> None:
        super().__init__(
            model, poll_interval_s, max_poll_interval_s, poll_timeout_s, max_concurrency
        )
        self.base_url = base_url
        self._api_key = api_key
        self.timeout_s = timeout_s
        self._client: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    def client(self) -> Any:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _new_client(self) -> Any:
        raise NotImplementedError

    def _sdk_client(self, factory: Callable[..., Any], key_argument: str = "api_key") -> Any:
        """A Stainless-generated SDK's async client: no SDK retries (the runner retries)."""
        return factory(
            **{key_argument: self._api_key or "none"},
            base_url=self.base_url,
            max_retries=0,
            timeout=self.timeout_s,
        )

    def _error(self, err: Exception, what: str) -> Exception:
        mapped = sdk_error(self.name, err, what)
        text = str(mapped).lower()
        if isinstance(mapped, PermanentModelError) and any(w in text for w in self.refusal_words):
            return ContentRefused(self.name, str(mapped))
        return mapped

    async def _downloaded_response(
        self,
        url: str,
        *,
        provider_id: str,
        model: str,
        settings: dict[str, Any],
        submitted_at: float | None,
    ) -> Response:
        """The response of a finished job whose video lies at `url` (its query, which may hold
        a signature, is left out of the metadata)."""
        data = await download(url, self.name)
        return video_response(
            data,
            provider=self.name,
            model=model,
            job_id=provider_id,
            submitted_at=submitted_at,
            settings=settings,
            extra_meta={"video_url": without_query(url)},
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
