"""SDK failures as `BackendError`s that keep the request id and never the credential.

The SDK's messages can quote request details; anything shaped like a Tinker API key
(or a bearer token) is scrubbed before the message reaches a log or an error.
"""

from __future__ import annotations

import re

from cookbook_runtime.errors import BackendError, CookbookError

__all__ = ["redact", "to_backend_error"]

_SECRET = re.compile(r"(tml-[A-Za-z0-9_\-]+|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")
_REQUEST_ID_IN_TEXT = re.compile(r"request_id='([^']+)'")


def redact(text: str) -> str:
    """`text` with API keys and tokens replaced by `***`."""
    return _SECRET.sub("***", text)


def _request_id(exc: BaseException) -> str | None:
    found = getattr(exc, "request_id", None)
    if isinstance(found, str) and found:
        return found
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        for name in ("x-request-id", "request-id"):
            value = headers.get(name)
            if value:
                return str(value)
    match = _REQUEST_ID_IN_TEXT.search(str(exc))
    return match.group(1) if match else None


def to_backend_error(exc: BaseException, action: str) -> CookbookError:
    """A `BackendError` saying which Tinker call failed, with the service's request id."""
    if isinstance(exc, CookbookError):
        return exc
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    detail = redact(detail.split(" for self.request_id=")[0])
    return BackendError(f"tinker {action} failed: {detail}", request_id=_request_id(exc))
