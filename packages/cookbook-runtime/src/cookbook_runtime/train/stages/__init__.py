"""The pipeline stages that wrap the training loops: train, evaluate, sample."""

from cookbook_runtime.train.stages._benchmark import EvaluateOptions, EvaluateStage
from cookbook_runtime.train.stages._dpo import DPOTrainOptions, DPOTrainStage
from cookbook_runtime.train.stages._evaluate import EvaluateNllOptions, EvaluateNllStage
from cookbook_runtime.train.stages._exact_match import (
    EvaluateExactMatchOptions,
    EvaluateExactMatchStage,
)
from cookbook_runtime.train.stages._export import ExportOptions, ExportStage
from cookbook_runtime.train.stages._fetch_model import FetchModelOptions, FetchModelStage
from cookbook_runtime.train.stages._promote import PromoteOptions, PromoteStage, PromotionRefused
from cookbook_runtime.train.stages._register import RegisterOptions, RegisterStage
from cookbook_runtime.train.stages._reward_model import (
    RewardModelTrainOptions,
    RewardModelTrainStage,
)
from cookbook_runtime.train.stages._rl import RLTrainOptions, RLTrainStage
from cookbook_runtime.train.stages._sample import SampleOptions, SampleStage
from cookbook_runtime.train.stages._supervised import SupervisedTrainOptions, SupervisedTrainStage
from cookbook_runtime.train.stages._task_evals import TaskEvalSettings, TaskEvalSpec

__all__ = [
    "DPOTrainOptions",
    "DPOTrainStage",
    "EvaluateExactMatchOptions",
    "EvaluateExactMatchStage",
    "EvaluateNllOptions",
    "EvaluateNllStage",
    "EvaluateOptions",
    "EvaluateStage",
    "ExportOptions",
    "ExportStage",
    "FetchModelOptions",
    "FetchModelStage",
    "PromoteOptions",
    "PromoteStage",
    "PromotionRefused",
    "RLTrainOptions",
    "RLTrainStage",
    "RegisterOptions",
    "RegisterStage",
    "RewardModelTrainOptions",
    "RewardModelTrainStage",
    "SampleOptions",
    "SampleStage",
    "SupervisedTrainOptions",
    "SupervisedTrainStage",
    "TaskEvalSettings",
    "TaskEvalSpec",
]
