"""File datasets: formats, splits, lazy JSONL reading and errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookbook_adapters.files import FileDatasetStore
from cookbook_runtime.errors import DataError, StorageError
from cookbook_runtime.ir import DatasetRef


def _jsonl(path: Path, n: int, *, bad_line: int | None = None) -> Path:
    lines = [json.dumps({"id": i}) for i in range(n)]
    if bad_line is not None:
        lines[bad_line - 1] = '{"id": oops'
    path.write_text("\n".join(lines) + "\n")
    return path


def test_single_file_is_the_train_split(tmp_path: Path) -> None:
    ref = DatasetRef(name=str(_jsonl(tmp_path / "rows.jsonl", 3)))
    store = FileDatasetStore()
    assert store.splits(ref) == ["train"]
    assert [r["id"] for r in store.open(ref)] == [0, 1, 2]


def test_relative_names_resolve_against_root(tmp_path: Path) -> None:
    _jsonl(tmp_path / "rows.jsonl", 2)
    rows = FileDatasetStore(root=tmp_path).open(DatasetRef(name="rows.jsonl"))
    assert len(rows) == 2


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "bad.jsonl", 5, bad_line=4)
    with pytest.raises(DataError, match=r"bad\.jsonl:4: malformed JSON"):
        list(FileDatasetStore().open(DatasetRef(name=str(path))))


def test_malformed_line_is_reported_when_reached_by_position(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "bad.jsonl", 5, bad_line=4)
    rows = FileDatasetStore().open(DatasetRef(name=str(path)))
    with pytest.raises(DataError, match=r"bad\.jsonl:4:"):
        list(rows.select([3]))


def test_rows_before_a_bad_line_stream_without_reading_it(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "bad.jsonl", 100, bad_line=100)
    rows = FileDatasetStore().open(DatasetRef(name=str(path)))
    assert [r["id"] for r in rows.take(3)] == [0, 1, 2]
    assert [r["id"] for r in rows.skip(10).take(2)] == [10, 11]


def test_skip_malformed_drops_bad_rows(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "bad.jsonl", 5, bad_line=2)
    rows = FileDatasetStore().open(DatasetRef(name=str(path), skip_malformed=True))
    assert [r["id"] for r in rows] == [0, 2, 3, 4]
    assert len(rows) == 4
    assert [r["id"] for r in rows.select([1, 0])] == [2, 0]


def test_non_object_row_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "list.jsonl"
    path.write_text('{"id": 0}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"list\.jsonl:2: .*not an object"):
        list(FileDatasetStore().open(DatasetRef(name=str(path))))


def test_blank_lines_are_ignored_and_line_numbers_stay_true(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_text('{"id": 0}\n\n{"id": 1}\n\n{"id": oops\n')
    rows = FileDatasetStore().open(DatasetRef(name=str(path)))
    assert len(rows) == 3
    assert [r["id"] for r in rows.take(2)] == [0, 1]
    with pytest.raises(DataError, match=r"gaps\.jsonl:5:"):
        list(rows.skip(1))


def test_take_past_the_end(tmp_path: Path) -> None:
    rows = FileDatasetStore().open(DatasetRef(name=str(_jsonl(tmp_path / "r.jsonl", 3))))
    assert len(rows.take(10)) == 3
    assert [r["id"] for r in rows.take(10)] == [0, 1, 2]


def test_csv_rows(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("question,answer\n1+1,2\n2+2,4\n")
    rows = FileDatasetStore().open(DatasetRef(name=str(tmp_path)))
    assert list(rows) == [{"question": "1+1", "answer": "2"}, {"question": "2+2", "answer": "4"}]


def test_format_override_reads_unknown_suffix(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "rows.txt", 2)
    rows = FileDatasetStore().open(DatasetRef(name=str(path), format="jsonl"))
    assert [r["id"] for r in rows] == [0, 1]


def test_missing_path_raises_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        FileDatasetStore().open(DatasetRef(name=str(tmp_path / "nope.jsonl")))


def test_shuffle_of_a_view_permutes_that_view(tmp_path: Path) -> None:
    rows = FileDatasetStore().open(DatasetRef(name=str(_jsonl(tmp_path / "r.jsonl", 20))))
    ids = [r["id"] for r in rows.skip(10).shuffle(3)]
    assert sorted(ids) == list(range(10, 20))


def test_packaged_names_resolve_where_the_package_lives_now(tmp_path: Path) -> None:
    from cookbook_runtime.ports import register_packaged_dataset

    (tmp_path / "v1").mkdir()
    _jsonl(tmp_path / "v1" / "train.jsonl", 2)
    register_packaged_dataset("moving_data", tmp_path / "v1")
    ref = DatasetRef(name="cookbook:moving_data")
    assert len(FileDatasetStore().open(ref)) == 2
    (tmp_path / "v1").rename(tmp_path / "v2")  # the venv moved: the same spec still opens it
    register_packaged_dataset("moving_data", tmp_path / "v2")
    assert len(FileDatasetStore(root=tmp_path / "elsewhere").open(ref)) == 2


def test_an_unknown_packaged_name_lists_the_known_ones() -> None:
    from cookbook_runtime.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="packaged dataset 'cookbook:nope'"):
        FileDatasetStore().open(DatasetRef(name="cookbook:nope"))


def test_an_epochs_selection_costs_8_bytes_a_row_not_a_python_int_list(tmp_path: Path) -> None:
    import random
    import tracemalloc
    from array import array

    n = 200_000
    path = tmp_path / "many.jsonl"
    path.write_text("".join(f'{{"id": {i}}}\n' for i in range(n)))
    rows = FileDatasetStore().open(DatasetRef(name=str(path)))
    assert len(rows) == n  # builds the line index before measuring
    order = array("q", range(n))
    random.Random(0).shuffle(order)
    tracemalloc.start()
    selected = rows.select(order)
    reshuffled = rows.shuffle(1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * 8 * n * 1.2, f"selection and shuffle of {n} rows peaked at {peak / 2**20:.1f} MB"
    assert [r["id"] for r in selected.take(3)] == list(order[:3])
    assert sorted(r["id"] for r in reshuffled.take(1000)) != list(range(1000))
