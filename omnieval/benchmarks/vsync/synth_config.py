"""The knobs of the generated V-SYNC Level 1 edition and the fixed wording of its questions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from omnieval.types import Frozen

WHO = "who-is-speaking"
SYNC = "sync"
WHO_QUESTION = "Who is speaking at {t:.1f} s?"
SYNC_QUESTION = "Is the audio in sync with the video?"
SYNC_OPTIONS = (
    "The audio is ahead of the video",
    "The audio and video are in sync",
    "The audio is behind the video",
)
LETTERS = "ABCD"


class VsyncSynthConfig(Frozen):
    """Difficulty knobs of the generated V-SYNC edition (all recorded in `edition.json`)."""

    n_speakers_min: int = Field(
        default=2, ge=2, le=4, description="fewest faces in a who-is-speaking clip"
    )
    n_speakers_max: int = Field(default=4, ge=2, le=4, description="most faces (= most options)")
    clip_seconds: float = Field(default=4.0, ge=2.0, le=60.0)
    fps: int = Field(default=25, ge=5, le=60)
    width: int = Field(default=320, ge=64, le=1920)
    height: int = Field(default=180, ge=64, le=1080)
    turn_seconds_min: float = Field(default=1.0, gt=0.0, description="shortest speaking turn")
    turn_seconds_max: float = Field(default=2.0, gt=0.0, description="longest speaking turn")
    edge_margin_s: float = Field(
        default=0.3, ge=0.0, description="question time's distance to turn edges"
    )
    sync_share: float = Field(default=0.3, ge=0.0, le=1.0, description="fraction of sync items")
    sync_offsets_ms: tuple[int, ...] = Field(
        default=(-400, -200, -100, 0, 100, 200, 400),
        description="audio offsets drawn uniformly (repeat a value to weight it); + = audio late",
    )
    sync_styles: tuple[Literal["face", "flash"], ...] = ("face", "flash")
    flash_events_min: int = Field(default=3, ge=1)
    flash_events_max: int = Field(default=5, ge=1)
    flash_frames: int = Field(default=2, ge=1, description="frames a flash disc stays on")
    beep_ms: float = Field(default=60.0, gt=0.0, description="tone burst length")
    noise_level: float = Field(
        default=0.01, ge=0.0, le=0.3, description="noise std: x255 on pixels, x1.0 on audio samples"
    )
    mouth_gain: float = Field(default=1.0, gt=0.0, le=1.6, description="how wide mouths open")
    speech: Literal["auto", "espeak", "formant"] = "auto"
    crf: int = Field(default=23, ge=0, le=51, description="H.264 quality (lower = better)")
    x264_preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"
    ] = Field(default="ultrafast", description="x264 speed/size trade-off (quality is set by crf)")
    audio_bitrate: int = Field(default=96_000, ge=16_000)

    @model_validator(mode="after")
    def _check(self) -> VsyncSynthConfig:
        problems = []
        if self.n_speakers_min > self.n_speakers_max:
            problems.append("n_speakers_min > n_speakers_max")
        if self.turn_seconds_min > self.turn_seconds_max:
            problems.append("turn_seconds_min > turn_seconds_max")
        if self.turn_seconds_min < 2 * self.edge_margin_s + 0.2:
            problems.append("turn_seconds_min must be at least 2 * edge_margin_s + 0.2")
        if self.flash_events_min > self.flash_events_max:
            problems.append("flash_events_min > flash_events_max")
        if self.width % 2 or self.height % 2:
            problems.append("width and height must be even (yuv420p)")
        if not self.sync_offsets_ms:
            problems.append("sync_offsets_ms is empty")
        if any(abs(o) * 4 > self.clip_seconds * 1000 for o in self.sync_offsets_ms):
            problems.append("every |sync offset| must be under a quarter of the clip")
        if not self.sync_styles:
            problems.append("sync_styles is empty")
        if problems:
            raise ValueError("; ".join(problems))
        return self
