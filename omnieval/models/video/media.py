"""Media chores of video generators: read and letterbox the first frame, write frames to an
H.264 mp4 (PyAV), and download a finished video from a URL."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from fractions import Fraction
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import av
import numpy as np

from omnieval.media.encode import encode_png
from omnieval.models.base import ModelUnreachableError, PermanentModelError, TransientModelError
from omnieval.models.video.spec import FirstFrame

WHITE = (255, 255, 255)


def decode_image(data: bytes, name: str = "first frame") -> np.ndarray:
    """An RGB uint8 [H, W, 3] array from PNG / JPEG / WebP bytes."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            frame = next(container.decode(video=0))
            return np.asarray(frame.to_ndarray(format="rgb24"))
    except (av.error.FFmpegError, StopIteration, ValueError) as err:
        raise PermanentModelError(f"cannot decode the {name} as an image: {err}") from None


def image_size(frame: FirstFrame) -> tuple[int, int]:
    height, width = decode_image(frame.data, frame.name).shape[:2]
    return int(width), int(height)


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return np.asarray(frame.reformat(width=width, height=height).to_ndarray(format="rgb24"))


def letterbox(
    image: np.ndarray, width: int, height: int, pad: tuple[int, int, int] = WHITE
) -> np.ndarray:
    """`image` scaled to fit inside width x height (aspect kept) and centred on a `pad` canvas."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = np.asarray(pad, dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resize(image, new_w, new_h)
    return canvas


def fitted_png(frame: FirstFrame, width: int, height: int) -> bytes:
    """The first frame letterboxed to exactly width x height, as PNG (the input file is never
    touched)."""
    return encode_png(letterbox(decode_image(frame.data, frame.name), width, height))


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def frames_to_mp4(frames: Sequence[np.ndarray], fps: int, crf: int = 18) -> bytes:
    """H.264 (yuv420p) mp4 bytes of RGB uint8 frames; odd sizes are padded by one pixel."""
    if not frames:
        raise ValueError("no frames to encode")
    first = np.asarray(frames[0])
    height, width = first.shape[:2]
    even_w, even_h = width + width % 2, height + height % 2
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = even_w, even_h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for image in frames:
            arr = np.asarray(image)
            if (even_w, even_h) != (width, height):
                arr = np.pad(arr, ((0, even_h - height), (0, even_w - width), (0, 0)), mode="edge")
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def without_query(url: str) -> str:
    """A download URL without its query string and fragment (signed URLs carry their token
    there); what is recorded in metadata."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


async def download(url: str, provider: str, timeout_s: float = 300.0) -> bytes:
    """The bytes at `url` (a finished video): 5xx / 429 / network errors are transient, other
    4xx permanent (an expired link)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.get(url) as reply,
        ):
            data = await reply.read()
            status = reply.status
    except (aiohttp.ClientError, TimeoutError) as err:
        raise ModelUnreachableError(
            f"{provider}: downloading the video failed: {type(err).__name__}: {err}"
        ) from None
    if status == 429 or status >= 500:
        raise TransientModelError(f"{provider}: downloading the video: HTTP {status}")
    if status >= 400:
        raise PermanentModelError(f"{provider}: downloading the video: HTTP {status}")
    if not data:
        raise TransientModelError(f"{provider}: the video download was empty")
    return data
