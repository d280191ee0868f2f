"""Benchmark tasks read from JSONL files: fields, defaults and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookbook_runtime.errors import DataError, UnknownNameError
from cookbook_runtime.train.eval import load_task, read_task_file


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_prompt_messages_and_answer_forms(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mixed.jsonl",
        [
            {"id": "a", "prompt": "2+2?", "answer": 4, "grader": "numeric"},
            {"prompt": "colour?", "answers": ["red", "blue"]},
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
        ],
    )
    task = read_task_file(path)
    assert task.name == "mixed" and len(task.items) == 3
    first, second, third = task.items
    assert (first.id, first.answers, first.grader, first.prompt) == ("a", ["4"], "numeric", "2+2?")
    assert (second.id, second.answers, second.grader) == ("1", ["red", "blue"], "exact")
    assert third.messages == [{"role": "user", "content": "hi"}] and third.answers == ["hello"]
    assert len(read_task_file(path, limit=2).items) == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"prompt": "x"}, "item 0 needs 'answer'"),
        ({"answer": "x"}, "item 0 needs a 'prompt' string"),
        ({"prompt": "x", "answer": "y", "grader": "fuzzy"}, "unknown grader 'fuzzy'"),
        ([1, 2], "item 0 is a list"),
    ],
)
def test_malformed_items_are_named(tmp_path: Path, row: object, message: str) -> None:
    with pytest.raises(DataError if "grader" not in message else UnknownNameError, match=message):
        read_task_file(_write(tmp_path / "bad.jsonl", [row]))


def test_not_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"prompt": "a", "answer": "b"}\n\n{oops\n')
    with pytest.raises(DataError, match="line 3 is not JSON"):
        read_task_file(path)


def test_unknown_name_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="unknown eval task 'nope'"):
        load_task("nope")
    with pytest.raises(DataError, match="does not exist"):
        load_task(str(tmp_path / "missing.jsonl"))
    with pytest.raises(DataError, match="has no items"):
        load_task(str(_write(tmp_path / "empty.jsonl", [])))
