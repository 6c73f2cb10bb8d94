"""STAR-Bench's request layout, as its upstream code builds it. The framing sentences (the
channel sentence, the caption and uncut-audio frames) are upstream's exact strings: parity needs
the model to see the same request.

- The text is the question, a newline and the option block, one line `<A>: option` per option.
- Perception and spatial items: the audio first, then the text. Several audios are each preceded
  by a text part `Audio i:`; a single audio gets no label.
- `sr_ch`: the binaural file is given as two mono parts, its left channel as `Audio 1:` and its
  right channel as `Audio 2:`, followed by the sentence saying which is which.
- Temporal items: the text first; `tr_cap` adds the caption of the uncut scene, `tr_uncut` the
  uncut audio between two framing sentences; then, per clip, `\\nclip i:` and the clip.
"""

from __future__ import annotations

from collections.abc import Sequence

from omnieval.types import AudioPart, Part, TextPart

CHANNEL_SENTENCE = "Audio 1 is the left-ear channel and Audio 2 is the right-ear channel.\n"
CAPTION_TEMPLATE = (
    "Here is a caption that describes the full, uncut audio scene to help you reconstruct the "
    "original context: {caption}\n Below are 3 audio clips:\n"
)
UNCUT_BEFORE = "An uncut audio of the entire sound scene is provided:"
UNCUT_AFTER = (
    "\n The three clips are extracted from it, please arrange them in the correct order:\n"
)

#: request metadata key: the STAR-Bench dataset family (perception, temporal, spatial), for
#: endpoints that follow upstream's per-family token limits (`endpoints.py`)
FAMILY_KEY = "starbench_family"


def letter(index: int) -> str:
    return chr(ord("A") + index)


def option_block(options: Sequence[str]) -> str:
    """One `<A>: text` line per option (each line ends with a newline)."""
    return "".join(f"<{letter(i)}>: {text}\n" for i, text in enumerate(options))


def question_text(question: str, options: Sequence[str]) -> str:
    return f"{question}\n{option_block(options)}"


def labelled_audios(audios: Sequence[AudioPart]) -> list[Part]:
    """The audios, each preceded by `Audio i:` when there are several."""
    if len(audios) == 1:
        return [audios[0]]
    parts: list[Part] = []
    for i, audio in enumerate(audios):
        parts += [TextPart(text=f"Audio {i + 1}:"), audio]
    return parts


def channel_audios(binaural: AudioPart) -> list[Part]:
    """A binaural file as its left and right channels, with the sentence naming them."""
    return [
        TextPart(text="Audio 1:"),
        binaural.model_copy(update={"channel": "left"}),
        TextPart(text="Audio 2:"),
        binaural.model_copy(update={"channel": "right"}),
        TextPart(text=CHANNEL_SENTENCE),
    ]


def temporal_parts(
    text: str,
    clips: Sequence[AudioPart],
    caption: str | None = None,
    uncut: AudioPart | None = None,
) -> list[Part]:
    """Question and options, the auxiliary context, then `\\nclip i:` and each clip."""
    parts: list[Part] = [TextPart(text=text)]
    if caption is not None:
        parts.append(TextPart(text=CAPTION_TEMPLATE.format(caption=caption)))
    if uncut is not None:
        parts += [TextPart(text=UNCUT_BEFORE), uncut, TextPart(text=UNCUT_AFTER)]
    for i, clip in enumerate(clips):
        parts += [TextPart(text=f"\nclip {i + 1}:"), clip]
    return parts
