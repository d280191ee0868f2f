"""Rendering a comparison into the two datums DPO compares.

Each side is the prompt followed by one completion, rendered with the run's renderer.
Only the completion's tokens carry weight (1.0 each, no per-example mean): DPO
compares the summed logprob of whole completions, so averaging over length would
bias it toward short replies, and the prompt is the same on both sides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cookbook_runtime.errors import DataError
from cookbook_runtime.train.datum import datum_from_model_input_weights
from cookbook_runtime.train.preference.types import Comparison, Message
from cookbook_runtime.types import Datum

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Renderer

__all__ = ["comparison_to_datums", "completion_datum"]


def completion_datum(
    prompt: tuple[Message, ...], completion: tuple[Message, ...], renderer: Renderer, max_length: int | None
) -> Datum:
    """`prompt + completion` as one datum whose weights cover the completion's tokens only."""
    from cookbook_runtime.train.renderers import TrainOnWhat

    messages = [{**m, "trainable": False} for m in prompt] + [{**m, "trainable": True} for m in completion]
    model_input, weights = renderer.build_supervised_example(messages, TrainOnWhat.CUSTOMIZED)  # type: ignore[arg-type]
    datum = datum_from_model_input_weights(model_input, weights, max_length, reduction="none")
    if not any(w > 0 for w in datum.weights()):
        raise DataError(
            "a completion has no tokens left to compare (empty, or cut off by max_length): "
            "raise max_length or drop the row"
        )
    return datum


def comparison_to_datums(comparison: Comparison, renderer: Renderer, max_length: int | None) -> tuple[Datum, Datum]:
    """(chosen datum, rejected datum) of one comparison."""
    return (
        completion_datum(comparison.prompt, comparison.chosen, renderer, max_length),
        completion_datum(comparison.prompt, comparison.rejected, renderer, max_length),
    )
