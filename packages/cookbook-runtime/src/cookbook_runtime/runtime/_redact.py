"""Redaction, re-exported from `cookbook_runtime.redaction` where every writer finds it."""

from cookbook_runtime.redaction import REDACTED, is_secret_key, redact, redact_text, short_repr

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_text", "short_repr"]
