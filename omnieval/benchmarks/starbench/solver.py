"""`starbench-solver`: a reference model that answers the generated STAR-Bench edition from the
raw signal, reading only the request (its text and its audio parts, through the media layer).

| question | rule |
|---|---|
| highest pitch | the audio whose spectrum peaks highest |
| loudest | the audio with the largest RMS |
| lasts the longest | the audio with the most samples above 5% of its peak |
| which direction | interaural level difference L - R: > +2 dB left, < -2 dB right, else front |
| ear level | the candidate notch (3.2 / 4.8 / 6.4 kHz) deepest against its neighbour bands |
| how far | direct-to-reverberant ratio (5 ms from the onset vs the rest): > 5 dB near, < -3.5 far |
| where is the high tone | the ILD at the high tone's spectral peak minus the low tone's |
| which of three tones is leftmost ... | the tones ranked by the ILD at their spectral peaks |
| relative to the listener | RMS of the last third vs the first: > +3 dB closer, < -3 dB away |
| how does it move | the ILD of the first and last thirds: left then right = left to right ... |
| clip order | the clips sorted by their spectral peak (the tone rises) |

Left and right come from a stereo part, or from two parts taking one channel each
(`AudioPart.channel`, as `sr_ch` sends them). With `downmix: true` every part is averaged to
mono first: the interaural cues vanish and the spatial answers fall to chance (front / in front).
`Response.text` is exactly the option letter.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import numpy as np

from omnieval import registry
from omnieval.benchmarks.starbench.synth import (
    DISTANCES,
    ELEVATIONS,
    RATE,
    RELATIONS,
    TONES3,
    TRAJECTORIES,
)
from omnieval.media import AudioSpec, MediaError, load_audio
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.types import AudioPart, Modality, Request, Response, TextPart

SOLVER_VERSION = "4"
_OPTION = re.compile(r"^<([A-Z])>: (.*)$", re.M)
_CLIP = re.compile(r"clip (\d+):\s*$")
ILD_THRESHOLD_DB = 2.0
#: direct-to-reverberant ratio bounds (dB) between near / middle and middle / far: midway between
#: what both rooms give (synthetic: +12, 0, -12; pyroomacoustics: about +11, 0, -9 with early
#: reflections within the 5 ms direct window)
DRR_NEAR_DB = 5.0
DRR_FAR_DB = -3.5


@registry.models.register("starbench-solver")
class StarbenchSolver(Model):
    """Signal-level reference solver for the generated STAR-Bench edition (see the module doc)."""

    name = "starbench-solver"
    capabilities = ModelCapabilities(
        inputs=frozenset({Modality.TEXT, Modality.AUDIO}), max_concurrency=4
    )

    def __init__(self, downmix: bool = False) -> None:
        self.downmix = bool(downmix)

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "version": SOLVER_VERSION, "downmix": self.downmix}

    async def generate(self, request: Request) -> Response:
        started = time.perf_counter()
        letter = await asyncio.to_thread(self.answer, request)
        return Response(text=letter, latency_s=time.perf_counter() - started)

    # ------------------------------------------------------------------ analysis

    def answer(self, request: Request) -> str:
        text = request.text()
        options = dict((text_, letter) for letter, text_ in _OPTION.findall(text))
        if not options:
            raise PermanentModelError("starbench-solver: no '<A>: option' lines in the prompt")
        audios, clips = self._audios(request)
        lowered = text.lower()
        if "highest pitch" in lowered:
            choice = f"Audio {1 + int(np.argmax([_peak_hz(a) for a in audios]))}"
        elif "loudest" in lowered:
            choice = f"Audio {1 + int(np.argmax([_rms(a) for a in audios]))}"
        elif "lasts the longest" in lowered:
            choice = f"Audio {1 + int(np.argmax([_active(a) for a in audios]))}"
        elif "which direction does the sound come" in lowered:
            choice = _direction(_ild_db(*_left_right(audios)))
        elif "ear level" in lowered:
            choice = _elevation(audios[0])
        elif "how far" in lowered:
            choice = _distance(audios[0])
        elif "three tones play at once" in lowered:
            choice = _relation3(*_left_right(audios), lowered.split("<a>:")[0])
        elif "where is the high tone" in lowered:
            left, right = _left_right(audios)
            choice = _relation(left, right)
        elif "move relative to the listener" in lowered:
            choice = _trajectory(audios[0])
        elif "in which direction does the sound source move" in lowered:
            left, right = _left_right(audios)
            third = left.shape[-1] // 3
            start = _ild_db(left[:third], right[:third])
            end = _ild_db(left[-third:], right[-third:])
            if start > ILD_THRESHOLD_DB and end < -ILD_THRESHOLD_DB:
                choice = "from left to right"
            elif start < -ILD_THRESHOLD_DB and end > ILD_THRESHOLD_DB:
                choice = "from right to left"
            else:
                choice = "it stays in front"
        elif len(clips) == 3:
            ranked = sorted(clips, key=lambda label: _peak_hz(clips[label]))
            choice = " -> ".join(f"clip {label}" for label in ranked)
        else:
            raise PermanentModelError(f"starbench-solver: a question it cannot read: {text[:80]!r}")
        if choice not in options:
            raise PermanentModelError(f"starbench-solver: no option {choice!r} in the prompt")
        return options[choice]

    def _audios(self, request: Request) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
        """Every audio part as [channels, n] (in order), and the ones labelled `clip i:`."""
        audios: list[np.ndarray] = []
        clips: dict[int, np.ndarray] = {}
        label: str = ""
        for part in request.parts:
            if isinstance(part, TextPart):
                label = part.text
                continue
            if not isinstance(part, AudioPart):
                continue
            samples = self._load(part)
            audios.append(samples)
            match = _CLIP.search(label)
            if match:
                clips[int(match.group(1))] = samples
            label = ""
        if not audios:
            raise PermanentModelError("starbench-solver: the request has no audio")
        return audios, clips

    def _load(self, part: AudioPart) -> np.ndarray:
        try:
            clip = load_audio(part.path, AudioSpec(mono=False, window=part.window))
        except MediaError as err:
            raise PermanentModelError(f"starbench-solver: {err}") from None
        samples = np.asarray(clip.samples, dtype=np.float64)
        if self.downmix:  # the file itself made mono: both "ears" then hear the same signal
            return samples.mean(axis=0, keepdims=True)
        if part.channel is not None:
            index = {"left": 0, "right": 1}.get(str(part.channel), part.channel)
            assert isinstance(index, int)
            samples = samples[index : index + 1]
        return samples


def _peak_hz(audio: np.ndarray) -> float:
    mono = audio.mean(axis=0)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.argmax(spectrum)) / len(mono)  # proportional to Hz at a fixed rate


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio**2)))


def _active(audio: np.ndarray) -> int:
    mono = np.abs(audio.mean(axis=0))
    return int(np.sum(mono > 0.05 * (mono.max() + 1e-12)))


def _left_right(audios: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Left and right ear signals: a stereo part, or two one-channel parts (left first)."""
    if audios[0].shape[0] >= 2:
        return audios[0][0], audios[0][1]
    if len(audios) >= 2:
        return audios[0][0], audios[1][0]
    return audios[0][0], audios[0][0]  # mono: no interaural cue


def _ild_db(left: np.ndarray, right: np.ndarray) -> float:
    return float(20 * np.log10((_rms(left) + 1e-12) / (_rms(right) + 1e-12)))


def _direction(ild: float) -> str:
    if ild > ILD_THRESHOLD_DB:
        return "left"
    if ild < -ILD_THRESHOLD_DB:
        return "right"
    return "front"


def _band_energy(spectrum: np.ndarray, freqs: np.ndarray, low: float, high: float) -> float:
    band = (freqs >= low) & (freqs < high)
    return float(np.mean(spectrum[band] ** 2)) if band.any() else 0.0


def _elevation(audio: np.ndarray) -> str:
    """The elevation whose notch band is deepest relative to the bands just around it."""
    mono = audio.mean(axis=0)
    spectrum = np.abs(np.fft.rfft(mono))
    freqs = np.fft.rfftfreq(len(mono), 1 / RATE)
    depth = {}
    for option, centre in ELEVATIONS.items():
        inside = _band_energy(spectrum, freqs, centre * 2 ** (-1 / 8), centre * 2 ** (1 / 8))
        around = _band_energy(spectrum, freqs, centre * 2 ** (-1 / 2), centre * 2 ** (-1 / 4))
        around += _band_energy(spectrum, freqs, centre * 2 ** (1 / 4), centre * 2 ** (1 / 2))
        depth[option] = inside / (around + 1e-12)
    return min(depth, key=lambda option: depth[option])


def _distance(audio: np.ndarray) -> str:
    """Direct-to-reverberant ratio: the 5 ms from the onset against everything after 6 ms."""
    power = np.sum(audio**2, axis=0)
    magnitude = np.sqrt(power)
    onset = int(np.argmax(magnitude > 0.05 * (magnitude.max() + 1e-12)))
    direct = float(np.sum(power[onset : onset + int(0.005 * RATE)]))
    tail = float(np.sum(power[onset + int(0.006 * RATE) :]))
    drr = 10 * np.log10((direct + 1e-12) / (tail + 1e-12))
    near, middle, far = list(DISTANCES)
    return near if drr > DRR_NEAR_DB else far if drr < DRR_FAR_DB else middle


def _tone_ilds(
    left: np.ndarray, right: np.ndarray, bands: tuple[tuple[float, float], ...]
) -> list[float]:
    """The interaural level difference (L - R, dB) at the spectral peak within each band."""
    spec_l = np.abs(np.fft.rfft(left * np.hanning(len(left))))
    spec_r = np.abs(np.fft.rfft(right * np.hanning(len(right))))
    freqs = np.fft.rfftfreq(len(left), 1 / RATE)
    both = spec_l + spec_r
    ild = []
    for low, high in bands:
        band = np.flatnonzero((freqs >= low) & (freqs < high))
        peak = band[int(np.argmax(both[band]))]
        ild.append(float(20 * np.log10((spec_l[peak] + 1e-12) / (spec_r[peak] + 1e-12))))
    return ild


def _relation(left: np.ndarray, right: np.ndarray) -> str:
    """Compare the interaural level differences at the low and the high tone's peaks."""
    ild = _tone_ilds(left, right, ((100.0, 800.0), (800.0, 4000.0)))
    difference = ild[1] - ild[0]  # > 0: the high tone is louder on the left than the low one
    if difference > ILD_THRESHOLD_DB:
        return RELATIONS[0]
    if difference < -ILD_THRESHOLD_DB:
        return RELATIONS[1]
    return RELATIONS[2]


def _relation3(left: np.ndarray, right: np.ndarray, question: str) -> str:
    """Rank the three tones left to right by the ILD at each one's spectral peak (largest
    L - R first; a stable sort, so with no interaural difference the order is low, middle,
    high) and pick the leftmost, middle or rightmost."""
    ild = _tone_ilds(left, right, ((100.0, 500.0), (500.0, 1400.0), (1400.0, 4000.0)))
    order = sorted(range(3), key=lambda k: -ild[k])
    rank = 0 if "leftmost" in question else 2 if "rightmost" in question else 1
    return TONES3[order[rank]]


def _trajectory(audio: np.ndarray) -> str:
    """Level change from the first to the last third (the direct sound goes as 1/r)."""
    third = audio.shape[-1] // 3
    change = 20 * np.log10((_rms(audio[:, -third:]) + 1e-12) / (_rms(audio[:, :third]) + 1e-12))
    closer, away, same = list(TRAJECTORIES)
    return closer if change > 3.0 else away if change < -3.0 else same
