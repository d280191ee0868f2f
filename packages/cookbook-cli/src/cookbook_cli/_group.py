"""The click group behind `cookbook`: turns expected errors into one line and exit 2.

Users see `cookbook: error: <what was wrong and what to do>` for bad input (usage
errors, `CookbookError`s, pydantic validation errors), never a traceback, unless
they asked for one with `-v`. Doing this in the group (not in `main`) means the
typer test runner sees the same exit codes and messages as a shell does.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x vendors click; older releases use click itself
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - depends on the installed typer
    from click.exceptions import ClickException, UsageError  # type: ignore[assignment]

from cookbook_cli import _state

__all__ = ["INTERRUPTED_EXIT", "USAGE_EXIT", "CookbookGroup", "fail"]

USAGE_EXIT = 2
INTERRUPTED_EXIT = 130
"""128 + SIGINT, what shells report for a command stopped by Ctrl-C."""
MAX_MESSAGE = 600
"""Longest error line printed; the rest of a longer one is cut (it may quote a huge input)."""


def fail(message: str) -> None:
    """Print one error line on stderr: redacted, on one line, and at most `MAX_MESSAGE` characters."""
    from cookbook_runtime.redaction import redact_text

    first = " ".join(redact_text(str(message)[: MAX_MESSAGE * 4]).split())  # one line, whatever the source
    if len(first) > MAX_MESSAGE:
        first = first[: MAX_MESSAGE - 3] + "..."
    typer.echo(f"cookbook: error: {first}", err=True)


def _is_expected(exc: BaseException) -> bool:
    # Imported lazily: pydantic and the runtime cost startup time that --help must not pay.
    from cookbook_runtime.errors import CookbookError
    from pydantic import ValidationError

    return isinstance(exc, CookbookError | ValidationError)


def _message(exc: BaseException) -> str:
    from cookbook_runtime.runtime import format_validation_error
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return format_validation_error(exc, prefix=f"{exc.title}: ")
    return str(exc) or type(exc).__name__


class CookbookGroup(TyperGroup):
    """A typer group whose errors are one line on stderr with exit code 2."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `cookbook`: the help is the message
                typer.echo(exc.format_message())
                return self._exit(USAGE_EXIT, standalone_mode)
            hint = ""
            if exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            fail(exc.format_message() + hint)
            return self._exit(USAGE_EXIT, standalone_mode)
        except ClickException as exc:
            fail(exc.format_message())
            return self._exit(exc.exit_code, standalone_mode)
        except (typer.Abort, KeyboardInterrupt) as exc:  # click turns Ctrl-C into Abort
            if isinstance(exc, KeyboardInterrupt) or isinstance(exc.__cause__, KeyboardInterrupt):
                fail("interrupted; the run is saved: run the same command again to resume")
                return self._exit(INTERRUPTED_EXIT, standalone_mode)
            fail("aborted")
            return self._exit(1, standalone_mode)
        except Exception as exc:
            if not _is_expected(exc):
                raise
            if _state.verbosity() > 0:
                traceback.print_exception(exc, file=sys.stderr)
            fail(_message(exc))
            return self._exit(USAGE_EXIT, standalone_mode)
        if rv == INTERRUPTED_EXIT:  # typer turns Ctrl-C into exit code 130, silently
            fail("interrupted; the run is saved: run the same command again to resume")
        if isinstance(rv, int) and not isinstance(rv, bool):
            return self._exit(rv, standalone_mode)
        return self._exit(0, standalone_mode) if standalone_mode else rv

    @staticmethod
    def _exit(code: int, standalone_mode: bool) -> int:
        if standalone_mode:
            sys.exit(code)
        return code
