"""Data-only specs: what an experiment is, never how it runs."""

from cookbook_runtime.ir._base import Spec
from cookbook_runtime.ir._specs import (
    BackendRef,
    DatasetRef,
    Experiment,
    ModelRef,
    OutputsSpec,
    PortBinding,
    StageSpec,
    TrainingConfig,
    experiment_json_schema,
)

__all__ = [
    "BackendRef",
    "DatasetRef",
    "Experiment",
    "ModelRef",
    "OutputsSpec",
    "PortBinding",
    "Spec",
    "StageSpec",
    "TrainingConfig",
    "experiment_json_schema",
]
