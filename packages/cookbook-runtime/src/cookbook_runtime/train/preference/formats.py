"""Row formats of preference datasets: each turns one dataset row into a `Comparison`.

A format is a function `row -> Comparison | None` (None for a tie) registered under a
name the `dpo_train` stage's `comparison_format` option takes. Each knows one public
layout; all raise `DataError` saying which field is wrong:

    pairs          {"prompt": str | messages, "chosen": str | messages, "rejected": ...}
                   or {"chosen": messages, "rejected": messages}: two whole conversations
                   sharing a prefix (the prompt), differing from some message on
    hh_rlhf        Anthropic HH-RLHF: "chosen"/"rejected" transcripts in
                   "\\n\\nHuman: ...\\n\\nAssistant: ..." text, identical up to the last reply
    helpsteer3     nvidia/HelpSteer3 "preference": "context" messages, "response1",
                   "response2", "overall_preference" in -3..3 (< 0: response1; 0: tie)
    ultrafeedback  argilla/ultrafeedback-binarized-preferences: "instruction",
                   "chosen_response", "rejected_response" (equal ratings: a tie)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from cookbook_runtime.errors import DataError, UnknownNameError
from cookbook_runtime.train.preference.types import Comparison, Label, Message, resolve_label

__all__ = ["COMPARISON_FORMATS", "ComparisonFormat", "get_comparison_format"]

ComparisonFormat = Callable[[Mapping[str, Any]], Comparison | None]


def _field(row: Mapping[str, Any], name: str) -> Any:
    if not isinstance(row, Mapping):
        raise DataError(f"a preference row must be an object, got {type(row).__name__}")
    if name not in row:
        raise DataError(f"preference row has no {name!r} field (fields: {sorted(row)})")
    return row[name]


def _text(row: Mapping[str, Any], name: str) -> str:
    value = _field(row, name)
    if not isinstance(value, str):
        raise DataError(f"preference row field {name!r} must be a string, got {type(value).__name__}")
    return value


def _as_messages(value: Any, role: str, name: str) -> list[Message]:
    """A string becomes one message of `role`; a list must already be messages."""
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list) and all(isinstance(m, Mapping) and "role" in m for m in value):
        return [{"role": m["role"], "content": m.get("content", "")} for m in value]
    raise DataError(f"preference row field {name!r} must be a string or a list of {{role, content}} messages")


def _split_shared_prefix(chosen: list[Message], rejected: list[Message]) -> Comparison:
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    if shared == len(chosen) or shared == len(rejected):
        raise DataError("the chosen and rejected conversations do not differ after their shared prefix")
    return Comparison.of(chosen[:shared], chosen[shared:], rejected[shared:])


def pairs(row: Mapping[str, Any]) -> Comparison:
    """`{prompt, chosen, rejected}`, or two conversations that share their prompt."""
    chosen = _field(row, "chosen")
    rejected = _field(row, "rejected")
    if "prompt" not in row:
        return _split_shared_prefix(
            _as_messages(chosen, "assistant", "chosen"), _as_messages(rejected, "assistant", "rejected")
        )
    prompt = _as_messages(row["prompt"], "user", "prompt")
    return Comparison.of(
        prompt, _as_messages(chosen, "assistant", "chosen"), _as_messages(rejected, "assistant", "rejected")
    )


_HH_SPEAKER = re.compile(r"(?:^|\n\n)(Human|Assistant):")


def _hh_transcript(text: str, name: str) -> list[Message]:
    parts = _HH_SPEAKER.split(text)
    if len(parts) < 3 or parts[0].strip():
        raise DataError(f"hh_rlhf field {name!r} is not a 'Human: ... Assistant: ...' transcript")
    roles = {"Human": "user", "Assistant": "assistant"}
    return [{"role": roles[s], "content": c.strip()} for s, c in zip(parts[1::2], parts[2::2], strict=True)]


def hh_rlhf(row: Mapping[str, Any]) -> Comparison:
    """Two transcripts identical except for the final assistant reply."""
    chosen = _hh_transcript(_text(row, "chosen"), "chosen")
    rejected = _hh_transcript(_text(row, "rejected"), "rejected")
    if len(chosen) != len(rejected) or chosen[:-1] != rejected[:-1] or chosen[-1]["role"] != "assistant":
        raise DataError("hh_rlhf row: the transcripts must match up to a differing last assistant reply")
    return Comparison.of(chosen[:-1], chosen[-1:], rejected[-1:])


def helpsteer3(row: Mapping[str, Any]) -> Comparison | None:
    """`overall_preference` < 0 prefers response1, > 0 response2, 0 is a tie."""
    context = _as_messages(_field(row, "context"), "user", "context")
    preference = _field(row, "overall_preference")
    if isinstance(preference, bool) or not isinstance(preference, int | float):
        raise DataError("helpsteer3 row field 'overall_preference' must be a number in -3..3")
    label: Label = "tie" if preference == 0 else ("A" if preference < 0 else "B")
    a = _as_messages(_text(row, "response1"), "assistant", "response1")
    b = _as_messages(_text(row, "response2"), "assistant", "response2")
    return resolve_label(context, a, b, label)


def ultrafeedback(row: Mapping[str, Any]) -> Comparison | None:
    """One instruction, the chosen and rejected responses; equal ratings are a tie."""
    prompt = _as_messages(_text(row, "instruction"), "user", "instruction")
    chosen = _as_messages(_text(row, "chosen_response"), "assistant", "chosen_response")
    rejected = _as_messages(_text(row, "rejected_response"), "assistant", "rejected_response")
    ratings = row.get("chosen_rating"), row.get("rejected_rating")
    if None not in ratings and ratings[0] == ratings[1]:
        return None
    return Comparison.of(prompt, chosen, rejected)


COMPARISON_FORMATS: dict[str, ComparisonFormat] = {
    "pairs": pairs,
    "hh_rlhf": hh_rlhf,
    "helpsteer3": helpsteer3,
    "ultrafeedback": ultrafeedback,
}
"""Format name -> row converter."""


def get_comparison_format(name: str) -> ComparisonFormat:
    """The converter called `name`, or `UnknownNameError` listing the known ones."""
    try:
        return COMPARISON_FORMATS[name]
    except KeyError:
        raise UnknownNameError("comparison format", name, sorted(COMPARISON_FORMATS)) from None
