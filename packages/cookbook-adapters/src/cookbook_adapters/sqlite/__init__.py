"""Embedded SQLite stores (stdlib `sqlite3`, no extra needed): the feedback store."""

from cookbook_adapters.sqlite._feedback import (
    SCHEMA_VERSION,
    SQLiteFeedbackStore,
    default_feedback_path,
)

__all__ = ["SCHEMA_VERSION", "SQLiteFeedbackStore", "default_feedback_path"]
