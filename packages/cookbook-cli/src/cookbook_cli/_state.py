"""Process-wide CLI state set by the top-level options (`-v`, `-q`)."""

from __future__ import annotations

import logging
import sys

__all__ = ["configure_logging", "verbosity"]

_verbosity = 0


def verbosity() -> int:
    """Net verbosity: each `-v` adds one, each `-q` takes one away."""
    return _verbosity


class _StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is now, so log lines go above a live progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure_logging(verbose: int, quiet: int) -> None:
    """Install the one logging handler (only the CLI configures handlers).

    Default shows warnings; `-v` info (and tracebacks of errors), `-vv` debug,
    `-q` errors only.
    """
    global _verbosity
    _verbosity = verbose - quiet
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(_verbosity, 2)), logging.DEBUG
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cookbook_cli", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._cookbook_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
