"""Preference learning: comparison data, their rendering, the DPO loss and loop, the reward model.

Kept apart from the supervised and RL loops; the `dpo_train` stage wraps `train_dpo`.
"""

from cookbook_runtime.train.preference.dataset import PairBatch, PreferenceDataset, ToDatums
from cookbook_runtime.train.preference.evaluate import PairEvaluator
from cookbook_runtime.train.preference.formats import (
    COMPARISON_FORMATS,
    ComparisonFormat,
    get_comparison_format,
)
from cookbook_runtime.train.preference.loop import DPOResult, train_dpo
from cookbook_runtime.train.preference.loss import (
    PairLogprobs,
    dpo_loss,
    dpo_loss_fn,
    sequence_logprob,
)
from cookbook_runtime.train.preference.reference import (
    REFERENCE_FILE,
    ReferenceCache,
    pin_reference,
    pinned_reference,
    reference_sequence_logprobs,
)
from cookbook_runtime.train.preference.render import comparison_to_datums, completion_datum
from cookbook_runtime.train.preference.reward_model import (
    RewardPairEvaluator,
    RewardScorer,
    ScoreReduction,
    bradley_terry_loss,
    bradley_terry_loss_fn,
    reply_score,
)
from cookbook_runtime.train.preference.rm_loop import RewardModelResult, train_reward_model
from cookbook_runtime.train.preference.types import Comparison, Label, Message, resolve_label

__all__ = [
    "COMPARISON_FORMATS",
    "REFERENCE_FILE",
    "Comparison",
    "ComparisonFormat",
    "DPOResult",
    "Label",
    "Message",
    "PairBatch",
    "PairEvaluator",
    "PairLogprobs",
    "PreferenceDataset",
    "ReferenceCache",
    "RewardModelResult",
    "RewardPairEvaluator",
    "RewardScorer",
    "ScoreReduction",
    "ToDatums",
    "bradley_terry_loss",
    "bradley_terry_loss_fn",
    "comparison_to_datums",
    "completion_datum",
    "dpo_loss",
    "dpo_loss_fn",
    "get_comparison_format",
    "pin_reference",
    "pinned_reference",
    "reference_sequence_logprobs",
    "reply_score",
    "resolve_label",
    "sequence_logprob",
    "train_dpo",
    "train_reward_model",
]
