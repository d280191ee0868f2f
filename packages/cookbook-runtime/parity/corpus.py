"""A seeded corpus of conversations for renderer parity, in cookbook's message shape.

Each renderer family gets only what its format can express (DeepSeek takes one
leading system message, GPT-OSS tool results need a name, Llama 3 and role_colon
take plain text), so every conversation is one both libraries should render.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from cookbook_runtime.train.renderers import Message, ToolCall

TEXTS = [
    "Hello!",
    "",
    " ",
    "What is 2+2?",
    "日本語のテキストです。中文也可以。",
    "emoji 🎉🚀 and accents: café, naïve, Ångström",
    "  leading and trailing spaces  ",
    "\nstarts with a newline",
    "ends with newlines\n\n",
    "line one\nline two\n\n\nline five",
    "tabs\tand\r\nCRLF",
    "code:\n```python\ndef f(x):\n    return x * 2\n```",
    '{"json": [1, 2, 3], "nested": {"a": null}}',
    "typed specials: <|im_start|> <|im_end|> <|eot_id|> <|start|> <|end|> <｜User｜>",
    "a literal <think>not really</think> in text",
    "User: pretend header\n\nAssistant: another",
    "numbers 1234567890 and 3.14159 and -42",
    "Ünïcödé ẞ ﬁ ligatures and zero\u200bwidth",
    "a" * 300,
    "mixed 한국어 العربية русский ελληνικά",
]

THOUGHTS = [
    "Let me think step by step.",
    "",
    "\nThe user wants arithmetic.\n",
    "考虑一下这个问题。",
    "First, 2+2=4.\nSecond, check.",
]

TOOLS = [
    ("get_weather", {"location": "Paris", "unit": "celsius"}),
    ("search", {"query_list": ["python async", "pydantic"]}),
    ("calculator", {"expression": "2+2"}),
    ("lookup", {}),
    ("translate", {"text": "こんにちは", "target": "en"}),
]


@dataclass(frozen=True)
class Features:
    """What a family's format can carry."""

    thinking: bool
    tools: bool
    parts: bool
    system_anywhere: bool
    tool_names: bool = False


FEATURES = {
    "role_colon": Features(thinking=False, tools=False, parts=False, system_anywhere=True),
    "llama3": Features(thinking=False, tools=False, parts=False, system_anywhere=True),
    "qwen3": Features(thinking=True, tools=True, parts=True, system_anywhere=True),
    "deepseekv3": Features(thinking=True, tools=True, parts=True, system_anywhere=False),
    "gpt_oss": Features(thinking=True, tools=True, parts=True, system_anywhere=True, tool_names=True),
}


def _text(rng: random.Random) -> str:
    return rng.choice(TEXTS)


def _assistant(rng: random.Random, f: Features, *, allow_tools: bool) -> list[Message]:
    """One assistant turn, possibly with tool calls and their results and a follow-up."""
    style = rng.random()
    content: object
    if f.thinking and f.parts and style < 0.35:
        parts: list[dict[str, str]] = [{"type": "thinking", "thinking": rng.choice(THOUGHTS)}]
        if rng.random() < 0.8:
            parts.append({"type": "text", "text": _text(rng)})
        content = parts
    elif f.thinking and style < 0.45:
        content = f"<think>{rng.choice(THOUGHTS)}</think>{_text(rng)}"
    elif f.parts and style < 0.55:
        content = [{"type": "text", "text": _text(rng)}]
    else:
        content = _text(rng)
    msg: Message = {"role": "assistant", "content": content}  # type: ignore[typeddict-item]
    out = [msg]
    if f.tools and allow_tools and rng.random() < 0.3:
        calls = []
        for k in range(rng.choice([1, 1, 2])):
            name, args = rng.choice(TOOLS)
            calls.append(ToolCall(name, json.dumps(args), f"call_{k}"))
        msg["tool_calls"] = calls
        for call in calls:
            result: Message = {"role": "tool", "content": rng.choice(["72F and sunny", "", "[1, 2]", "結果"]), "tool_call_id": call.id or ""}
            result["name"] = call.name
            out.append(result)
        out.append({"role": "assistant", "content": _text(rng) or "Done."})
    return out


def conversation(rng: random.Random, family: str) -> list[Message]:
    """One random conversation that the family's format can express, ending with an assistant turn."""
    f = FEATURES[family]
    messages: list[Message] = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": rng.choice(["You are a helpful assistant.", "", "Réponds en français. 🇫🇷", "Be terse.\nVery terse."])})
    for turn in range(rng.choice([1, 1, 2, 3])):
        if f.system_anywhere and turn > 0 and rng.random() < 0.1:
            messages.append({"role": "system", "content": "Mid-conversation instruction."})
        user_content: object = _text(rng)
        if f.parts and rng.random() < 0.2:
            user_content = [{"type": "text", "text": user_content}]
        messages.append({"role": "user", "content": user_content})  # type: ignore[typeddict-item]
        messages.extend(_assistant(rng, f, allow_tools=True))
    return messages


def handcrafted(family: str) -> list[list[Message]]:
    """Edge cases every family gets: minimal, empty, unicode-only, assistant-first."""
    f = FEATURES[family]
    convs: list[list[Message]] = [
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
        [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}],
        [{"role": "system", "content": "S"}, {"role": "user", "content": "🙂"}, {"role": "assistant", "content": "🙃"}],
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}],
        [{"role": "assistant", "content": "I speak first."}],
    ]
    if f.thinking and f.parts:
        convs.append([
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t1"}, {"type": "text", "text": "a1"}]},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t2"}, {"type": "text", "text": "a2"}]},
        ])
        convs.append([{"role": "user", "content": "q"}, {"role": "assistant", "content": [{"type": "thinking", "thinking": "only thoughts"}]}])
    if f.tools:
        convs.append([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": "", "tool_calls": [ToolCall("get_weather", '{"location": "Paris"}', "c1")]},
            {"role": "tool", "content": "sunny", "tool_call_id": "c1", "name": "get_weather"},
            {"role": "assistant", "content": "It is sunny."},
        ])
    return convs


def corpus(family: str, n: int = 80, seed: int = 0) -> list[list[Message]]:
    """Handcrafted cases plus `n` random conversations for `family`."""
    rng = random.Random(f"{family}-{seed}")
    return handcrafted(family) + [conversation(rng, family) for _ in range(n)]
