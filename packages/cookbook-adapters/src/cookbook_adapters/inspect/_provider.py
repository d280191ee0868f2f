"""`CookbookModelAPI`: any cookbook `SamplingClient` and renderer as an inspect-ai model.

Registered with inspect as the `cookbook` provider, so `cookbook/<name>` is a model
name inspect resolves; the weights come from the `sampling_client` and `renderer`
model args (`cookbook_model(client, renderer)` builds the `Model`). Each
`generate`:

- renders the chat (inspect has already put `system_message` first; offered tools
  are declared in the system turn) into one generation prompt;
- samples `num_choices` replies in one request, with `max_tokens`, `temperature`,
  `top_p`, `top_k` and `seed` from the `GenerateConfig`; a sample of epoch e > 1
  uses `seed + e - 1`, so the epochs of a pass@k estimate are different samples;
- stops on the renderer's stop sequences and inspect's `stop_seqs`: the stop
  strings go to the sampler when the renderer's are strings too, and every reply
  is cut at the first stop string either way (a sampler takes token ids or
  strings, not both);
- parses each reply with the renderer: its text, its reasoning, its tool calls
  (where the renderer's format has them) as inspect `ToolCall`s;
- reports token usage: prompt tokens, sampled tokens.
"""

from __future__ import annotations

import time
from typing import Any

from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.train.renderers import Message, Renderer
from cookbook_runtime.types import SamplingParams
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Model,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    get_model,
    modelapi,
)
from inspect_ai.model._model_output import StopReason
from inspect_ai.tool import ToolChoice, ToolInfo

from cookbook_adapters.inspect._convert import (
    declare_tools,
    inspect_tool_calls,
    reply_content,
    reply_text,
    to_renderer_messages,
)

__all__ = ["DEFAULT_MAX_TOKENS", "PROVIDER", "CookbookModelAPI", "cookbook_model"]

PROVIDER = "cookbook"

DEFAULT_MAX_TOKENS = 2048
"""Reply cap when neither the task nor the eval sets `max_tokens` (inspect's own default)."""


def _epoch() -> int:
    """The epoch of the inspect sample being generated for (1 outside an eval)."""
    try:
        from inspect_ai.log._samples import sample_active
    except ImportError:  # a future inspect moved it: every epoch then shares the seed
        return 1
    active = sample_active()
    return int(getattr(active, "epoch", 1) or 1) if active is not None else 1


def _cut(text: str, stops: list[str]) -> tuple[str, bool]:
    """`text` up to its first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class CookbookModelAPI(ModelAPI):
    """Inspect's model API over a cookbook sampling client and chat renderer."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        *,
        sampling_client: SamplingClient | None = None,
        renderer: Renderer | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config or GenerateConfig())
        if sampling_client is None or renderer is None:
            from cookbook_runtime.errors import ConfigError

            raise ConfigError(
                f"model {PROVIDER}/{model_name} needs the sampling_client and renderer model args: "
                "build it with cookbook_adapters.inspect.cookbook_model(client, renderer)"
            )
        if model_args:
            from cookbook_runtime.errors import ConfigError

            raise ConfigError(f"model {PROVIDER}/{model_name} takes no model args {sorted(model_args)}")
        self.sampling_client = sampling_client
        self.renderer = renderer

    def max_tokens(self) -> int | None:
        return DEFAULT_MAX_TOKENS

    def _params(self, config: GenerateConfig, stops: list[str]) -> SamplingParams:
        renderer_stops = list(self.renderer.get_stop_sequences())
        stop: list[str] | list[int]
        if all(isinstance(s, str) for s in renderer_stops):
            stop = [*(str(s) for s in renderer_stops), *(s for s in stops if s not in renderer_stops)]
        else:
            stop = [s for s in renderer_stops if isinstance(s, int)]
        seed = config.seed + _epoch() - 1 if config.seed is not None else None
        return SamplingParams(
            max_tokens=config.max_tokens or DEFAULT_MAX_TOKENS,
            temperature=config.temperature if config.temperature is not None else 1.0,
            top_p=config.top_p if config.top_p is not None else 1.0,
            top_k=config.top_k if config.top_k is not None else -1,
            stop=stop or None,
            seed=seed,
        )

    def _choice(self, tokens: list[int], length: bool, stops: list[str], index: int) -> ChatCompletionChoice:
        message: Message
        message, _ = self.renderer.parse_response(tokens)
        text, stopped = _cut(reply_text(message), stops)
        calls = inspect_tool_calls(message, choice=index)
        reason: StopReason = "tool_calls" if calls else ("max_tokens" if length and not stopped else "stop")
        return ChatCompletionChoice(
            message=ChatMessageAssistant(
                content=reply_content(message, text), tool_calls=calls, model=self.model_name, source="generate"
            ),
            stop_reason=reason,
        )

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        """Render `input`, sample `num_choices` replies, parse them back into inspect's output."""
        conversation = declare_tools(to_renderer_messages(input), tools, tool_choice)
        prompt = self.renderer.build_generation_prompt(conversation)
        stops = list(config.stop_seqs or [])
        params = self._params(config, stops)
        started = time.monotonic()
        result = await self.sampling_client.sample(prompt, config.num_choices or 1, params)
        elapsed = time.monotonic() - started
        choices = [
            self._choice(list(seq.tokens), seq.stop_reason == "length", stops, i)
            for i, seq in enumerate(result.sequences)
        ]
        output_tokens = sum(len(seq.tokens) for seq in result.sequences)
        usage = ModelUsage(
            input_tokens=prompt.length, output_tokens=output_tokens, total_tokens=prompt.length + output_tokens
        )
        return ModelOutput(model=self.model_name, choices=choices, usage=usage, time=elapsed)


@modelapi(name=PROVIDER)
def _cookbook_provider() -> type[ModelAPI]:
    return CookbookModelAPI


def cookbook_model(
    sampling_client: SamplingClient,
    renderer: Renderer,
    *,
    name: str = "model",
    config: GenerateConfig | None = None,
) -> Model:
    """An inspect `Model` named `cookbook/<name>` answering with `sampling_client`'s weights."""
    return get_model(
        f"{PROVIDER}/{name}",
        config=config or GenerateConfig(),
        memoize=False,  # the cache key cannot tell two sampling clients apart
        sampling_client=sampling_client,
        renderer=renderer,
    )
