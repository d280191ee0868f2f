"""Turn a rendered conversation (tokens + per-token weights) into a training `Datum`.

Supervised training predicts token i+1 from tokens 0..i, so the model sees the
sequence without its last token and the loss reads the sequence without its first.
The truncation, the dropping of empty text chunks and trailing images, and the
float32 weights follow tinker-cookbook's `datum_from_model_input_weights` exactly,
so a run here and a run there train on the same numbers.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, TypeAlias

from cookbook_runtime.errors import DataError
from cookbook_runtime.types import (
    Datum,
    EncodedTextChunk,
    ModelInput,
    ModelInputChunk,
    TensorData,
)

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Message, Renderer, TrainOnWhat

__all__ = ["Reduction", "conversation_to_datum", "datum_from_model_input_weights"]

Reduction: TypeAlias = Literal["none", "mean"]


def _float32(values: Sequence[float]) -> tuple[float, ...]:
    """Round to float32, as a torch float32 tensor would hold them."""
    return tuple(array("f", values).tolist())


def _mean_weights(weights: tuple[float, ...], total: float) -> tuple[float, ...]:
    """`weights / total` in float32; 0/1 masks (the usual case) take a shortcut with equal results."""
    share = _float32([1.0 / total])[0]
    if all(w == 0.0 or w == 1.0 for w in weights):
        return tuple(share if w else 0.0 for w in weights)
    return _float32([w / total for w in weights])


def _truncate(chunks: list[ModelInputChunk], max_length: int) -> list[ModelInputChunk]:
    """Drop tokens from the right until at most `max_length` remain; images go whole."""
    total = sum(chunk.length for chunk in chunks)
    while total > max_length and chunks:
        last = chunks[-1]
        overflow = total - max_length
        if isinstance(last, EncodedTextChunk) and overflow < last.length:
            chunks[-1] = EncodedTextChunk(last.tokens[:-overflow])
            total = max_length
        else:
            chunks.pop()
            total -= last.length
    return chunks


def _shift(chunks: list[ModelInputChunk]) -> tuple[ModelInput, list[int]]:
    """Inputs without the last token; targets without the first (images count as 0)."""
    if not chunks:
        raise DataError("cannot build a datum from an empty model input: render at least 2 tokens")
    last = chunks[-1]
    if not isinstance(last, EncodedTextChunk):
        raise DataError("a datum's model input must end with text, not an image: drop trailing images")
    all_tokens: list[int] = []
    for chunk in chunks:
        if isinstance(chunk, EncodedTextChunk):
            all_tokens.extend(chunk.tokens)
        else:
            all_tokens.extend([0] * chunk.length)
    if len(all_tokens) < 2:
        raise DataError("a datum needs at least 2 tokens to split into input and target")
    inputs = chunks[:-1]
    if last.length > 1:
        inputs.append(EncodedTextChunk(last.tokens[:-1]))
    return ModelInput(tuple(inputs)), all_tokens[1:]


def datum_from_model_input_weights(
    model_input: ModelInput,
    weights: Sequence[float],
    max_length: int | None = None,
    reduction: Reduction = "none",
) -> Datum:
    """Shift `model_input` into inputs and `target_tokens`, with the matching `weights`.

    `weights` has one entry per token of `model_input`. With `max_length`, tokens are
    cut from the right first (an image that does not fit is dropped whole).
    `reduction="mean"` scales the weights of this example to sum to 1.
    """
    chunks = list(model_input.chunks)
    if max_length is not None:
        chunks = _truncate(chunks, max_length)
    chunks = [c for c in chunks if not (isinstance(c, EncodedTextChunk) and c.length == 0)]
    while chunks and not isinstance(chunks[-1], EncodedTextChunk):
        chunks.pop()
    inputs, targets = _shift(chunks)
    kept = _float32(weights[1 : len(targets) + 1])
    if reduction == "mean":
        total = _float32([sum(kept)])[0]
        if total > 0:
            kept = _mean_weights(kept, total)
    elif reduction != "none":
        raise DataError(f"unknown weight reduction {reduction!r}: use 'none' or 'mean'")
    return Datum(
        model_input=inputs,
        loss_fn_inputs={
            "weights": TensorData(kept, "float32", (len(kept),)),
            "target_tokens": TensorData(tuple(targets), "int64", (len(targets),)),
        },
    )


def conversation_to_datum(
    messages: Sequence[Message],
    renderer: Renderer,
    max_length: int | None,
    train_on_what: TrainOnWhat | None = None,
    reduction: Reduction = "mean",
) -> Datum:
    """Render `messages` and turn them into one training `Datum`.

    `train_on_what` defaults to all assistant messages and `reduction` to `"mean"`
    (each example's weights sum to 1), the defaults tinker-cookbook uses for SFT.
    """
    from cookbook_runtime.train.renderers import TrainOnWhat

    mode = TrainOnWhat.ALL_ASSISTANT_MESSAGES if train_on_what is None else train_on_what
    model_input, weights = renderer.build_supervised_example(messages, mode)
    return datum_from_model_input_weights(model_input, weights, max_length, reduction)
