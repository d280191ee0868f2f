"""Small training data for the local engine's tests."""

from __future__ import annotations

from collections.abc import Sequence

from cookbook_runtime.train.tokenizer import Tokenizer
from cookbook_runtime.train.types import Datum, ModelInput, TensorData

TEXTS = ("What is 12 + 7? The answer is 19.", "Reverse the string abc: cba")


def datum(
    tokens: Sequence[int], weights: Sequence[float] | None = None, **extra: Sequence[float]
) -> Datum:
    n = len(tokens) - 1
    inputs = {
        "target_tokens": TensorData.from_list(tokens[1:], "int64"),
        "weights": TensorData.from_list(weights if weights is not None else [1.0] * n, "float32"),
    }
    inputs.update({k: TensorData.from_list(v, "float32") for k, v in extra.items()})
    return Datum(ModelInput.from_ints(tokens[:-1]), inputs)


def batch(tok: Tokenizer, texts: Sequence[str] = TEXTS) -> list[Datum]:
    return [datum(tok.encode(t, add_special_tokens=False)) for t in texts]
