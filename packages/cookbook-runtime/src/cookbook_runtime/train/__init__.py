"""The training core: types, tokenizers, renderers, data, loops, checkpoints, metrics."""

from cookbook_runtime.train.tokenizer import Tokenizer
from cookbook_runtime.train.types import (
    AdamParams,
    Datum,
    EncodedTextChunk,
    ForwardBackwardOutput,
    ImageChunk,
    LossName,
    ModelInput,
    ModelInputChunk,
    OptimStepOutput,
    SampledSequence,
    SampleResult,
    SamplingParams,
    StopReason,
    TensorData,
    TrainingInfo,
    combine_metrics,
)

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
    "SampleResult",
    "SampledSequence",
    "SamplingParams",
    "StopReason",
    "TensorData",
    "Tokenizer",
    "TrainingInfo",
    "combine_metrics",
]
