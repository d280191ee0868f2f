"""Benchmark tasks: prompts with reference answers, read from JSONL.

One line per item: a `prompt` string or a `messages` list (a chat ending in a user
turn, or in the reference assistant reply), the reference as `answer` (a string or
number) or `answers` (a list), an optional `id`, and an optional `grader` naming
how that item is scored (`exact`, `numeric`, `boxed`; the task's default otherwise).

Tasks are found by name under the entry-point group `cookbook.eval_tasks` (name ->
path of a JSONL file, so packages can ship offline tasks), or given as a path to a
`.jsonl` file. Lines are checked as they are read: a malformed one is a `DataError`
naming the file, the line and what to fix.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import DataError, UnknownNameError
from cookbook_runtime.train.eval._graders import get_grader

__all__ = [
    "TASK_ENTRY_POINT_GROUP",
    "BenchmarkItem",
    "BenchmarkTask",
    "load_task",
    "read_task_file",
    "task_from_rows",
    "task_names",
]

logger = logging.getLogger(__name__)

TASK_ENTRY_POINT_GROUP = "cookbook.eval_tasks"


@dataclass(frozen=True)
class BenchmarkItem:
    """One prompt (a chat ending in a user turn), its accepted answers and its grader's name."""

    id: str
    messages: list[dict[str, Any]]
    answers: list[str]
    grader: str

    @property
    def prompt(self) -> str:
        """The last user turn's text (what a results table shows)."""
        return _text(self.messages[-1].get("content", ""))


@dataclass(frozen=True)
class BenchmarkTask:
    """A named list of items."""

    name: str
    items: list[BenchmarkItem]
    source: str = field(default="")

    def limited(self, limit: int | None) -> BenchmarkTask:
        """The first `limit` items (all when None)."""
        if limit is None:
            return self
        return BenchmarkTask(self.name, self.items[:limit], self.source)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def _answers(row: Mapping[str, Any]) -> list[str] | None:
    if "answers" in row:
        value = row["answers"]
        if isinstance(value, list) and value and all(isinstance(a, str | int | float) for a in value):
            return [str(a) for a in value]
        return None
    if "answer" in row and isinstance(row["answer"], str | int | float) and not isinstance(row["answer"], bool):
        return [str(row["answer"])]
    return None


def _item(row: Any, index: int, where: str, default_grader: str) -> BenchmarkItem:
    if not isinstance(row, Mapping):
        raise DataError(f"{where}: item {index} is a {type(row).__name__}, not a JSON object")
    answers = _answers(row)
    messages: list[dict[str, Any]] | None = None
    if isinstance(row.get("prompt"), str):
        messages = [{"role": "user", "content": row["prompt"]}]
    elif isinstance(row.get("messages"), list) and all(isinstance(m, Mapping) for m in row["messages"]):
        chat = [dict(m) for m in row["messages"]]
        if chat and chat[-1].get("role") == "assistant" and answers is None and len(chat) > 1:
            answers = [_text(chat[-1].get("content"))]
            chat = chat[:-1]
        if chat and chat[-1].get("role") == "user":
            messages = chat
    if messages is None:
        raise DataError(
            f"{where}: item {index} needs a 'prompt' string or a 'messages' chat ending in a user turn "
            f"(or in the reference reply); fields: {sorted(map(str, row))}"
        )
    if answers is None:
        raise DataError(f"{where}: item {index} needs 'answer' (a string or number) or 'answers' (a non-empty list)")
    grader = row.get("grader", default_grader)
    if not isinstance(grader, str):
        raise DataError(f"{where}: item {index} has a non-string 'grader'")
    get_grader(grader)
    item_id = row.get("id", index)
    return BenchmarkItem(str(item_id), messages, answers, grader)


def task_from_rows(
    name: str, rows: Sequence[Any], *, grader: str = "exact", source: str = "", limit: int | None = None
) -> BenchmarkTask:
    """A task from already-parsed rows (the same fields as a task file's lines)."""
    get_grader(grader)
    where = source or f"task {name!r}"
    items: list[BenchmarkItem] = []
    for index, row in enumerate(rows):
        if limit is not None and len(items) >= limit:
            break
        items.append(_item(row, index, where, grader))
    if not items:
        raise DataError(f"{where} has no items; give it at least one line")
    return BenchmarkTask(name, items, source)


def read_task_file(path: Path, *, name: str | None = None, grader: str = "exact", limit: int | None = None) -> BenchmarkTask:
    """Parse a JSONL task file (blank lines skipped); `name` defaults to the file's stem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read task file {str(path)!r} ({exc.strerror or exc})") from None
    rows: list[Any] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if limit is not None and len(rows) >= limit:
            break
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(f"task file {str(path)!r} line {lineno} is not JSON ({exc.msg})") from None
    return task_from_rows(name or path.stem, rows, grader=grader, source=str(path))


@cache
def _registered() -> dict[str, Any]:
    from importlib.metadata import entry_points  # deferred: costs ~15 ms at import

    return {ep.name: ep for ep in entry_points(group=TASK_ENTRY_POINT_GROUP)}


def task_names() -> list[str]:
    """Names of the installed tasks (entry points `cookbook.eval_tasks`)."""
    return sorted(_registered())


def _registered_path(name: str) -> Path:
    loaded = _registered()[name].load()
    path = Path(loaded() if callable(loaded) else loaded)
    return path


def load_task(name_or_path: str, *, limit: int | None = None) -> BenchmarkTask:
    """A registered task by name, or a `.jsonl` file by path; `UnknownNameError` otherwise."""
    if name_or_path in _registered():
        return read_task_file(_registered_path(name_or_path), name=name_or_path, limit=limit)
    path = Path(name_or_path)
    if path.suffix == ".jsonl" or path.is_file():
        if not path.is_file():
            raise DataError(f"task file {name_or_path!r} does not exist; give a registered task name or a .jsonl path")
        return read_task_file(path, limit=limit)
    raise UnknownNameError("eval task", name_or_path, task_names())
