"""Redaction of secrets in anything the cookbook prints or writes."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REDACTED", "is_secret_key", "redact"]

REDACTED = "***"
# Whole name segments, so `hf_token` and `aws_secret_access_key` match but `max_tokens` does not.
_SECRET = re.compile(
    r"(^|[_-])(api[_-]?key|token|auth|secret|password|passwd|credentials?|private[_-]?key|access[_-]?key)($|[_-])",
    re.I,
)


def is_secret_key(key: str) -> bool:
    """Whether a field named `key` holds a secret (api_key, aws_secret_access_key, ...)."""
    return bool(_SECRET.search(key))


def redact(obj: Any) -> Any:
    """A copy of `obj` (JSON-like) with secret-named fields replaced by `***`."""
    if isinstance(obj, dict):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) and v not in (None, "") else redact(v))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj
