"""Rendering a comparison: the prompt is shared, and only the completion's tokens carry weight."""

from __future__ import annotations

import pytest
from cookbook_runtime.errors import DataError
from cookbook_runtime.testing import ByteTokenizer
from cookbook_runtime.train.preference import Comparison, comparison_to_datums
from cookbook_runtime.train.renderers import get_renderer

PROMPT = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "reverse a b"}]


def _weighted_text(datum, tokenizer) -> str:  # type: ignore[no-untyped-def]
    targets = datum.loss_fn_inputs["target_tokens"].data
    return tokenizer.decode([t for t, w in zip(targets, datum.weights(), strict=True) if w > 0])


@pytest.mark.parametrize("renderer_name", ["qwen3_instruct", "role_colon"])
def test_weights_cover_the_completion_only(renderer_name: str) -> None:
    tokenizer = ByteTokenizer()
    renderer = get_renderer(renderer_name, tokenizer)
    comparison = Comparison.of(PROMPT, [{"role": "assistant", "content": "b a"}], [{"role": "assistant", "content": "a b"}])
    chosen, rejected = comparison_to_datums(comparison, renderer, max_length=None)
    chosen_text, rejected_text = _weighted_text(chosen, tokenizer), _weighted_text(rejected, tokenizer)
    assert "b a" in chosen_text and "reverse" not in chosen_text and "brief" not in chosen_text
    assert chosen_text.replace("b a", "a b") == rejected_text, renderer_name
    assert set(chosen.weights()) == {0.0, 1.0}  # summed, not averaged per example
    n = chosen.model_input.length - sum(1 for w in chosen.weights() if w > 0)
    assert chosen.model_input.to_ints()[:n] == rejected.model_input.to_ints()[:n]  # the shared prompt


def test_a_completion_cut_off_entirely_is_an_error() -> None:
    renderer = get_renderer("role_colon", ByteTokenizer())
    comparison = Comparison.of(PROMPT, [{"role": "assistant", "content": "x"}], [{"role": "assistant", "content": "y"}])
    with pytest.raises(DataError, match="max_length"):
        comparison_to_datums(comparison, renderer, max_length=8)
