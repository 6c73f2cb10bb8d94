"""V-SYNC's `/analyze` form (file `video`, form fields `question`, `use_video`, `use_audio`) as a
model request."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile

from omnieval.media import MediaError, probe
from omnieval.media.prepare import layout_for
from omnieval.models.serve.decode import MediaDir, RequestError
from omnieval.types import AudioPart, Part, Request, TextPart, VideoPart

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


async def analyze_request(form: Mapping[str, Any], media: MediaDir) -> Request:
    question = form.get("question")
    if not isinstance(question, str) or not question.strip():
        raise RequestError(
            "form field 'question' is required", param="question", code="missing_required_parameter"
        )
    use_video = form_flag(form, "use_video")
    use_audio = form_flag(form, "use_audio")
    parts: list[Part] = []
    if use_video or use_audio:
        upload = form.get("video")
        if not isinstance(upload, UploadFile):
            raise RequestError(
                "file field 'video' is required (multipart/form-data upload)",
                param="video",
                code="missing_required_parameter",
            )
        path = await asyncio.to_thread(save_upload, upload, media)
        try:
            info = await asyncio.to_thread(probe, path)
        except MediaError as err:
            raise RequestError(
                f"the uploaded video is not readable media: {err.detail}",
                param="video",
                code="invalid_media",
            ) from None
        if use_video and not info.has_video:
            raise RequestError(
                "the uploaded file has no video stream but use_video=true",
                param="video",
                code="invalid_media",
            )
        if use_audio and not info.has_audio:
            raise RequestError(
                "the uploaded file has no audio stream but use_audio=true",
                param="video",
                code="invalid_media",
            )
        if use_video:
            parts.append(VideoPart(path=path, with_audio=use_audio))
        else:
            assert info.audio is not None
            parts.append(AudioPart(path=path, layout=layout_for(info.audio.channels)))
    parts.append(TextPart(text=question))
    return Request(parts=tuple(parts))


def form_flag(form: Mapping[str, Any], name: str) -> bool:
    value = form.get(name)
    if value is None:
        return True
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RequestError(f"form field {name!r} must be 'true' or 'false', not {value!r}", param=name)


def save_upload(upload: UploadFile, media: MediaDir) -> Path:
    """Copy the upload unchanged into the request's media dir, keeping a safe form of its name."""
    name = _SAFE_NAME.sub("_", Path(upload.filename or "video.mp4").name).strip("._") or "video"
    target = media.reserve(name)
    upload.file.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)
    if target.stat().st_size == 0:
        raise RequestError(
            "the uploaded video is empty (0 bytes)", param="video", code="invalid_media"
        )
    return target
