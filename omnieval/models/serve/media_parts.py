"""The media parts of a chat request: a base64 `data:` URL or `input_audio` written unchanged to
the request's media directory (named by digest), or a `file://` URL read in place when the
server's local-media policy allows it; then probed and test-decoded, and turned into an
`ImagePart`, `AudioPart` (its channel layout probed) or `VideoPart`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from omnieval.media import MediaError, MediaInfo
from omnieval.media.doctor import probe_and_check
from omnieval.media.prepare import layout_for
from omnieval.models.serve.request_checks import RequestError, type_error
from omnieval.types import AudioPart, ImagePart, Part, VideoPart

_MEDIA_KIND = {
    "image_url": "image",
    "audio_url": "audio",
    "input_audio": "audio",
    "video_url": "video",
}
_FORMAT = re.compile(r"^[a-z0-9]{1,12}$")
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "video/x-matroska": ".mkv",
    "video/x-msvideo": ".avi",
    "video/mpeg": ".mpg",
    "video/mp2t": ".ts",
    "audio/wav": ".wav",
    "audio/wave": ".wav",
    "audio/x-wav": ".wav",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/webm": ".webm",
}



@dataclass(frozen=True)
class LocalMediaPolicy:
    """Which `file://` URLs may be read: those under one of `roots` (none: file URLs refused)."""

    roots: tuple[Path, ...] = ()

    def check(self, path: Path, where: str) -> Path:
        if not self.roots:
            raise RequestError(
                f"{where}: file:// URLs are disabled on this server; send the media inline as a "
                "base64 data: URL, or start the server with --local-media DIR",
                status=403,
                param=where,
                code="file_url_not_allowed",
                type="permission_error",
            )
        resolved = path.resolve()
        for root in self.roots:
            if resolved.is_relative_to(root.resolve()):
                return path
        allowed = ", ".join(str(r) for r in self.roots)
        raise RequestError(
            f"{where}: {path} is outside the directories this server may read ({allowed})",
            status=403,
            param=where,
            code="file_url_not_allowed",
            type="permission_error",
        )


class MediaDir:
    """A request's media directory, created on first use (text-only requests never touch disk)."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self.path: Path | None = None

    def _dir(self) -> Path:
        if self.path is None:
            self.path = Path(tempfile.mkdtemp(prefix="req-", dir=self.parent))
        return self.path

    def reserve(self, name: str) -> Path:
        """A path for a file called `name` in this directory (the name must be safe)."""
        return self._dir() / name

    def write(self, data: bytes, suffix: str) -> Path:
        """Write `data` unchanged to a file named by its digest; return the path."""
        target = self._dir() / f"{hashlib.sha256(data).hexdigest()[:20]}{suffix}"
        if not target.exists():
            target.write_bytes(data)
        return target



def local_media_policy(roots: Sequence[os.PathLike[str] | str]) -> LocalMediaPolicy:
    return LocalMediaPolicy(tuple(Path(r) for r in roots))


def media_part(
    raw: dict[str, Any],
    kind: str,
    where: str,
    media: MediaDir,
    local: LocalMediaPolicy,
    use_audio_in_video: bool,
) -> Part:
    """The part for content part `raw` of type `kind` (one of the media types)."""
    path = _media_file(raw, kind, where, media, local)
    info = _probe(path, where, kind)
    return _media_part(kind, path, info, where, use_audio_in_video)


def _media_file(
    part: dict[str, Any], kind: str, where: str, media: MediaDir, local: LocalMediaPolicy
) -> Path:
    """The file holding a media part's bytes (written from base64, or a local file URL)."""
    body = part.get(kind)
    if not isinstance(body, dict):
        raise type_error(f"{where}.{kind}", "an object", body)
    if kind == "input_audio":
        data = body.get("data")
        fmt = body.get("format")
        if not isinstance(data, str):
            raise type_error(f"{where}.input_audio.data", "a base64 string", data)
        if not isinstance(fmt, str) or not _FORMAT.match(fmt.lower()):
            raise RequestError(
                f"{where}.input_audio.format must name the audio format, e.g. 'wav' or 'mp3' "
                f"(got {fmt!r})",
                param=f"{where}.input_audio.format",
            )
        raw = _b64decode(data, f"{where}.input_audio.data")
        return media.write(raw, "." + fmt.lower())
    at = f"{where}.{kind}.url"
    url = body.get("url")
    if not isinstance(url, str):
        raise type_error(at, "a data: or file:// URL string", url)
    if url.startswith("data:"):
        mime, raw = _data_url(url, at, _MEDIA_KIND[kind])
        return media.write(raw, _EXTENSIONS.get(mime, ".bin"))
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "file":
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise RequestError(
                f"{at}: file URL host {parsed.netloc!r} is not this machine; use file:///abs/path",
                param=at,
            )
        path = Path(unquote(parsed.path))
        if not path.is_absolute():
            raise RequestError(f"{at}: a file:// URL needs an absolute path", param=at)
        return local.check(path, at)
    if scheme in ("http", "https"):
        raise RequestError(
            f"{at}: remote URLs are not fetched by omnieval serve; send the bytes as a base64 "
            "data: URL (or a file:// URL of a file on the server)",
            param=at,
            code="unsupported_value",
        )
    shown = url if len(url) <= 40 else url[:40] + "..."
    raise RequestError(
        f"{at}: expected a data: URL (data:<mime>;base64,...) or a file:// URL, got {shown!r}",
        param=at,
    )


def _data_url(url: str, where: str, kind: str) -> tuple[str, bytes]:
    """(MIME type, bytes) of a base64 data URL whose type is `kind`/* (or octet-stream)."""
    comma = url.find(",")
    if comma < 0:
        raise RequestError(f"{where}: malformed data URL (no ',' before the data)", param=where)
    header = url[5:comma].split(";")
    mime = header[0].strip().lower() or "text/plain"
    if "base64" not in (h.strip().lower() for h in header[1:]):
        raise RequestError(
            f"{where}: the data URL must be base64-encoded (data:{mime};base64,...)", param=where
        )
    if not (mime.startswith(kind + "/") or mime == "application/octet-stream"):
        raise RequestError(
            f"{where}: the data URL holds {mime!r}, which is not {kind} media; send "
            f"data:{kind}/<format>;base64,...",
            param=where,
            code="invalid_media",
        )
    return mime, _b64decode(url[comma + 1 :], where)


def _b64decode(text: str, where: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:  # tolerate line breaks and spaces, as MIME encoders write them
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as err:
            raise RequestError(
                f"{where} is not valid base64 ({err})", param=where, code="invalid_base64"
            ) from None
    if not data:
        raise RequestError(f"{where} is empty: no media bytes", param=where, code="invalid_media")
    return data


def _probe(path: Path, where: str, kind: str) -> MediaInfo:
    """The part's media info, after checking that its streams really decode (one open)."""
    try:
        return probe_and_check(path)
    except MediaError as err:
        raise RequestError(
            f"{where} ({kind}): not readable media: {err.detail}",
            param=where,
            code="invalid_media",
        ) from None


def _media_part(
    kind: str, path: Path, info: MediaInfo, where: str, use_audio_in_video: bool
) -> Part:
    if kind == "image_url":
        if not info.has_video:
            raise _media_error(where, kind, "the data holds no image")
        return ImagePart(path=path, mime=_image_mime(info.container))
    if kind in ("input_audio", "audio_url"):
        if info.audio is None:
            raise _media_error(where, kind, "the file has no audio stream")
        return AudioPart(path=path, layout=layout_for(info.audio.channels))
    if not info.has_video:
        raise _media_error(
            where, kind, "the file has no video stream (send sound alone as input_audio)"
        )
    return VideoPart(path=path, with_audio=info.has_audio and use_audio_in_video)


def _image_mime(container: str) -> str:
    name = container.split(",")[0].removesuffix("_pipe")
    return {
        "png": "image/png",
        "jpeg": "image/jpeg",
        "webp": "image/webp",
        "gif": "image/gif",
        "bmp": "image/bmp",
    }.get(name, "application/octet-stream")


def _media_error(where: str, kind: str, what: str) -> RequestError:
    return RequestError(f"{where} ({kind}): {what}", param=where, code="invalid_media")
