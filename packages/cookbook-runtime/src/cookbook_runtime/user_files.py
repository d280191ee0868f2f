"""The one loader for files a user hands the cookbook, with one error path.

Config files, specs, manifests and everything in a run directory go through here,
so each way a file can be unusable (missing, a directory, unreadable, too large,
binary, UTF-16, not UTF-8, not valid JSON/TOML, a torn or corrupt JSONL line) ends
in the same one-line `UnreadableFile` naming the file, what is wrong and what to
do, never a traceback. A UTF-8 byte-order mark and CRLF line ends are accepted.
Parse errors give a line and column, never a quote of the input, so a secret in
the file cannot reach the terminal.
"""

from __future__ import annotations

import errno
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError

__all__ = [
    "MAX_TEXT_BYTES",
    "UnreadableFile",
    "iter_jsonl",
    "load_json",
    "load_toml",
    "parse_json",
    "read_text",
]

MAX_TEXT_BYTES = 16 << 20
"""Largest config, spec or manifest file read (16 MiB); anything bigger is not one."""

_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


class UnreadableFile(ConfigError):
    """A user file is missing, unreadable or malformed; the message names it and the fix."""

    def __init__(self, what: str, path: Path | str, problem: str, hint: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        suffix = f"; {hint}" if hint else ""
        super().__init__(f"{what} {self.path!r} {problem}{suffix}")


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied): fix its permissions"
    if exc.errno == errno.ENOTDIR:
        return "is below something that is not a directory"
    if exc.errno == errno.EISDIR:
        return "is a directory, not a file"
    reason = exc.strerror or type(exc).__name__
    return f"cannot be read ({reason})"


def read_bytes(path: Path, what: str, *, hint: str = "", limit: int | None = MAX_TEXT_BYTES) -> bytes:
    """The bytes of `path`, or an `UnreadableFile` saying why not."""
    path = Path(path)
    try:
        if path.is_dir():
            raise UnreadableFile(what, path, "is a directory, not a file", hint)
        with path.open("rb") as f:
            data = f.read() if limit is None else f.read(limit + 1)
    except FileNotFoundError:
        raise UnreadableFile(what, path, "does not exist", hint) from None
    except OSError as exc:
        raise UnreadableFile(what, path, _os_problem(exc), hint) from None
    if limit is not None and len(data) > limit:
        raise UnreadableFile(what, path, f"is larger than {limit >> 20} MiB; that is not a {what}", hint)
    return data


def decode_text(data: bytes, what: str, path: Path | str, *, hint: str = "") -> str:
    """UTF-8 text (a leading BOM dropped); UTF-16/32 and binary data are refused by name."""
    if data.startswith(_UTF16_32_BOMS):
        raise UnreadableFile(what, path, "is UTF-16/UTF-32 encoded; save it as UTF-8", hint)
    if b"\x00" in data:
        raise UnreadableFile(what, path, "holds binary data (NUL bytes), not UTF-8 text", hint)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            what, path, f"is not UTF-8 text (undecodable byte at offset {exc.start}); save it as UTF-8", hint
        ) from None


def read_text(path: Path, what: str, *, hint: str = "", limit: int | None = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of `path`, or an `UnreadableFile` naming the file and the problem."""
    return decode_text(read_bytes(path, what, hint=hint, limit=limit), what, path, hint=hint)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]}... is out of range")
    return value


def parse_json(text: str, what: str, path: Path | str, *, hint: str = "") -> Any:
    """Strict JSON: no NaN/Infinity, no out-of-range floats; errors give line and column only."""
    try:
        return json.loads(text, parse_constant=_no_constants, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(
            what, path, f"is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})", hint
        ) from None
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UnreadableFile(what, path, f"is not valid JSON ({reason})", hint) from None


def load_json(path: Path, what: str, *, hint: str = "", limit: int | None = MAX_TEXT_BYTES) -> Any:
    """The JSON value in `path` (see `parse_json`)."""
    return parse_json(read_text(path, what, hint=hint, limit=limit), what, path, hint=hint)


def load_toml(path: Path, what: str, *, hint: str = "") -> dict[str, Any]:
    """The TOML table in `path`; errors give the line and column, never the text."""
    import tomllib

    text = read_text(path, what, hint=hint)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UnreadableFile(what, path, f"is not valid TOML ({exc})", hint) from None
    for value in _walk(data):
        if isinstance(value, float) and not math.isfinite(value):
            raise UnreadableFile(what, path, "holds inf or nan, which no setting accepts", hint)
    return data


def _walk(value: Any) -> Iterator[Any]:
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def iter_jsonl(path: Path, what: str, *, hint: str = "") -> Iterator[dict[str, Any]]:
    """Objects of a JSONL file the cookbook wrote; a missing file has none.

    A torn last line (a write cut short by a crash: no newline at its end) is
    skipped; any other line that is not a JSON object raises `UnreadableFile` with
    its line number, since the file was damaged or edited by hand.
    """
    path = Path(path)
    if not path.exists():
        return
    data = read_bytes(path, what, hint=hint, limit=None)
    text = decode_text(data, what, path, hint=hint)
    lines = text.split("\n")
    torn = len(lines) - 1 if not text.endswith("\n") else -1
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)  # metrics may hold NaN (a step with no loss tokens)
        except ValueError:
            if number - 1 == torn:
                return
            raise UnreadableFile(what, path, f"line {number} is not valid JSON", hint) from None
        if not isinstance(obj, dict):
            raise UnreadableFile(what, path, f"line {number} is a JSON {type(obj).__name__}, not an object", hint)
        yield obj
