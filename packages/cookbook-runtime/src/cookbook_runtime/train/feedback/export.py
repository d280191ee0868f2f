"""Feedback -> training rows: SFT conversations and `{prompt, chosen, rejected}` preference pairs.

Per inference event, its signals say what users thought of the completion:

- an `edit` gives an SFT row (prompt + the edited reply) and a pair (edit over the original);
- a `preferred` completion gives a pair (preferred over the original);
- thumbs are counted: more ups than downs makes the event *liked* (an SFT row of its
  own completion), more downs than ups *disliked*; on the same prompt, every liked
  completion is paired over every disliked one (at most `max_pairs_per_prompt`).

Pairs whose chosen and rejected texts are equal teach nothing and are dropped, and
repeated rows are kept once. The rows are what `supervised_train` (`messages`) and
`dpo_train`'s `pairs` format (`prompt`, `chosen`, `rejected`) read; each also names
its source and event ids, for tracing a row back to the feedback that made it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cookbook_runtime.ports import FeedbackSignal, InferenceEvent

__all__ = ["FeedbackRows", "feedback_rows"]


@dataclass
class FeedbackRows:
    """What `feedback_rows` made: SFT rows, preference pairs, and how many pairs of each source."""

    sft: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    pairs_by_source: dict[str, int] = field(default_factory=dict)


@dataclass
class _Verdict:
    event: InferenceEvent
    ups: int = 0
    downs: int = 0
    edits: list[str] = field(default_factory=list)
    preferred: list[str] = field(default_factory=list)


def _prompt(event: InferenceEvent) -> list[dict[str, Any]]:
    return [{"role": m["role"], "content": m["content"]} for m in event.messages]


def _prompt_key(event: InferenceEvent) -> str:
    return json.dumps(_prompt(event), sort_keys=True, ensure_ascii=False)


def feedback_rows(
    events: Mapping[str, InferenceEvent],
    signals: Iterable[FeedbackSignal],
    *,
    max_pairs_per_prompt: int | None = None,
) -> FeedbackRows:
    """Turn signals (on the given events; others are ignored) into SFT rows and preference pairs."""
    verdicts: dict[str, _Verdict] = {}
    for signal in signals:
        event = events.get(signal.event_id)
        if event is None:
            continue
        verdict = verdicts.setdefault(event.id, _Verdict(event))
        if signal.kind == "thumbs_up":
            verdict.ups += 1
        elif signal.kind == "thumbs_down":
            verdict.downs += 1
        elif signal.kind == "edit" and signal.completion:
            verdict.edits.append(signal.completion)
        elif signal.kind == "preferred" and signal.completion:
            verdict.preferred.append(signal.completion)

    out = FeedbackRows()
    seen_sft: set[str] = set()
    seen_pairs: set[tuple[str, str, str]] = set()

    def add_sft(event: InferenceEvent, reply: str, source: str) -> None:
        messages = [*_prompt(event), {"role": "assistant", "content": reply}]
        key = json.dumps(messages, sort_keys=True, ensure_ascii=False)
        if key in seen_sft:
            return
        seen_sft.add(key)
        out.sft.append({"messages": messages, "source": source, "event_id": event.id})

    def add_pair(chosen_event: InferenceEvent, chosen: str, rejected_event: InferenceEvent, rejected: str,
                 source: str) -> bool:
        key = (_prompt_key(chosen_event), chosen, rejected)
        if chosen == rejected or key in seen_pairs:
            return False
        seen_pairs.add(key)
        out.pairs.append({
            "prompt": _prompt(chosen_event),
            "chosen": chosen,
            "rejected": rejected,
            "source": source,
            "chosen_event_id": chosen_event.id,
            "rejected_event_id": rejected_event.id,
        })
        out.pairs_by_source[source] = out.pairs_by_source.get(source, 0) + 1
        return True

    liked: dict[str, list[InferenceEvent]] = {}
    disliked: dict[str, list[InferenceEvent]] = {}
    for verdict in verdicts.values():
        event = verdict.event
        for edited in verdict.edits:
            add_sft(event, edited, "edit")
            add_pair(event, edited, event, event.completion, "edit")
        for better in verdict.preferred:
            add_pair(event, better, event, event.completion, "preferred")
        if verdict.ups > verdict.downs:
            add_sft(event, event.completion, "thumbs_up")
            liked.setdefault(_prompt_key(event), []).append(event)
        elif verdict.downs > verdict.ups:
            disliked.setdefault(_prompt_key(event), []).append(event)

    for key, good in liked.items():
        bad: Sequence[InferenceEvent] = disliked.get(key, [])
        made = 0
        for up in good:
            for down in bad:
                if max_pairs_per_prompt is not None and made >= max_pairs_per_prompt:
                    break
                made += add_pair(up, up.completion, down, down.completion, "thumbs")
    return out
