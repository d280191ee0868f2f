"""Feedback from served models: retraining triggers and export to SFT rows and preference pairs."""

from cookbook_runtime.train.feedback._stages import (
    CheckTriggersOptions,
    CheckTriggersStage,
    ExportFeedbackOptions,
    ExportFeedbackStage,
)
from cookbook_runtime.train.feedback.export import FeedbackRows, feedback_rows
from cookbook_runtime.train.feedback.triggers import (
    TriggerConditions,
    evaluate_trigger,
    parse_interval,
)

__all__ = [
    "CheckTriggersOptions",
    "CheckTriggersStage",
    "ExportFeedbackOptions",
    "ExportFeedbackStage",
    "FeedbackRows",
    "TriggerConditions",
    "evaluate_trigger",
    "feedback_rows",
    "parse_interval",
]
