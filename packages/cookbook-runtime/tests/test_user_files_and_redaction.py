"""The one user-file loader, number checks and free-text redaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.numbers import check_numbers
from cookbook_runtime.redaction import redact_text, short_repr
from cookbook_runtime.user_files import UnreadableFile, iter_jsonl, load_json, load_toml


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\xff\xfe{\x00}\x00", "UTF-16"),
        (b"{\x00}", "binary"),
        (b'{"a": "\xe9"}', "not UTF-8"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": 1e999}', "out of range"),
        (b'{"api_key": "sk-x",\n "b": }', r"line 2 column"),
    ],
)
def test_bad_json_files_are_one_line_naming_the_file(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=match) as info:
        load_json(path, "config file")
    assert str(path) in str(info.value) and "sk-x" not in str(info.value)


def test_a_bom_is_accepted_and_a_directory_or_missing_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert load_json(tmp_path / "c.json", "config file") == {"a": 1}
    with pytest.raises(UnreadableFile, match="is a directory"):
        load_json(tmp_path, "config file")
    with pytest.raises(UnreadableFile, match="does not exist"):
        load_toml(tmp_path / "nope.toml", "manifest file")


def test_jsonl_skips_only_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"a": 1}\r\n{"a": 2}\n{"a": ')
    assert [r["a"] for r in iter_jsonl(path, "run file")] == [1, 2]
    path.write_text('{"a": 1}\n{"a": \n{"a": 3}\n')
    with pytest.raises(UnreadableFile, match="line 2 is not valid JSON"):
        list(iter_jsonl(path, "run file"))


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 10**30, -(10**19)])
def test_check_numbers_names_the_field(value: object) -> None:
    with pytest.raises(ConfigError, match=r"training\.lr"):
        check_numbers({"training": {"lr": value}, "ok": 1.5})


def test_redact_text_hides_assigned_secrets_but_not_prose() -> None:
    text = 'api_key = "abc" token=xyz "password": "p w" api_key: Input should be a valid string max_tokens=5'
    assert redact_text(text) == (
        'api_key = *** token=*** "password": *** api_key: Input should be a valid string max_tokens=5'
    )
    assert redact_text("key sk-" + "A" * 24 + " end") == "key *** end"
    assert len(short_repr("x" * 10_000)) <= 80
