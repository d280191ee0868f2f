"""Chat renderers: conversations to tokens and weights, and sampled tokens back to messages."""

from cookbook_runtime.train.renderers._messages import (
    Content,
    ContentPart,
    ImagePart,
    Message,
    Termination,
    TextPart,
    ThinkingPart,
    ToolCall,
    ToolSpec,
    TrainOnWhat,
    UnparsedToolCall,
)
from cookbook_runtime.train.renderers._protocol import Renderer

__all__ = [
    "Content",
    "ContentPart",
    "ImagePart",
    "Message",
    "Renderer",
    "Termination",
    "TextPart",
    "ThinkingPart",
    "ToolCall",
    "ToolSpec",
    "TrainOnWhat",
    "UnparsedToolCall",
]
