"""Redaction of secrets in anything the cookbook prints or writes: one place for all writers.

Structured values (configs, specs, outputs) are redacted by key name with `redact`;
free text (error messages, parse errors that quote input) by `redact_text`, which
hides the value after any secret-named key and any token that looks like a known
API key. `short_repr` bounds how much of a user's value an error may quote.
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_text", "short_repr"]

REDACTED = "***"
_NAMES = r"api[_-]?key|token|auth|secret|password|passwd|credentials?|private[_-]?key|access[_-]?key"
# Whole name segments, so `hf_token` and `aws_secret_access_key` match but `max_tokens` does not.
_SECRET = re.compile(rf"(^|[_-])({_NAMES})($|[_-])", re.I)
# `key=value`, `key = "value"`, `key: "value"`, `"key": "value"` in free text, for a secret-named key.
# A bare word after a colon is not taken for a value: `api_key: Input should be a string` is prose.
_SECRET_ASSIGNMENT = re.compile(
    rf"""(?P<key>[\w-]*(?:{_NAMES})[\w-]*)(?:(?P<sep>["']?\s*[:=]\s*)(?P<value>"[^"]*"?|'[^']*'?)"""
    rf"""|(?P<eq>["']?\s*=\s*)(?P<bare>[^\s,;}}\]]+))""",
    re.I,
)
# Tokens shaped like well-known API keys, wherever they appear.
_KEY_SHAPES = re.compile(
    r"\b(?:(?:sk|tml)-[A-Za-z0-9_\-]{20,}|hf_[A-Za-z0-9]{30,}|gh[pos]_[A-Za-z0-9]{30,}|AKIA[A-Z0-9]{16})\b"
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
    if isinstance(obj, list | tuple):
        return [redact(v) for v in obj]
    if isinstance(obj, str):
        return _KEY_SHAPES.sub(REDACTED, obj)
    return obj


def _hide(match: re.Match[str]) -> str:
    key = match.group("key")
    if not is_secret_key(key.strip("\"'")):
        return match.group(0)
    return f"{key}{match.group('sep') or match.group('eq')}{REDACTED}"


def redact_text(text: str) -> str:
    """`text` with values of secret-named keys and key-shaped tokens replaced by `***`."""
    return _KEY_SHAPES.sub(REDACTED, _SECRET_ASSIGNMENT.sub(_hide, text))


_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxlevel = 2


def short_repr(value: Any, limit: int = 80) -> str:
    """A bounded, redacted `repr` of a user's value, for error messages."""
    text = redact_text(_REPR.repr(redact(value)))
    return text if len(text) <= limit else text[: limit - 3] + "..."
