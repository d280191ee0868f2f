"""The `Renderer` protocol: what loops and datasets need from a chat format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from cookbook_runtime.train.renderers._messages import Message, Termination, TrainOnWhat
from cookbook_runtime.types import ModelInput, Tokenizer

__all__ = ["Renderer"]


@runtime_checkable
class Renderer(Protocol):
    """Turns conversations into tokens for training and sampling, and samples back into messages."""

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer every token of this renderer comes from."""
        ...

    def build_supervised_example(
        self, messages: Sequence[Message], train_on_what: TrainOnWhat = ...
    ) -> tuple[ModelInput, list[float]]:
        """All tokens of `messages` and one loss weight per token (1.0 where trained)."""
        ...

    def build_generation_prompt(
        self, messages: Sequence[Message], prefill: str | None = None
    ) -> ModelInput:
        """The prompt that asks the model for the next assistant turn, optionally prefilled."""
        ...

    def get_stop_sequences(self) -> list[str] | list[int]:
        """What ends a sampled turn: stop token ids, or stop strings for text formats."""
        ...

    def parse_response(self, tokens: Sequence[int]) -> tuple[Message, Termination]:
        """The assistant message in sampled `tokens` and how the sample ended."""
        ...
