"""`avibench-solver`: a reference model that answers the generated AVI-Bench edition from the
signal, reading only the request (its text and media, through the media layer).

- can you hear any sound? -> the track is not silent (RMS and peak under a floor);
- can you see anything? -> the picture (or first frame) holds an object: pixels far from
  the border colour;
- louder / clearer, first or last -> RMS / tonality (peak band over total power) of each half;
- sound or noise first, higher pitch -> class and spectral peak of the first two sound events;
- solid (VSQA_I 3d) -> a cube shows three flat shades; otherwise the silhouette's width a
  quarter of the way down: narrow cone, full cylinder, between sphere;
- colour, shape, place, line, largest, brightest -> objects = connected regions off the
  background; the shape from how an object fills its box (square, circle, then triangle or
  diamond by where it is widest);
- movement, size change, diagonal, surface -> the largest object's centroid and area in the
  first and last frames; texture = the spread of its pixels;
- which object / colour makes the sound (AVSQA) -> the objects that grow at the moment
  (within 0.15 s) a sound begins;
- count by class (AMIC, VMIC) -> sound events by class (spectral flatness, then the spectral
  peak); objects by shape;
- boxes of the sounding objects (AVL) -> the shapes of the heard classes (shape-sound code);
- does every sound come when the object grows (AVM) -> onsets and growths pair up one to one;
- retrieval (VAR, AVR) -> the candidates whose class matches the query's through the code;
- caption (AVC) -> the template filled from colour, shape, direction, sound class and count;
- is there a <sound> / <shape>? (AVH, VAH) -> among the heard sounds / seen shapes;
- how many sounds / objects, which sounds first (AVQA) -> event count, object count, synchrony;
- per-frame boxes (AVLG) -> in each frame whose 0.2 s of audio is not silent, the box of the
  heard class's shape; None elsewhere.

A modality the request lacks is not guessed: a missing track hears nothing ("no", no events),
a missing picture sees nothing; questions that need it get "not sure" or an empty answer. So
under the `no-audio` / `no-frames` / `no-images` ablations the tasks that need both modalities
fall to chance or below.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from omnieval import registry
from omnieval.benchmarks.avibench.solver_joint import (
    AVLG_FRAME_S,
    SYNC_S,
    answer_caption,
    answer_count_objects,
    answer_count_shapes,
    answer_count_sound_classes,
    answer_count_sounds,
    answer_first_sound,
    answer_ground,
    answer_localise,
    answer_match,
    answer_retrieve_images,
    answer_retrieve_sounds,
    answer_shape_probe,
    answer_sound_probe,
    answer_which_sounds,
)
from omnieval.benchmarks.avibench.solver_media import NOT_SURE, Media, read_media
from omnieval.benchmarks.avibench.solver_sensation import (
    answer_clearer,
    answer_colour,
    answer_diagonal,
    answer_hear,
    answer_higher,
    answer_line,
    answer_louder,
    answer_movement,
    answer_place,
    answer_ranked_position,
    answer_see,
    answer_shape,
    answer_size_change,
    answer_solid,
    answer_sound_or_noise,
    answer_surface,
)
from omnieval.models.base import Model, ModelCapabilities, PermanentModelError
from omnieval.types import Modality, Request, Response

# the signal readers and the rules live in solver_media / solver_sensation / solver_joint
__all__ = [
    "AVLG_FRAME_S",
    "NOT_SURE",
    "SOLVER_VERSION",
    "SYNC_S",
    "AvibenchSolver",
    "Media",
    "read_media",
]

SOLVER_VERSION = "1"


@registry.models.register("avibench-solver")
class AvibenchSolver(Model):
    """Signal-level reference solver for the generated AVI-Bench edition (see the module doc)."""

    name = "avibench-solver"
    capabilities = ModelCapabilities(
        inputs=frozenset({Modality.TEXT, Modality.AUDIO, Modality.IMAGE, Modality.VIDEO}),
        max_concurrency=2,
    )

    def fingerprint(self) -> dict[str, Any]:
        return {"provider": self.name, "version": SOLVER_VERSION}

    async def generate(self, request: Request) -> Response:
        started = time.perf_counter()
        text = await asyncio.to_thread(self.answer, request)
        return Response(text=text, latency_s=time.perf_counter() - started)

    def answer(self, request: Request) -> str:
        text = request.text()
        media = read_media(request)
        for phrase, rule in _RULES:
            if phrase in text:
                return rule(media, text)
        raise PermanentModelError(f"avibench-solver: a question it cannot read: {text[-120:]!r}")


#: question phrase -> rule, most specific first (phrases come from the generator's questions)
_RULES = (
    ("Can you hear any sound?", answer_hear),
    ("Can you see anything in the", answer_see),
    ("Which sound is louder", answer_louder),
    ("Which tone is clearer", answer_clearer),
    ("Which comes first, the sound or the noise?", answer_sound_or_noise),
    ("Is the second tone higher in pitch", answer_higher),
    ("What colour is the shape?", answer_colour),
    ("What shape is in the image?", answer_shape),
    ("Where is the shape in the image?", answer_place),
    ("Which solid is shown?", answer_solid),
    ("What is the direction of the line?", answer_line),
    ("Which shape has the largest area?", lambda m, t: answer_ranked_position(m, "area")),
    ("Which shape is the brightest?", lambda m, t: answer_ranked_position(m, "luma")),
    ("Which shape appears in the video?", answer_shape),
    ("How does the shape move?", answer_movement),
    ("What happens to the shape?", answer_size_change),
    ("What is the surface of the shape like?", answer_surface),
    ("How does the shape's position change?", answer_diagonal),
    ("Which object makes the first sound?", answer_first_sound),
    ("Which object makes the sound?", answer_which_sounds),
    ("What colour is the object that makes the sound?", answer_which_sounds),
    ("How many sound events of each class", answer_count_sound_classes),
    ("How many shapes of each class", answer_count_shapes),
    ("Which objects make the sound? Give their boxes.", answer_localise),
    ("Does every sound come exactly when the object grows?", answer_match),
    ("Which of the sounds could the object in the image make?", answer_retrieve_sounds),
    ("Which of the images show the object that makes the sound?", answer_retrieve_images),
    ("Describe the video.", answer_caption),
    ("How many sounds are there?", answer_count_sounds),
    ("How many objects are there in the video?", answer_count_objects),
    ("Where is the sounding object in each frame?", answer_ground),
    ("sound in the audio?", answer_sound_probe),
    ("in the video?", answer_shape_probe),
)
