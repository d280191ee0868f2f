"""Chat renderers: conversations to tokens and weights, and sampled tokens back to messages.

`get_renderer(name, tokenizer)` gives a built-in format by its tinker-cookbook
name; `recommended_renderer(model)` says which one a model expects.
"""

from cookbook_runtime.train.renderers._base import ChatRenderer, RenderContext, Rendered
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
from cookbook_runtime.train.renderers._registry import (
    get_renderer,
    recommended_renderer,
    register_renderer,
    renderer_names,
)

__all__ = [
    "ChatRenderer",
    "Content",
    "ContentPart",
    "ImagePart",
    "Message",
    "RenderContext",
    "Rendered",
    "Renderer",
    "Termination",
    "TextPart",
    "ThinkingPart",
    "ToolCall",
    "ToolSpec",
    "TrainOnWhat",
    "UnparsedToolCall",
    "get_renderer",
    "recommended_renderer",
    "register_renderer",
    "renderer_names",
]
