"""The media layer: probe, decode, sample, encode and cache video and audio; check files.

```python
from omnieval.media import FrameSpec, AudioSpec, MediaCache, sample_frames, load_audio

cache = MediaCache()  # ~/.cache/omnieval/media
frames = sample_frames("clip.mp4", FrameSpec(fps=1, max_side=448), cache=cache)
audio = load_audio("clip.mp4", AudioSpec(sample_rate=16000), cache=cache)
```

See docs/media.md for timing conventions and the cache.
"""

from __future__ import annotations

from omnieval.media.audio import AudioClip, AudioSpec, load_audio
from omnieval.media.cache import MediaCache, default_cache_dir
from omnieval.media.digest import file_digest
from omnieval.media.doctor import MediaProblem, check_media_file, find_media_problems
from omnieval.media.encode import encode_jpeg, encode_mp3, encode_png, encode_wav
from omnieval.media.errors import MediaError
from omnieval.media.frames import Frames, FrameSpec, sample_frames
from omnieval.media.paths import OutsideRootError, dataset_media_path
from omnieval.media.prepare import (
    AudioPayload,
    AudioPolicy,
    PreparedAudio,
    ProbedLayout,
    audio_payload,
    prepare_audio,
    probe_layout,
    video_copy,
)
from omnieval.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo, probe

__all__ = [
    "AudioClip",
    "AudioPayload",
    "AudioPolicy",
    "AudioSpec",
    "AudioStreamInfo",
    "FrameSpec",
    "Frames",
    "MediaCache",
    "MediaError",
    "MediaInfo",
    "MediaProblem",
    "OutsideRootError",
    "PreparedAudio",
    "ProbedLayout",
    "VideoStreamInfo",
    "audio_payload",
    "check_media_file",
    "dataset_media_path",
    "default_cache_dir",
    "encode_jpeg",
    "encode_mp3",
    "encode_png",
    "encode_wav",
    "file_digest",
    "find_media_problems",
    "load_audio",
    "prepare_audio",
    "probe",
    "probe_layout",
    "sample_frames",
    "video_copy",
]
