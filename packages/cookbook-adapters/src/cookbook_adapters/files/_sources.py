"""Row sources: one data file read by position, streamed where the format allows.

JSONL is never loaded whole: a first pass records each row's byte offset and line
number (8 + 8 bytes a row), after which any row is one seek and one parse away.
JSON, CSV and Parquet rows are read on first use (JSON and CSV cannot be seeked
into by row; Parquet streams by record batch when read in order).
"""

from __future__ import annotations

import csv
import json
import logging
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from cookbook_runtime.errors import DataError, StorageError

__all__ = ["FORMATS", "JsonlSource", "Source", "TableSource", "open_source"]

logger = logging.getLogger(__name__)

FORMATS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}
"""File suffix to format name."""


class Source(Protocol):
    """Rows of one file, addressable by position."""

    def __len__(self) -> int: ...

    def iter_range(self, start: int, stop: int) -> Iterator[dict[str, Any]]:
        """Rows `start..stop-1` in order."""
        ...

    def iter_indices(self, indices: Iterable[int]) -> Iterator[dict[str, Any]]:
        """The rows at `indices`, in that order."""
        ...


def _row(value: Any, path: Path, line: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(
            f"{path}:{line}: row is a JSON {type(value).__name__}, not an object; each row must be {{...}}"
        )
    return value


class JsonlSource:
    """A JSON Lines file, indexed by line offsets on first positional access."""

    def __init__(self, path: Path, *, skip_malformed: bool = False) -> None:
        self.path = path
        self.skip_malformed = skip_malformed
        self._offsets: array[int] | None = None
        self._lines: array[int] | None = None

    def _parse(self, raw: bytes, line: int) -> dict[str, Any] | None:
        try:
            return _row(json.loads(raw), self.path, line)
        except (json.JSONDecodeError, UnicodeDecodeError, DataError) as exc:
            if self.skip_malformed:
                return None
            if isinstance(exc, DataError):
                raise
            reason = getattr(exc, "msg", str(exc))
            raise DataError(
                f"{self.path}:{line}: malformed JSON ({reason}); fix or remove that line"
            ) from None

    def _index(self) -> tuple[array[int], array[int]]:
        if self._offsets is None or self._lines is None:
            offsets, lines = array("q"), array("q")
            skipped = 0
            with self.path.open("rb") as f:
                pos = 0
                for number, raw in enumerate(f, start=1):
                    if raw.strip() and (
                        not self.skip_malformed or self._parse(raw, number) is not None
                    ):
                        offsets.append(pos)
                        lines.append(number)
                    elif raw.strip():
                        skipped += 1
                    pos += len(raw)
            if skipped:
                logger.warning("skipped %d malformed rows in %s", skipped, self.path)
            self._offsets, self._lines = offsets, lines
        return self._offsets, self._lines

    def __len__(self) -> int:
        return len(self._index()[0])

    def iter_range(self, start: int, stop: int) -> Iterator[dict[str, Any]]:
        if start == 0 and self._offsets is None:
            yield from self._stream(stop)
            return
        offsets, lines = self._index()
        stop = min(stop, len(offsets))
        if start >= stop:
            return
        with self.path.open("rb") as f:
            f.seek(offsets[start])
            i = start
            for number_offset, raw in enumerate(f):
                if i >= stop:
                    return
                if not raw.strip():
                    continue
                row = self._parse(raw, lines[start] + number_offset)
                if row is not None:
                    yield row
                    i += 1

    def _stream(self, stop: int) -> Iterator[dict[str, Any]]:
        """Rows from the top without building the index (the common, sequential case)."""
        count = 0
        with self.path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                if count >= stop:
                    return
                if not raw.strip():
                    continue
                row = self._parse(raw, number)
                if row is not None:
                    count += 1
                    yield row

    def iter_indices(self, indices: Iterable[int]) -> Iterator[dict[str, Any]]:
        offsets, lines = self._index()
        with self.path.open("rb") as f:
            for i in indices:
                f.seek(offsets[i])
                row = self._parse(f.readline(), lines[i])
                if row is not None:
                    yield row


class TableSource:
    """A JSON, CSV or Parquet file, read into memory on first positional access."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self._rows: list[dict[str, Any]] | None = None

    def _load(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = list(self._read())
        return self._rows

    def _read(self) -> Iterator[dict[str, Any]]:
        if self.fmt == "json":
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise DataError(f"{self.path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
            if isinstance(data, dict) and isinstance(data.get("data"), list):
                data = data["data"]
            if not isinstance(data, list):
                raise DataError(
                    f"{self.path}: a .json dataset must be a list of objects (or {{'data': [...]}})"
                )
            for i, value in enumerate(data):
                yield _row(value, self.path, i + 1)
        elif self.fmt == "csv":
            with self.path.open(newline="", encoding="utf-8") as f:
                yield from csv.DictReader(f)
        else:
            yield from self._parquet_batches()

    def _parquet_batches(self) -> Iterator[dict[str, Any]]:
        try:
            import pyarrow.parquet as pq
        except ModuleNotFoundError:
            raise StorageError(
                f"reading {self.path} needs pyarrow: pip install 'cookbook-adapters[files]'"
            ) from None
        for batch in pq.ParquetFile(self.path).iter_batches():
            yield from batch.to_pylist()

    def __len__(self) -> int:
        if self._rows is None and self.fmt == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(self.path).metadata.num_rows)
        return len(self._load())

    def iter_range(self, start: int, stop: int) -> Iterator[dict[str, Any]]:
        if self._rows is None and self.fmt == "parquet" and start == 0:
            for i, row in enumerate(self._parquet_batches()):
                if i >= stop:
                    return
                yield row
            return
        yield from self._load()[start:stop]

    def iter_indices(self, indices: Iterable[int]) -> Iterator[dict[str, Any]]:
        rows = self._load()
        for i in indices:
            yield rows[i]


def open_source(path: Path, fmt: str | None = None, *, skip_malformed: bool = False) -> Source:
    """The source for `path`, its format from `fmt` or the file suffix."""
    found = fmt or FORMATS.get(path.suffix.lower())
    if found is None:
        raise StorageError(
            f"{path}: unknown data format; use one of {sorted(set(FORMATS))} or set DatasetRef.format"
        )
    if found == "jsonl":
        return JsonlSource(path, skip_malformed=skip_malformed)
    if found not in ("json", "csv", "parquet"):
        raise StorageError(
            f"{path}: format {found!r} is not supported; use jsonl, json, csv or parquet"
        )
    return TableSource(path, found)
