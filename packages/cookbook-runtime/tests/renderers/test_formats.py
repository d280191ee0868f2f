"""What each built-in format writes, and that parsing a rendered turn gives the turn back."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cookbook_runtime.errors import DataError
from cookbook_runtime.testing import ByteTokenizer
from cookbook_runtime.train.renderers import Message, ToolCall, TrainOnWhat, get_renderer
from cookbook_runtime.train.renderers.gpt_oss import GptOssRenderer

QWEN = ByteTokenizer()
LLAMA = ByteTokenizer(
    ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"), eos="<|eot_id|>"
)
DEEPSEEK = ByteTokenizer(
    (
        "<｜begin▁of▁sentence｜>",
        "<｜end▁of▁sentence｜>",
        "<｜User｜>",
        "<｜Assistant｜>",
        "<think>",
        "</think>",
        "<｜tool▁calls▁begin｜>",
        "<｜tool▁calls▁end｜>",
        "<｜tool▁call▁begin｜>",
        "<｜tool▁call▁end｜>",
        "<｜tool▁sep｜>",
        "<｜tool▁output▁begin｜>",
        "<｜tool▁output▁end｜>",
    ),
    eos="<｜end▁of▁sentence｜>",
)
HARMONY = ByteTokenizer(
    ("<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|return|>", "<|call|>", "<|constrain|>"),
    eos="<|return|>",
)


class SplittingByteTokenizer(ByteTokenizer):
    """ByteTokenizer that, like HF, can keep special-token spellings as text."""

    def encode(self, text: str, add_special_tokens: bool = False, split_special_tokens: bool = False) -> list[int]:
        if split_special_tokens:
            keep = ("<think>", "</think>", "<tool_call>", "</tool_call>")
            pieces = [text]
            for tok in keep:
                pieces = [p for piece in pieces for p in _split_keep(piece, tok)]
            return [i for p in pieces for i in (super().encode(p) if p in keep else list(p.encode()))]
        return super().encode(text)


def _split_keep(text: str, sep: str) -> list[str]:
    out: list[str] = []
    for i, chunk in enumerate(text.split(sep)):
        if i:
            out.append(sep)
        if chunk:
            out.append(chunk)
    return out


def render(name: str, tok: ByteTokenizer, conv: Sequence[Message]) -> str:
    model_input, _ = get_renderer(name, tok).build_supervised_example(conv, TrainOnWhat.ALL_MESSAGES)
    return tok.decode(model_input.to_ints())


def sampled(name: str, tok: ByteTokenizer, conv: list[Message]) -> list[int]:
    """The last turn's tokens after its generation prompt, as a sampler would return them."""
    r = get_renderer(name, tok)
    full = r.build_supervised_example(conv, TrainOnWhat.LAST_ASSISTANT_MESSAGE)[0].to_ints()
    prompt = r.build_generation_prompt(conv[:-1]).to_ints()
    assert full[: len(prompt)] == prompt
    return full[len(prompt) :]


def test_role_colon_writes_roles_and_stops_on_next_user() -> None:
    conv: list[Message] = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]
    assert render("role_colon", QWEN, conv) == "User: Hi\n\nAssistant: Yo\n\nUser:"
    r = get_renderer("role_colon", QWEN)
    assert r.get_stop_sequences() == ["\n\nUser:"]
    assert r.parse_response(QWEN.encode(" Yo\n\nUser:")) == ({"role": "assistant", "content": "Yo"}, "stop")
    assert r.parse_response([*QWEN.encode(" Yo"), QWEN.eos_token_id or 0])[1] == "eos"
    assert r.parse_response(QWEN.encode(" Yo"))[1] == "malformed"


def test_llama3_headers_and_parse() -> None:
    conv: list[Message] = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]
    assert render("llama3", LLAMA, conv) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nYo<|eot_id|>"
    )
    r = get_renderer("llama3", LLAMA)
    assert LLAMA.decode(r.build_generation_prompt(conv[:1]).to_ints()).endswith("assistant<|end_header_id|>\n\n")
    assert r.parse_response(sampled("llama3", LLAMA, conv)) == ({"role": "assistant", "content": "Yo"}, "stop")


def test_qwen3_frames_the_produced_turn_and_strips_history_reasoning() -> None:
    conv: list[Message] = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "old"}, {"type": "text", "text": "a1"}]},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2", "thinking": "new"},
    ]
    text = render("qwen3", QWEN, conv)
    assert "old" not in text
    assert text.endswith("<|im_start|>assistant\n<think>\nnew\n</think>\n\na2<|im_end|>")


def test_qwen3_parses_thinking_and_tool_calls_back() -> None:
    call = ToolCall("get_weather", '{"city": "Paris"}')
    conv: list[Message] = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "look it up"}], "tool_calls": [call]},
    ]
    message, termination = get_renderer("qwen3", QWEN).parse_response(sampled("qwen3", QWEN, conv))
    assert termination == "stop"
    assert message["content"][0] == {"type": "thinking", "thinking": "look it up"}
    assert message["tool_calls"] == [call]


def test_qwen3_bad_tool_json_is_kept_as_unparsed() -> None:
    tokens = QWEN.encode("<tool_call>\n{not json}\n</tool_call><|im_end|>")
    message, termination = get_renderer("qwen3_instruct", QWEN).parse_response(tokens)
    assert termination == "stop"
    assert "tool_calls" not in message
    assert message["unparsed_tool_calls"][0].error.startswith("Invalid JSON")


def test_qwen3_response_without_stop_token_is_malformed() -> None:
    assert get_renderer("qwen3", QWEN).parse_response(QWEN.encode("cut sh"))[1] == "malformed"


def test_qwen3_keeps_typed_special_tokens_as_text() -> None:
    tok = SplittingByteTokenizer()
    conv: list[Message] = [{"role": "user", "content": "<|im_end|>"}, {"role": "assistant", "content": "ok"}]
    tokens = get_renderer("qwen3_instruct", tok).build_supervised_example(conv)[0].to_ints()
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert tokens.count(im_end) == 2  # one per message, none from the user's text


def test_qwen3_disable_thinking_prompt_closes_the_think_block() -> None:
    r = get_renderer("qwen3_disable_thinking", QWEN)
    prompt = r.build_generation_prompt([{"role": "user", "content": "q"}])
    assert QWEN.decode(prompt.to_ints()).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_qwen3_disable_thinking_refuses_to_train_reasoning() -> None:
    conv: list[Message] = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "thinking": "hmm"}]
    with pytest.raises(DataError, match="thinking"):
        get_renderer("qwen3_disable_thinking", QWEN).build_supervised_example(conv)


def test_tool_calls_may_be_openai_dicts() -> None:
    conv: list[Message] = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "id": "c", "function": {"name": "f", "arguments": {"x": 1}}}]},  # type: ignore[list-item]
    ]
    assert '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>' in render("qwen3_instruct", QWEN, conv)


def test_deepseek_thinking_prefills_think_and_parse_restores_it() -> None:
    conv: list[Message] = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "r"}, {"type": "text", "text": "a"}]},
    ]
    r = get_renderer("deepseekv3_thinking", DEEPSEEK)
    assert DEEPSEEK.decode(r.build_generation_prompt(conv[:-1]).to_ints()) == (
        "<｜begin▁of▁sentence｜>S<｜User｜>q<｜Assistant｜><think>"
    )
    message, termination = r.parse_response(sampled("deepseekv3_thinking", DEEPSEEK, conv))
    assert termination == "stop"
    assert message["content"] == [{"type": "thinking", "thinking": "r"}, {"type": "text", "text": "a"}]


def test_deepseek_non_thinking_drops_reasoning_and_closes_think() -> None:
    conv: list[Message] = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>r</think>a"}]
    assert render("deepseekv3", DEEPSEEK, conv) == (
        "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜></think>a<｜end▁of▁sentence｜>"
    )


def test_deepseek_rejects_a_late_system_message() -> None:
    conv: list[Message] = [{"role": "user", "content": "q"}, {"role": "system", "content": "late"}]
    with pytest.raises(DataError, match="system"):
        render("deepseekv3", DEEPSEEK, conv)


def test_gpt_oss_channels_and_tool_calls_round_trip() -> None:
    call = ToolCall("lookup", '{"q": 1}')
    conv: list[Message] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "r"}], "tool_calls": [call]},
    ]
    text = render("gpt_oss_no_sysprompt", HARMONY, conv)
    assert text.startswith("<|start|>developer<|message|># Instructions\n\nBe brief.\n\n<|end|>")
    assert text.endswith(
        "<|start|>assistant<|channel|>analysis<|message|>r<|end|><|start|>assistant to=functions.lookup"
        '<|channel|>commentary <|constrain|>json<|message|>{"q": 1}<|call|>'
    )
    message, termination = get_renderer("gpt_oss_no_sysprompt", HARMONY).parse_response(
        sampled("gpt_oss_no_sysprompt", HARMONY, conv)
    )
    assert termination == "stop"
    assert message["content"] == [{"type": "thinking", "thinking": "r"}]
    assert message["tool_calls"] == [call]


def test_gpt_oss_reasoning_variant_prepends_the_system_prompt() -> None:
    r = GptOssRenderer(HARMONY, reasoning_effort="high", current_date="2025-01-02")
    text = HARMONY.decode(r.build_generation_prompt([{"role": "user", "content": "q"}]).to_ints())
    assert text.startswith("<|start|>system<|message|>You are ChatGPT")
    assert "Current date: 2025-01-02\n\nReasoning: high" in text
    assert text.endswith("<|start|>user<|message|>q<|end|><|start|>assistant")


@pytest.mark.parametrize(
    ("name", "tok"),
    [("qwen3", QWEN), ("qwen3_instruct", QWEN), ("deepseekv3_thinking", DEEPSEEK), ("gpt_oss_no_sysprompt", HARMONY)],
)
def test_thinking_field_renders_like_a_thinking_part(name: str, tok: ByteTokenizer) -> None:
    as_field: list[Message] = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "thinking": "r"}]
    as_part: list[Message] = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "r"}, {"type": "text", "text": "a"}]},
    ]
    assert render(name, tok, as_field) == render(name, tok, as_part)
    assert ">r<" in render(name, tok, as_field).replace("\n", "")
