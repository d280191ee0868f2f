"""Comparison data: one prompt, the completion a judge preferred and the one it did not.

Preference datasets label a pair `A`, `B` or a tie. DPO needs an ordered pair, so a
label is resolved into a `Comparison` once, here: `A`/`B` pick the chosen side and a
tie yields None, which the dataset counts and leaves out. Ties are never silently
folded into one side (tinker-cookbook's labeled comparisons treat a tie as `B`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from cookbook_runtime.errors import DataError

__all__ = ["Comparison", "Label", "Message", "resolve_label"]

Message: TypeAlias = dict[str, Any]
Label: TypeAlias = Literal["A", "B", "tie"]


def _messages(value: Sequence[Message], what: str) -> tuple[Message, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise DataError(f"a comparison's {what} must be a list of messages, got {type(value).__name__}")
    out = []
    for i, message in enumerate(value):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise DataError(f"a comparison's {what} message {i} is not a {{role, content}} object")
        out.append(dict(message))
    return tuple(out)


@dataclass(frozen=True)
class Comparison:
    """`prompt` (the shared conversation so far), then `chosen` beats `rejected`.

    Both completions are non-empty lists of messages continuing `prompt`; only their
    tokens carry loss when a comparison is rendered.
    """

    prompt: tuple[Message, ...]
    chosen: tuple[Message, ...]
    rejected: tuple[Message, ...]

    @classmethod
    def of(cls, prompt: Sequence[Message], chosen: Sequence[Message], rejected: Sequence[Message]) -> Comparison:
        """Build from lists, checking the shape (`DataError` on an empty completion)."""
        made = cls(_messages(prompt, "prompt"), _messages(chosen, "chosen"), _messages(rejected, "rejected"))
        if not made.chosen or not made.rejected:
            raise DataError("a comparison needs a non-empty chosen and rejected completion")
        return made


def resolve_label(
    prompt: Sequence[Message], completion_a: Sequence[Message], completion_b: Sequence[Message], label: Label
) -> Comparison | None:
    """The comparison a labeled pair states; None for a tie (no preference to learn)."""
    if label == "A":
        return Comparison.of(prompt, completion_a, completion_b)
    if label == "B":
        return Comparison.of(prompt, completion_b, completion_a)
    if label == "tie":
        return None
    raise DataError(f"unknown preference label {label!r}: use 'A', 'B' or 'tie'")
