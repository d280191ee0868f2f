"""`role_colon`: plain `User: ...` / `Assistant: ...` text, for base models without a chat template.

    User: What is 2+2?

    Assistant: 4

A turn ends at the blank line before the next `User:`, so sampling stops on the
string "\\n\\nUser:". The "User:" half of that stop string is also the next header,
so it is kept aside (`stop_overlap`) and written only after the final message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cookbook_runtime.train.renderers._base import (
    ChatRenderer,
    RenderContext,
    Rendered,
    ensure_text,
)
from cookbook_runtime.train.renderers._messages import Message, Termination

__all__ = ["RoleColonRenderer"]

logger = logging.getLogger(__name__)

_PREFIX = " "
_SUFFIX = "\n\n"
_STOP = "\n\nUser:"


class RoleColonRenderer(ChatRenderer):
    """`Role: content` turns separated by blank lines."""

    @property
    def has_extension_property(self) -> bool:
        return True

    @property
    def _bos_tokens(self) -> Sequence[int]:
        bos = self.tokenizer.bos_token_id
        return () if bos is None else (bos,)

    def render_message(self, message: Message, ctx: RenderContext) -> Rendered:
        role = message["role"]
        header = self._fixed(role.capitalize() + ":")
        output = self._encode(_PREFIX + ensure_text(message) + _SUFFIX)
        overlap = self._fixed("User:") if role == "assistant" else self._fixed("<UNUSED>")
        return Rendered(header, output, overlap)

    def get_stop_sequences(self) -> list[str]:
        return [_STOP]

    def parse_response(self, tokens: Sequence[int]) -> tuple[Message, Termination]:
        """Text up to "\\n\\nUser:"; a trailing EOS alone also ends a turn cleanly."""
        ids = list(tokens)
        eos = self.tokenizer.eos_token_id
        ended_with_eos = eos is not None and bool(ids) and ids[-1] == eos
        if ended_with_eos:
            ids = ids[:-1]
        text = str(self.tokenizer.decode(ids))
        pieces = text.split(_STOP)
        content = pieces[0].removeprefix(_PREFIX).removesuffix(_SUFFIX)
        message: Message = {"role": "assistant", "content": content}
        if len(pieces) == 1:
            return message, "eos" if ended_with_eos else "malformed"
        if len(pieces) == 2:
            return message, "malformed" if ended_with_eos else "stop"
        logger.warning("response holds %d stop strings; treating it as malformed", len(pieces) - 1)
        return message, "malformed"
