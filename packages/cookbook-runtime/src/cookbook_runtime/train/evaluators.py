"""Held-out evaluation (kept for existing imports; the code lives in `cookbook_runtime.train.eval`)."""

from cookbook_runtime.train.eval import (
    ExactMatchEvaluator,
    ExactMatchResult,
    NllEvaluator,
    PendingEvaluation,
    QaExample,
    mean_nll,
    nll_sums,
    normalize_answer,
    qa_examples,
)

__all__ = [
    "ExactMatchEvaluator",
    "ExactMatchResult",
    "NllEvaluator",
    "PendingEvaluation",
    "QaExample",
    "mean_nll",
    "nll_sums",
    "normalize_answer",
    "qa_examples",
]
