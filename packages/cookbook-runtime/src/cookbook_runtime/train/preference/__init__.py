"""Preference learning: comparison data, their rendering, the DPO loss and loop.

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
    "ToDatums",
    "comparison_to_datums",
    "completion_datum",
    "dpo_loss",
    "dpo_loss_fn",
    "get_comparison_format",
    "pin_reference",
    "pinned_reference",
    "reference_sequence_logprobs",
    "resolve_label",
    "sequence_logprob",
    "train_dpo",
]
