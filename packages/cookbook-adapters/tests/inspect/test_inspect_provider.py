"""The `cookbook` inspect model provider on the runtime's fakes: prompts, settings, stops, tools, usage."""

from __future__ import annotations

import json

import pytest
from cookbook_adapters.inspect import CookbookModelAPI, cookbook_model
from cookbook_adapters.inspect._convert import to_renderer_messages
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.testing import ByteTokenizer, FakeSamplingClient
from cookbook_runtime.train.renderers import ToolCall, get_renderer
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    ContentReasoning,
    GenerateConfig,
    get_model,
)
from inspect_ai.tool import ToolCall as InspectToolCall
from inspect_ai.tool import ToolFunction, ToolInfo, ToolParam, ToolParams
from inspect_fakes import CannedSampler, Recording

TOK = ByteTokenizer()
QWEN = get_renderer("qwen3_instruct", TOK)
ROLE_COLON = get_renderer("role_colon", TOK)

ADD = ToolInfo(
    name="add",
    description="Add two integers.",
    parameters=ToolParams(
        properties={"a": ToolParam(type="integer"), "b": ToolParam(type="integer")}, required=["a", "b"]
    ),
)


def _reply_tokens(renderer: object, text: str) -> list[int]:
    """Tokens of an assistant turn `text` as the renderer writes it (what a trained model would sample)."""
    messages = [{"role": "user", "content": "x"}]
    prompt = renderer.build_generation_prompt(messages).to_ints()  # type: ignore[attr-defined]
    full, _ = renderer.build_supervised_example([*messages, {"role": "assistant", "content": text}])  # type: ignore[attr-defined]
    return list(full.to_ints()[len(prompt) :])


async def test_chat_is_rendered_and_sampling_settings_pass_through() -> None:
    client = Recording(FakeSamplingClient(TOK))
    model = cookbook_model(client, QWEN, name="fake")
    config = GenerateConfig(
        system_message="Be brief.", max_tokens=5, temperature=0.5, top_p=0.9, top_k=20, seed=7, num_choices=3
    )
    output = await model.generate([ChatMessageUser(content="copy a b")], config=config)

    prompt, n, params = client.calls[0]
    expected = QWEN.build_generation_prompt(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "copy a b"}]
    )
    assert prompt == expected.to_ints()
    assert n == 3 and len(output.choices) == 3
    assert (params.max_tokens, params.temperature, params.top_p, params.top_k, params.seed) == (5, 0.5, 0.9, 20, 7)
    assert params.stop == QWEN.get_stop_sequences()
    assert str(model) == "cookbook/fake"
    assert output.usage is not None
    assert output.usage.input_tokens == len(prompt)
    sampled = await FakeSamplingClient(TOK).sample(expected, 3, params)
    assert output.usage.output_tokens == sum(len(s.tokens) for s in sampled.sequences)
    assert [c.message.text for c in output.choices] == [
        QWEN.parse_response(s.tokens)[0]["content"] for s in sampled.sequences
    ], "each choice is the renderer's parse of one sample"


async def test_unset_settings_take_the_provider_defaults() -> None:
    client = Recording(FakeSamplingClient(TOK))
    await cookbook_model(client, QWEN).generate("hi")
    _, n, params = client.calls[0]
    assert (n, params.max_tokens, params.temperature, params.seed) == (1, 2048, 1.0, None)


async def test_stop_strings_go_to_a_string_stopping_renderer_and_cut_every_reply() -> None:
    client = CannedSampler(TOK, [_reply_tokens(ROLE_COLON, "left END right")])
    output = await cookbook_model(client, ROLE_COLON).generate("go", config=GenerateConfig(stop_seqs=["END"]))
    assert client.calls[0][2].stop == [*ROLE_COLON.get_stop_sequences(), "END"]
    assert output.completion == "left "
    assert output.choices[0].stop_reason == "stop"


async def test_stop_strings_with_a_token_stopping_renderer_cut_the_reply_after_sampling() -> None:
    client = CannedSampler(TOK, [_reply_tokens(QWEN, "left END right")], stop_reason="length")
    output = await cookbook_model(client, QWEN).generate("go", config=GenerateConfig(stop_seqs=["END"]))
    assert client.calls[0][2].stop == QWEN.get_stop_sequences(), "token stops cannot mix with strings"
    assert output.completion == "left "
    assert output.choices[0].stop_reason == "stop"


async def test_a_reply_cut_by_max_tokens_says_so() -> None:
    client = CannedSampler(TOK, [list(b"abc")], stop_reason="length")
    output = await cookbook_model(client, QWEN).generate("go", config=GenerateConfig(max_tokens=3))
    assert output.choices[0].stop_reason == "max_tokens"


async def test_tool_calls_are_declared_parsed_and_returned_as_inspect_tool_calls() -> None:
    call = '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'
    client = CannedSampler(TOK, [_reply_tokens(QWEN, call)])
    output = await cookbook_model(client, QWEN).generate("What is 2+3?", tools=[ADD], tool_choice="auto")

    prompt_text = TOK.decode(client.calls[0][0])
    assert '"name": "add"' in prompt_text and "Add two integers." in prompt_text, prompt_text
    choice = output.choices[0]
    assert choice.stop_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    [tool_call] = choice.message.tool_calls
    assert (tool_call.function, tool_call.arguments, tool_call.parse_error) == ("add", {"a": 2, "b": 3}, None)


async def test_tool_choice_none_declares_nothing_and_a_named_choice_only_that_tool() -> None:
    client = CannedSampler(TOK, [_reply_tokens(QWEN, "5")])
    model = cookbook_model(client, QWEN)
    await model.generate("What is 2+3?", tools=[ADD], tool_choice="none")
    assert "Add two integers." not in TOK.decode(client.calls[0][0])
    other = ToolInfo(name="mul", description="Multiply.", parameters=ToolParams())
    await model.generate("What is 2+3?", tools=[ADD, other], tool_choice=ToolFunction(name="mul"))
    text = TOK.decode(client.calls[1][0])
    assert "Multiply." in text and "Add two integers." not in text


async def test_an_unparsable_tool_call_comes_back_with_its_parse_error() -> None:
    client = CannedSampler(TOK, [_reply_tokens(QWEN, "<tool_call>\nnot json\n</tool_call>")])
    output = await cookbook_model(client, QWEN).generate("go", tools=[ADD])
    [bad] = output.choices[0].message.tool_calls or []
    assert bad.function == "unparsed_tool_call" and bad.parse_error


async def test_reasoning_comes_back_as_reasoning_content() -> None:
    client = CannedSampler(TOK, [_reply_tokens(get_renderer("qwen3", TOK), "<think>\nhmm\n</think>\n\n42")])
    output = await cookbook_model(client, get_renderer("qwen3", TOK)).generate("go")
    content = output.choices[0].message.content
    assert isinstance(content, list) and isinstance(content[0], ContentReasoning)
    assert content[0].reasoning.strip() == "hmm" and output.completion.strip() == "42"


def test_a_tool_conversation_becomes_the_renderers_messages() -> None:
    messages = to_renderer_messages(
        [
            ChatMessageSystem(content="sys"),
            ChatMessageUser(content="What is 2+3?"),
            ChatMessageAssistant(
                content="", tool_calls=[InspectToolCall(id="c1", function="add", arguments={"a": 2, "b": 3})]
            ),
            ChatMessageTool(content="5", tool_call_id="c1", function="add"),
        ]
    )
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[2]["tool_calls"] == [ToolCall("add", json.dumps({"a": 2, "b": 3}, separators=(",", ":")), "c1")]
    assert (messages[3]["tool_call_id"], messages[3]["name"], messages[3]["content"]) == ("c1", "add", "5")
    QWEN.build_generation_prompt(messages)  # the renderer takes the converted conversation


def test_get_model_resolves_the_registered_provider_and_needs_a_client() -> None:
    model = get_model("cookbook/anything", memoize=False, sampling_client=FakeSamplingClient(TOK), renderer=QWEN)
    assert isinstance(model.api, CookbookModelAPI)
    with pytest.raises(ConfigError, match="needs the sampling_client and renderer"):
        get_model("cookbook/anything", memoize=False)
