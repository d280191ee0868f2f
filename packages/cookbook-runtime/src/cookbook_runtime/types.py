"""The runtime's shared data types: training types shaped after the Tinker API (so conversion is
lossless) and the tokenizer protocol.

This is a leaf module (it imports only `ir`): ports, the framework and the training core all
speak these types, so they live below all three and none of them needs another for its types
(an import-linter contract keeps it so; `cookbook_runtime.train.types` re-exports them).

The hot types (`ModelInput`, `Datum`, `TensorData`) are slotted frozen dataclasses
rather than pydantic models: renderers build one per conversation, and validation on
every construction would dominate rendering time. Parameter objects that users write
(`AdamParams`, `SamplingParams`) are pydantic models with documented fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from pydantic import Field

from cookbook_runtime.ir import Spec

__all__ = [
    "AdamParams",
    "Datum",
    "EncodedTextChunk",
    "ForwardBackwardOutput",
    "ImageChunk",
    "LossName",
    "ModelInput",
    "ModelInputChunk",
    "OptimStepOutput",
    "PromptAltTokens",
    "SampleResult",
    "SampledSequence",
    "SamplingParams",
    "StopReason",
    "TensorData",
    "Tokenizer",
    "TrainingInfo",
    "combine_metrics",
]

LossName: TypeAlias = Literal["cross_entropy", "importance_sampling", "ppo", "cispo", "dro"]
StopReason: TypeAlias = Literal["length", "stop"]
TensorDtype: TypeAlias = Literal["int64", "float32"]


@dataclass(frozen=True, slots=True)
class EncodedTextChunk:
    """A run of token ids."""

    tokens: tuple[int, ...]

    @property
    def length(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True, slots=True)
class ImageChunk:
    """An image passed through to multimodal backends; `expected_tokens` is its context cost."""

    data: bytes
    format: Literal["png", "jpeg"]
    expected_tokens: int

    @property
    def length(self) -> int:
        return self.expected_tokens


ModelInputChunk: TypeAlias = EncodedTextChunk | ImageChunk


@dataclass(frozen=True, slots=True)
class ModelInput:
    """A model's input: an ordered list of token and image chunks."""

    chunks: tuple[ModelInputChunk, ...] = ()

    @classmethod
    def from_ints(cls, tokens: Sequence[int]) -> ModelInput:
        return cls((EncodedTextChunk(tuple(tokens)),))

    @classmethod
    def empty(cls) -> ModelInput:
        return cls(())

    def to_ints(self) -> list[int]:
        """All token ids; raises if an image chunk is present (it has no ids)."""
        out: list[int] = []
        for chunk in self.chunks:
            if not isinstance(chunk, EncodedTextChunk):
                raise ValueError("to_ints() needs a text-only ModelInput; this one holds an image chunk")
            out.extend(chunk.tokens)
        return out

    @property
    def length(self) -> int:
        return sum(chunk.length for chunk in self.chunks)

    def append(self, chunk: ModelInputChunk) -> ModelInput:
        return ModelInput((*self.chunks, chunk))

    def append_int(self, token: int) -> ModelInput:
        return self.append(EncodedTextChunk((token,)))


@dataclass(frozen=True, slots=True)
class TensorData:
    """A small dense tensor as a flat list, row-major, with its dtype and shape."""

    data: tuple[float, ...] | tuple[int, ...]
    dtype: TensorDtype
    shape: tuple[int, ...]

    @classmethod
    def from_list(cls, values: Sequence[float] | Sequence[int], dtype: TensorDtype) -> TensorData:
        data = tuple(int(v) for v in values) if dtype == "int64" else tuple(float(v) for v in values)
        return cls(data, dtype, (len(data),))

    def tolist(self) -> list[float] | list[int]:
        return list(self.data)


@dataclass(frozen=True, slots=True)
class Datum:
    """One training example: the input and the per-token arrays its loss reads.

    For cross-entropy, `loss_fn_inputs` holds `target_tokens` (int64) and `weights`
    (float32), each as long as `model_input`. RL losses add `logprobs` and `advantages`.
    """

    model_input: ModelInput
    loss_fn_inputs: Mapping[str, TensorData] = field(default_factory=dict)

    @property
    def num_tokens(self) -> int:
        return self.model_input.length

    def weights(self) -> list[float]:
        """The `weights` array, or all ones when absent."""
        found = self.loss_fn_inputs.get("weights")
        if found is None:
            return [1.0] * self.model_input.length
        return [float(v) for v in found.data]


class AdamParams(Spec):
    """Adam(W) hyper-parameters for one optimizer step."""

    learning_rate: float = Field(default=1e-4, ge=0, description="Step size.")
    beta1: float = Field(default=0.9, ge=0, lt=1, description="First-moment decay.")
    beta2: float = Field(default=0.95, ge=0, lt=1, description="Second-moment decay.")
    eps: float = Field(default=1e-12, gt=0, description="Denominator stabiliser.")
    weight_decay: float = Field(default=0.0, ge=0, description="Decoupled weight decay.")
    grad_clip_norm: float = Field(default=0.0, ge=0, description="Global-norm clip; 0 disables.")


class SamplingParams(Spec):
    """How to sample a completion."""

    max_tokens: int | None = Field(default=None, ge=1, description="Cap on generated tokens.")
    temperature: float = Field(default=1.0, ge=0, description="0 is greedy.")
    top_p: float = Field(default=1.0, gt=0, le=1, description="Nucleus sampling mass.")
    top_k: int = Field(default=-1, description="Keep the k most likely tokens; -1 disables.")
    stop: list[str] | list[int] | None = Field(
        default=None, description="Stop strings or stop token ids."
    )
    seed: int | None = Field(default=None, description="Seed for reproducible sampling.")


@dataclass(frozen=True, slots=True)
class SampledSequence:
    """One sampled completion with the logprob of each generated token.

    `topk_logprobs[i]`, when asked for (`topk_sample_logprobs`), lists the `k` most
    likely `(token, logprob)` pairs at generated position `i`, most likely first,
    on the same scale as `logprobs` (so the sampled token's entry, when it is in
    the top k, equals `logprobs[i]`).
    """

    tokens: list[int]
    logprobs: list[float] | None
    stop_reason: StopReason
    topk_logprobs: list[list[tuple[int, float]] | None] | None = None


@dataclass(frozen=True, slots=True)
class PromptAltTokens:
    """`k` independent draws from the next-token distribution at each prompt position after the first.

    Both tensors are `[len(prompt) - 1, k]`: row `i` holds alternatives to prompt
    token `i + 1` (int64 `tokens`) and the model's logprob of each (float32
    `logprobs`, on the same scale as the sampled tokens' logprobs).
    """

    tokens: TensorData
    logprobs: TensorData


@dataclass(frozen=True, slots=True)
class SampleResult:
    """All completions sampled for one prompt, and the prompt's own logprobs when asked for.

    `prompt_logprobs[i]` is the logprob of prompt token `i` given those before it;
    `topk_prompt_logprobs[i]` lists the `k` most likely `(token, logprob)` pairs at
    that position, most likely first. Both are None at position 0 (no context), and
    None as a whole when not requested (the Tinker SDK's `SampleResponse` fields).
    `target_prompt_logprobs` (float32, the request's `[len(prompt) - 1, K]` shape)
    holds the logprob of each requested id, cell `[i, j]` at prompt position `i + 1`,
    0.0 where the request had -1; `prompt_alt_tokens` holds the draws asked for by
    `prompt_alt_tokens_k`.
    """

    sequences: list[SampledSequence]
    prompt_logprobs: list[float | None] | None = None
    topk_prompt_logprobs: list[list[tuple[int, float]] | None] | None = None
    target_prompt_logprobs: TensorData | None = None
    prompt_alt_tokens: PromptAltTokens | None = None


@dataclass(frozen=True, slots=True)
class ForwardBackwardOutput:
    """Per-datum outputs (e.g. `logprobs`) and combined metrics.

    Metric names end with `:sum`, `:mean`, `:max` or `:min`, saying how values from
    several calls combine (see `combine_metrics`).
    """

    loss_fn_outputs: list[dict[str, TensorData]]
    metrics: dict[str, float]


@dataclass(frozen=True, slots=True)
class OptimStepOutput:
    """What an optimizer step reports (e.g. `grad_norm:mean`)."""

    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrainingInfo:
    """What a training client is: its base model, LoRA rank and backend-side id."""

    base_model: str
    lora_rank: int
    model_id: str
    tokenizer_id: str | None = None


def combine_metrics(parts: Sequence[Mapping[str, float]], weights: Sequence[float] | None = None) -> dict[str, float]:
    """Combine metric dicts by the reduction each name's suffix names.

    `:sum` adds, `:max`/`:min` take the extreme, `:mean` (and no suffix) takes the
    weighted mean, weights defaulting to equal.
    """
    if not parts:
        return {}
    ws = list(weights) if weights is not None else [1.0] * len(parts)
    out: dict[str, float] = {}
    names = {name for part in parts for name in part}
    for name in sorted(names):
        present = [(p[name], w) for p, w in zip(parts, ws, strict=True) if name in p]
        values = [v for v, _ in present]
        if name.endswith(":sum"):
            out[name] = math.fsum(values)
        elif name.endswith(":max"):
            out[name] = max(values)
        elif name.endswith(":min"):
            out[name] = min(values)
        else:
            total_w = math.fsum(w for _, w in present)
            out[name] = math.fsum(v * w for v, w in present) / total_w if total_w else 0.0
    return out


@runtime_checkable
class Tokenizer(Protocol):
    """Text <-> token ids, with special-token lookup."""

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]:
        """Token ids of `text`; renderers always pass `add_special_tokens=False`."""
        ...

    def decode(self, token_ids: Sequence[int], skip_special_tokens: bool = ...) -> str:
        """Text of `token_ids`."""
        ...

    def convert_tokens_to_ids(self, token: str) -> int | None:
        """Id of one vocabulary entry (e.g. '<|im_end|>'), or None/unk id when absent."""
        ...

    @property
    def bos_token_id(self) -> int | None:
        """Beginning-of-sequence id, if the model has one."""
        ...

    @property
    def eos_token_id(self) -> int | None:
        """End-of-sequence id, if the model has one."""
        ...
