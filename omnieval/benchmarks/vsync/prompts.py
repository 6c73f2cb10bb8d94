"""V-SYNC prompt assembly, block by block, as the upstream Level-1 pipeline builds it.

Blocks, joined by blank lines: `[SYSTEM]`, `[ASR]` (only when audio is on and the item has a
transcript), `Options:`, the user
prompt, the answer format; then the question. Upstream sends API models the ASR, options and
answer-format blocks twice (its client appends them again); we never do.
"""

from __future__ import annotations

from pydantic import Field

from omnieval.types import Frozen

UPSTREAM_SYSTEM = (
    "You are a precise video-audio reasoning assistant. "
    "You must answer ONLY with the option letter (A, B, C, or D)."
)
UPSTREAM_USER = (
    "Please carefully analyze the video, paying attention to the temporal relationship "
    "between the audio and visual content."
)
UPSTREAM_ANSWER_FORMAT = (
    "Answer ONLY with the option letter (A, B, C, or D). Do not include any other text."
)


class VsyncPrompt(Frozen):
    """The configurable prompt blocks; `{letters}` is filled with this sample's option letters."""

    system: str = Field(
        default=(
            "You are a precise video-audio reasoning assistant. "
            "You must answer ONLY with the option letter ({letters})."
        )
    )
    user: str = UPSTREAM_USER
    answer_format: str = (
        "Answer ONLY with the option letter ({letters}). Do not include any other text."
    )

    @classmethod
    def upstream(cls) -> VsyncPrompt:
        """The exact upstream strings (which always say A-D, whatever the option count)."""
        return cls(system=UPSTREAM_SYSTEM, user=UPSTREAM_USER, answer_format=UPSTREAM_ANSWER_FORMAT)


def letters_phrase(letters: tuple[str, ...]) -> str:
    """ "A, B, C, or D" / "A or B"."""
    if len(letters) <= 2:
        return " or ".join(letters)
    return ", ".join(letters[:-1]) + f", or {letters[-1]}"


def build_prompt(
    prompt: VsyncPrompt,
    question: str,
    options: list[str],
    letters: tuple[str, ...],
    asr: str | None,
) -> str:
    phrase = letters_phrase(letters)
    blocks = [f"[SYSTEM]\n{prompt.system.replace('{letters}', phrase)}"]
    if asr:  # upstream leaves the block out when the item's transcript is empty
        blocks.append(f"[ASR]\n{asr}")
    blocks.append("Options:\n" + "\n".join(options))
    if prompt.user:
        blocks.append(prompt.user)
    if prompt.answer_format:
        blocks.append(prompt.answer_format.replace("{letters}", phrase))
    return "\n\n".join(blocks) + "\n\n" + question
