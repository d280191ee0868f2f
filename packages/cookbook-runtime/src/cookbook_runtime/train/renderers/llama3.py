"""`llama3`: the Llama 3 Instruct chat format.

    <|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\nHi<|eot_id|>
    <|start_header_id|>assistant<|end_header_id|>\\n\\nHello<|eot_id|>

Unlike Meta's template, no "Cutting Knowledge Date" preamble is added to system
messages (tinker-cookbook leaves it out too). Tool calls are not supported: Llama 3
writes them as bare JSON, which cannot be told apart from a JSON answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from cookbook_runtime.train.renderers._base import (
    ChatRenderer,
    RenderContext,
    Rendered,
    ensure_text,
)
from cookbook_runtime.train.renderers._messages import Message, Termination
from cookbook_runtime.train.renderers._parsing import split_at_stop_token
from cookbook_runtime.types import Tokenizer

__all__ = ["Llama3Renderer"]


class Llama3Renderer(ChatRenderer):
    """Header tokens around the role, `<|eot_id|>` after each message."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        super().__init__(tokenizer)
        self._eot = self._single("<|eot_id|>")
        self._bos = self._fixed("<|begin_of_text|>")

    @property
    def has_extension_property(self) -> bool:
        return True

    @property
    def _bos_tokens(self) -> Sequence[int]:
        return self._bos

    def render_message(self, message: Message, ctx: RenderContext) -> Rendered:
        header = self._fixed(f"<|start_header_id|>{message['role']}<|end_header_id|>\n\n")
        output = self._encode(ensure_text(message))
        output.append(self._eot)
        return Rendered(header, output)

    def get_stop_sequences(self) -> list[int]:
        return [self._eot]

    def parse_response(self, tokens: Sequence[int]) -> tuple[Message, Termination]:
        return split_at_stop_token(tokens, self.tokenizer, self._eot)
