"""The training types, re-exported from `cookbook_runtime.types` (their home, a leaf module)."""

from cookbook_runtime.types import (
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
    "TrainingInfo",
    "combine_metrics",
]
