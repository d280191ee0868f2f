"""Every error the cookbook raises on purpose derives from one root.

    CookbookError
    ├── ConfigError            a spec, config, option or manifest is invalid
    │   ├── UnknownNameError   a recipe, stage, manifest, adapter or renderer name is not known
    │   └── DataError          a data row or file is malformed
    ├── PortNotConfigured      a port was used that no manifest configures
    ├── AdapterUnavailable     an adapter's optional dependencies are not installed
    ├── BackendError           a training/sampling backend or remote service failed
    ├── StorageError           a blob, dataset or hub operation failed
    │   └── FeedbackEventNotFound  a feedback signal names an event the store does not hold
    └── StageFailed            a pipeline stage raised; carries the stage name

Messages say what was wrong, where, and what to do, on one line, so the CLI can
print them verbatim with exit code 2 and no traceback.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AdapterUnavailable",
    "BackendError",
    "ConfigError",
    "CookbookError",
    "DataError",
    "FeedbackEventNotFound",
    "PortNotConfigured",
    "StageFailed",
    "StorageError",
    "UnknownNameError",
    "closest_name_hint",
]


class CookbookError(Exception):
    """Root of every deliberate cookbook error."""


class ConfigError(CookbookError):
    """A spec, config, option or manifest is invalid."""


class UnknownNameError(ConfigError):
    """A name looked up in a registry (recipe, stage, manifest, adapter, renderer) is unknown."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known_list = sorted(known)
        self.kind = kind
        self.name = name
        self.known = known_list
        hint = closest_name_hint(name, known_list)
        listing = ", ".join(known_list) if known_list else "none registered"
        super().__init__(f"unknown {kind} {name!r}{hint}; known: {listing}")


class DataError(ConfigError):
    """A data row or data file is malformed."""


class PortNotConfigured(CookbookError):
    """A port was used that the active manifest does not configure."""

    def __init__(self, port: str) -> None:
        self.port = port
        super().__init__(
            f"port {port!r} is not configured by the active manifest: "
            f"add a {port!r} entry to the manifest or pass --port {port}=ADAPTER"
        )


class AdapterUnavailable(CookbookError):
    """An adapter's optional dependencies are missing."""

    def __init__(self, adapter: str, missing: str, extra: str) -> None:
        self.adapter = adapter
        self.missing = missing
        self.extra = extra
        super().__init__(
            f"adapter {adapter!r} needs {missing}: pip install 'cookbook-adapters[{extra}]'"
        )


class BackendError(CookbookError):
    """A training or sampling backend failed; `request_id` is kept when the service gave one."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        self.request_id = request_id
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(message + suffix)


class StorageError(CookbookError):
    """A blob, dataset or hub operation failed."""


class FeedbackEventNotFound(StorageError):
    """A feedback signal names an inference event the feedback store does not hold."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(
            f"no inference event {event_id!r} in the feedback store; "
            "send feedback for an id a completion response returned"
        )


class StageFailed(CookbookError):
    """A pipeline stage raised; the original error is the `__cause__`."""

    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        self.error = error
        detail = str(error) or type(error).__name__
        super().__init__(f"stage {stage!r} failed: {detail}")


def closest_name_hint(name: str, known: Iterable[str]) -> str:
    """Return ` (did you mean 'x'?)` for the closest known name, or an empty string."""
    import difflib  # only error paths pay for it

    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
