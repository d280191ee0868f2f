"""Token-for-token and weight-for-weight parity with tinker-cookbook 0.5.8's renderers.

Every built-in renderer is run over a seeded corpus (corpus.py) on a real
vocabulary (offline_tokenizers.py), against tinker-cookbook's renderer of the same
name on the same tokenizer object, for every TrainOnWhat mode, generation
prompts, response parsing and the resulting datums. A failure names the
conversation that broke it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import offline_tokenizers as tokenizers
import pytest
import torch
from _tinker_side import TERMINATION, normalise, renderer, tk_conversation_to_datum, to_tinker
from cookbook_runtime.errors import CookbookError
from cookbook_runtime.train.datum import conversation_to_datum
from cookbook_runtime.train.renderers import Message, TrainOnWhat, get_renderer
from corpus import corpus
from tinker_cookbook.renderers import TrainOnWhat as TkTrainOnWhat

# renderer name[@variant] -> (corpus family, tokenizer); "@hf" runs on a real transformers tokenizer.
CASES: dict[str, tuple[str, Callable[[], Any]]] = {
    "role_colon": ("role_colon", tokenizers.qwen3),
    "role_colon@deepseek": ("role_colon", tokenizers.deepseek_v31),
    "llama3": ("llama3", tokenizers.llama3),
    "qwen3": ("qwen3", tokenizers.qwen3),
    "qwen3_disable_thinking": ("qwen3", tokenizers.qwen3),
    "qwen3_instruct": ("qwen3", tokenizers.qwen3),
    "qwen3@hf": ("qwen3", tokenizers.qwen3_hf),
    "qwen3_disable_thinking@hf": ("qwen3", tokenizers.qwen3_hf),
    "qwen3_instruct@hf": ("qwen3", tokenizers.qwen3_hf),
    "deepseekv3": ("deepseekv3", tokenizers.deepseek_v31),
    "deepseekv3_disable_thinking": ("deepseekv3", tokenizers.deepseek_v31),
    "deepseekv3_thinking": ("deepseekv3", tokenizers.deepseek_v31),
    "gpt_oss_no_sysprompt": ("gpt_oss", tokenizers.harmony),
    "gpt_oss_low_reasoning": ("gpt_oss", tokenizers.harmony),
    "gpt_oss_medium_reasoning": ("gpt_oss", tokenizers.harmony),
    "gpt_oss_high_reasoning": ("gpt_oss", tokenizers.harmony),
}

MODES = list(TrainOnWhat)


def _pair(case: str) -> tuple[Any, Any, list[list[Message]]]:
    family, tok_fn = CASES[case]
    name = case.split("@")[0]
    tok = tok_fn()
    # Thinking-off renderers refuse turns that reason, so they need a larger corpus for 50 checks.
    size = 200 if name == "qwen3_disable_thinking" else 80
    return get_renderer(name, tok), renderer(name, tok), corpus(family, n=size)


def _with_trainable(messages: list[Message], seed: int) -> list[Message]:
    rng = random.Random(seed)
    return [{**m, "trainable": rng.random() < 0.5} for m in messages]  # type: ignore[typeddict-item]


def _gpt_oss_system_prompt(case: str) -> bool:
    return case.startswith("gpt_oss_") and case.endswith("_reasoning")


def _run(fn: Callable[..., Any], *args: Any) -> tuple[Any, BaseException | None]:
    try:
        return fn(*args), None
    except Exception as e:
        return None, e


def _oracle(case: str, messages: list[Any], fn: Callable[..., Any], *args: Any) -> tuple[Any, BaseException | None]:
    """Run tinker-cookbook; where its system prompt lands on a user's, it must say so."""
    if _gpt_oss_system_prompt(case) and messages and messages[0]["role"] == "system":
        with pytest.warns(UserWarning, match="already start with a system message"):
            return _run(fn, messages, *args)
    return _run(fn, messages, *args)


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("case", list(CASES))
def test_supervised_examples_match(case: str, mode: TrainOnWhat) -> None:
    if mode is TrainOnWhat.CUSTOMIZED and _gpt_oss_system_prompt(case):
        pytest.skip("tinker-cookbook asserts on its own prepended system message (it has no 'trainable')")
    ours, theirs, convs = _pair(case)
    checked = 0
    for i, conv in enumerate(convs):
        if mode is TrainOnWhat.CUSTOMIZED:
            conv = _with_trainable(conv, i)
        mine, my_err = _run(ours.build_supervised_example, conv, mode)
        ref, ref_err = _oracle(case, to_tinker(conv), theirs.build_supervised_example, TkTrainOnWhat(mode.value))
        if ref_err is not None:
            assert isinstance(my_err, CookbookError), f"conversation {i}: tinker raised {ref_err!r}, we gave {mine}\n{conv}"
            continue
        assert my_err is None, f"conversation {i}: we raised {my_err!r}\n{conv}"
        model_input, weights = mine
        ref_input, ref_weights = ref
        assert model_input.to_ints() == ref_input.to_ints(), f"tokens differ on conversation {i}: {conv}"
        assert weights == [float(w) for w in ref_weights.tolist()], f"weights differ on conversation {i}: {conv}"
        checked += 1
    assert checked >= 50, f"only {checked} conversations rendered on both sides"


@pytest.mark.parametrize("case", list(CASES))
def test_generation_prompts_match(case: str) -> None:
    ours, theirs, convs = _pair(case)
    checked = 0
    for i, conv in enumerate(convs):
        for end in range(len(conv)):
            if conv[end]["role"] != "assistant":
                continue
            prefix = conv[:end]
            for prefill in (None, "Sure,"):
                mine, my_err = _run(ours.build_generation_prompt, prefix, prefill)
                ref, ref_err = _oracle(case, to_tinker(prefix), theirs.build_generation_prompt, "assistant", prefill)
                if ref_err is not None:
                    assert isinstance(my_err, CookbookError), f"conversation {i}[:{end}]: tinker raised {ref_err!r}"
                    continue
                assert my_err is None, f"conversation {i}[:{end}]: we raised {my_err!r}"
                assert mine.to_ints() == ref.to_ints(), f"prompt differs on conversation {i}[:{end}] prefill={prefill!r}: {prefix}"
                checked += 1
    assert checked >= 50
    assert ours.get_stop_sequences() == theirs.get_stop_sequences()


def _responses(ours: Any, conv: list[Message]) -> list[list[int]]:
    """Sampled-looking responses built from the last turn as rendered after its prompt."""
    if conv[-1]["role"] != "assistant":
        return []
    try:
        full = ours.build_supervised_example(conv, TrainOnWhat.LAST_ASSISTANT_MESSAGE)[0].to_ints()
        prompt = ours.build_generation_prompt(conv[:-1]).to_ints()
    except CookbookError:
        return []
    if full[: len(prompt)] != prompt:
        return []
    response = full[len(prompt) :]
    # Whole, missing its stop token, cut in half, and run on past a second stop.
    return [response, response[:-1], response[: len(response) // 2], response + response]


@pytest.mark.parametrize("case", list(CASES))
def test_parse_response_matches(case: str) -> None:
    ours, theirs, convs = _pair(case)
    checked = 0
    for i, conv in enumerate(convs):
        for response in _responses(ours, conv):
            mine, my_err = _run(ours.parse_response, response)
            ref, ref_err = _run(theirs.parse_response, list(response))
            if ref_err is not None:
                assert isinstance(my_err, CookbookError), f"conversation {i}: tinker raised {ref_err!r}"
                continue
            assert my_err is None, f"conversation {i}: we raised {my_err!r} on {response}"
            assert normalise(mine[0]) == normalise(ref[0]), f"parsed message differs on conversation {i}: {conv}"
            assert mine[1] == TERMINATION[ref[1].value], f"termination differs on conversation {i}"
            checked += 1
    assert checked >= 50


@pytest.mark.parametrize("case", ["role_colon", "llama3", "qwen3", "qwen3_instruct", "deepseekv3_thinking", "gpt_oss_medium_reasoning"])
def test_datums_match(case: str) -> None:
    ours, theirs, convs = _pair(case)
    checked = 0
    for i, conv in enumerate(convs):
        for max_length, reduction in ((None, "mean"), (24, "none"), (7, "mean")):
            mine, my_err = _run(conversation_to_datum, conv, ours, max_length, TrainOnWhat.ALL_ASSISTANT_MESSAGES, reduction)
            ref, ref_err = _oracle(case, to_tinker(conv), tk_conversation_to_datum, theirs, max_length, TkTrainOnWhat.ALL_ASSISTANT_MESSAGES, reduction)
            if ref_err is not None:
                assert my_err is not None, f"conversation {i}: tinker raised {ref_err!r}"
                continue
            assert my_err is None, f"conversation {i}: we raised {my_err!r}"
            assert mine.model_input.to_ints() == ref.model_input.to_ints(), f"datum input differs on conversation {i}"
            assert list(mine.loss_fn_inputs["target_tokens"].data) == list(ref.loss_fn_inputs["target_tokens"].data)
            ref_w = torch.tensor(ref.loss_fn_inputs["weights"].data, dtype=torch.float32).tolist()
            assert list(mine.loss_fn_inputs["weights"].data) == ref_w, f"datum weights differ on conversation {i}"
            checked += 1
    assert checked >= 50
